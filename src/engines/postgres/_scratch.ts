/**
 * PostgreSQL's scratch things: the load database of `restore --create`
 * (`bm_load_<hosttag>_<pid>_<startSec>_<rand>`) and the database of a restore test
 * (`bm_verify_…`), named by `src/core/scratch_names.ts`. A killed run leaves them on the server,
 * holding a partial load; a later run finds and drops them. A database someone is connected to is
 * in use whatever its name says, and `DROP DATABASE` (never `FORCE`) refuses it anyway. Names of
 * older versions (`backup_manager_load_…`, `backup_manager_scratch_…`) carry no owner: stale when
 * nobody is connected.
 */
import type { ScratchLeftover } from "../engine.ts";
import { DatabaseError, messageOf } from "../../core/errors.ts";
import {
  localDatabaseLiveness,
  parseScratchDatabaseName,
  scratchStaleness,
} from "../../core/scratch_names.ts";
import { type ConnectionConfig, withDatabase } from "./_connection.ts";
import { dropSubscriptions, quoteIdentifier, withMaintenance } from "./_databases.ts";

const LEGACY = /^backup_manager_(load|scratch)_[0-9a-f]{12,16}$/;

/** Scratch databases on the server of `config`, with their sizes and whether they are stale. */
export async function findPostgresScratch(
  config: ConnectionConfig,
  now: Date,
): Promise<ScratchLeftover[]> {
  const liveness = localDatabaseLiveness(now);
  return await withMaintenance(config, async ({ sql }) => {
    const rows = await sql<{ name: string; size: string; sessions: number }[]>`
      SELECT d.datname AS name, pg_database_size(d.oid)::text AS size,
             (SELECT count(*)::int FROM pg_stat_activity a WHERE a.datname = d.datname) AS sessions
      FROM pg_database d
      WHERE d.datname LIKE 'bm\\_%' OR d.datname LIKE 'backup\\_manager\\_%'
      ORDER BY d.datname`;
    const found: ScratchLeftover[] = [];
    for (const row of rows) {
      const parsed = parseScratchDatabaseName(row.name);
      if (!parsed && !LEGACY.test(row.name)) continue;
      const stale = row.sessions > 0
        ? undefined
        : parsed
        ? scratchStaleness(parsed.owner, liveness)
        : "nobody is connected to it";
      found.push({
        name: row.name,
        kind: parsed?.kind ?? "legacy",
        size: Number(row.size),
        ...(stale === undefined ? {} : { stale }),
      });
    }
    return found;
  });
}

/** Drops a stale scratch database; one that someone connected to meanwhile is refused. */
export async function removePostgresScratch(
  config: ConnectionConfig,
  leftover: ScratchLeftover,
): Promise<void> {
  if (!parseScratchDatabaseName(leftover.name) && !LEGACY.test(leftover.name)) {
    throw new DatabaseError(`Cannot drop "${leftover.name}": it is not a scratch database`);
  }
  // A load database that holds a subscription cannot be dropped before it (see dropDatabase):
  // drop those of one nobody is connected to (one in use is refused below, untouched).
  const unused = await withMaintenance(config, async ({ sql }) => {
    const [row] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ${leftover.name}`;
    return row.n === 0;
  });
  if (unused) await dropSubscriptions(withDatabase(config, leftover.name)).catch(() => {});
  await withMaintenance(config, async ({ sql }) => {
    try {
      await sql.unsafe(`DROP DATABASE IF EXISTS ${quoteIdentifier(leftover.name)}`);
    } catch (error) {
      const inUse = (error as { code?: string }).code === "55006";
      throw new DatabaseError(
        `Cannot drop database "${leftover.name}": ${
          inUse && !/subscription/.test(messageOf(error))
            ? "someone is connected to it (it is in use)"
            : messageOf(error)
        }`,
        { cause: error },
      );
    }
  });
}
