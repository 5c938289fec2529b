import type { Config } from "../config/schema.ts";
import { parseDuration } from "../config/duration.ts";
import type { HealthReason } from "../core/health.ts";
import { sqlitePath } from "../engines/sqlite/sqlite_engine.ts";
import { replicationLagMs, replicationLagReason } from "../pitr/replication_lag.ts";
import { summarizeGenerations } from "../pitr/sqlite_pitr_summary.ts";
import type { CommandDeps } from "./deps.ts";
import { pitrLocation } from "./pitr_store.ts";
import type { Storage } from "../storage/storage.ts";
import { listBaseBackups } from "../pitr/pg_base_backup.ts";
import { archivedNames, listArchive } from "../pitr/pg_wal_archive.ts";
import {
  chainGaps,
  parseWalFileName,
  segmentNumber,
  segmentsByNumber,
} from "../pitr/pg_wal_names.ts";
import {
  type ArchiveFigures,
  archiveLine,
  archiveReasons,
  type ArchiverState,
} from "../pitr/pg_archive_health.ts";
import { openConnection, parseLocation } from "../engines/postgres/postgres_engine.ts";

/** Replication figures in `status` (JSON `replication`). */
export interface ReplicationFigures {
  generations: number;
  /** The newest generation's span. */
  from: string;
  newestShipped: string;
  lagSeconds: number;
}

/**
 * `status`'s view of `replicate` for a SQLite database: nothing when nothing was ever replicated;
 * otherwise the figures, a text line, and a warning past `pitr.maxLag`.
 */
export async function replicationStatus(
  config: Config,
  database: string,
  deps: CommandDeps,
): Promise<{ figures: ReplicationFigures; line: string; reason?: HealthReason } | undefined> {
  const generations = await summarizeGenerations(pitrLocation(config, deps).store);
  const newest = generations[generations.length - 1];
  if (!newest) return undefined;
  const wal = await Deno.stat(`${sqlitePath(database)}-wal`).then((s) => s.mtime, () => null);
  const lagMs = replicationLagMs(
    { newestShippedMs: Date.parse(newest.to), walModifiedMs: wal?.getTime() },
    deps.clock.now().getTime(),
  );
  const figures = {
    generations: generations.length,
    from: newest.from,
    newestShipped: newest.to,
    lagSeconds: Math.round(lagMs / 1000),
  };
  return {
    figures,
    line: `${generations.length} generation${generations.length === 1 ? "" : "s"}, newest ` +
      `from ${newest.from}, newest commit shipped ${newest.to}, lag ${figures.lagSeconds} s`,
    reason: replicationLagReason(lagMs, parseDuration(config.pitr.maxLag)!),
  };
}

/**
 * `status`'s view of a PostgreSQL WAL archive (`wal-push`, `create --type base`): nothing when
 * the store holds neither; otherwise the figures, a text line and the `wal-archive` reasons,
 * with the server's `pg_stat_archiver` when the server answers (a status never fails for it).
 */
export async function walArchiveStatus(
  config: Config,
  database: string,
  deps: CommandDeps,
  options: { askServer?: boolean } = {},
): Promise<{ figures: ArchiveFigures; line: string; reasons: HealthReason[] } | undefined> {
  const { store } = pitrLocation(config, deps);
  const bases = await listBaseBackups(store);
  const names = await archivedNames(store);
  const segments = names.filter((name) => /^[0-9A-F]{24}(\.partial)?$/.test(name));
  const archiver = options.askServer === false ? {} : await archiverState(database, deps);
  // nothing archived: worth a line only when the server tries and fails
  const failing = archiver.archiver?.lastFailedAt && !archiver.archiver.lastArchivedAt;
  if (bases.length === 0 && segments.length === 0 && !failing) return undefined;
  const newest = segments.at(-1);
  const pushed = newest ? (await listArchive(store, (n) => n === newest))[0]?.pushedAt : undefined;
  const size = bases[0]?.walSegmentSize ?? (newest ? await segmentSizeOf(store, newest) : 0);
  const oldest = bases[0] ?? (segments[0] ? { timeline: 1, startWal: segments[0] } : undefined);
  const start = oldest ? segmentNumber(parseWalFileName(oldest.startWal)!, size) : 0;
  const gaps = size > 0 && oldest
    ? chainGaps(segmentsByNumber(names, oldest.timeline, start, size), start, size)
    : [];
  const figures: ArchiveFigures = {
    baseBackups: bases.length,
    newestBaseBackup: bases.at(-1)?.id ?? null,
    walFiles: segments.length,
    newestWal: newest ?? null,
    newestWalPushedAt: pushed ?? null,
    newestWalAgeSeconds: pushed
      ? Math.round((deps.clock.now().getTime() - Date.parse(pushed)) / 1000)
      : null,
    gaps,
    ...archiver,
  };
  return { figures, line: archiveLine(figures), reasons: archiveReasons(figures) };
}

/** The segment size a WAL file was pushed with (its size: segments are full-sized). */
async function segmentSizeOf(store: Storage, name: string): Promise<number> {
  return (await listArchive(store, (n) => n === name))[0]?.size ?? 0;
}

/** The server's `pg_stat_archiver`, or nothing when it cannot be asked. */
async function archiverState(
  database: string,
  deps: CommandDeps,
): Promise<{ archiver?: ArchiverState }> {
  try {
    const connection = openConnection({
      ...parseLocation(database, deps.io.env),
      connectTimeout: 5,
    });
    try {
      const [row] = await connection.sql.unsafe(
        `SELECT last_archived_wal, last_archived_time, last_failed_wal, last_failed_time,
                failed_count::int AS failed_count FROM pg_stat_archiver`,
      );
      const iso = (value: unknown) => value ? new Date(value as string).toISOString() : null;
      return {
        archiver: {
          lastArchivedWal: row.last_archived_wal ?? null,
          lastArchivedAt: iso(row.last_archived_time),
          lastFailedWal: row.last_failed_wal ?? null,
          lastFailedAt: iso(row.last_failed_time),
          failedCount: row.failed_count,
        },
      };
    } finally {
      await connection.end();
    }
  } catch {
    return {};
  }
}
