import type postgres from "npm:postgres@3.4.9";
import { defaultJobs, type DumpOptions, type DumpSummary, type TableStats } from "../engine.ts";
import type { ChunkBuffer } from "../chunk_buffer.ts";
import { tableFilter } from "../table_filter.ts";
import { UsageError } from "../../core/errors.ts";
import type { SchemaItem, SchemaPlan, TableData } from "./_model.ts";
import { readSchemaPlan } from "./_schema.ts";
import { readMigrationVersion } from "./_schema_info.ts";
import { databaseDirective, readDatabaseProperties } from "./_database_props.ts";
import { type Connection, hostLabel } from "./_connection.ts";
import { COPY_TRAILER, copyHeader, copyTableOut } from "./_copy.ts";
import { CopyOutLanes } from "./_copy_lanes.ts";
import { dumpLargeObjects, largeObjectIds, unlinkLargeObject } from "./_large_objects.ts";
import {
  cleanDirectives,
  type DatabaseLocale,
  renderItem,
  SCRIPT_TRAILER,
  scriptHeader,
} from "./_script.ts";

/** What the dump reads about the database itself. */
interface DatabaseFacts {
  serverVersion: string;
  name: string;
  encoding: string;
  collate: string;
  ctype: string;
  provider: string;
  icuLocale: string | null;
}

/**
 * Writes the database as a plain SQL script that stock `psql` restores: pg_dump's header, the
 * `--clean` directives, pre-data schema, one COPY block per table, post-data schema (so
 * constraints, indexes and triggers come after the rows), then large objects. Everything is
 * read in one `REPEATABLE READ, READ ONLY` transaction: one consistent snapshot while writers
 * continue. With `jobs` > 1, `jobs` further connections share the snapshot (`_copy_lanes.ts`),
 * as `pg_dump -j` does: they run the catalog queries ahead (`_catalog_prefetch.ts`), then copy
 * the tables side by side. The script is the same byte for byte.
 */
export async function dumpPostgres(
  connection: Connection,
  out: ChunkBuffer,
  options: DumpOptions = {},
): Promise<DumpSummary> {
  const jobs = Math.max(1, Math.floor(options.jobs ?? defaultJobs()));
  return await connection.sql.begin("ISOLATION LEVEL REPEATABLE READ READ ONLY", async (tx) => {
    // The lanes connect while the database's facts are read; they help read the catalogs, then
    // copy the tables.
    const lanes = jobs > 1 ? openLanes(tx, connection, jobs) : undefined;
    try {
      return await dumpIn(tx, connection, out, options, lanes);
    } finally {
      await (await lanes?.catch(() => undefined))?.close();
    }
  });
}

async function dumpIn(
  tx: postgres.TransactionSql,
  connection: Connection,
  out: ChunkBuffer,
  options: DumpOptions,
  lanes: Promise<CopyOutLanes> | undefined,
): Promise<DumpSummary> {
  const facts = await readFacts(tx);
  const helpers = await lanes;
  const plan = await readSchemaPlan(tx, {
    tables: options.tables,
    excludeTables: options.excludeTables,
    helpers: helpers?.transactions,
  });
  checkPatterns(plan, options.tables);
  const full = (options.type ?? "full") === "full";
  const withLargeObjects = full && (options.tables ?? []).length === 0;
  const objects = withLargeObjects ? await largeObjectIds(tx) : [];
  const locale: DatabaseLocale = {
    collate: facts.collate,
    ctype: facts.ctype,
    provider: facts.provider,
    icuLocale: facts.icuLocale,
  };
  const directives = databaseDirective(await readDatabaseProperties(tx));
  await out.writeText(scriptHeader({ ...facts, database: facts.name, locale, directives }));
  await out.writeText(cleanDirectives([...objects.map(unlinkLargeObject), ...dropsOf(plan)]));
  for (const item of plan.preData) await out.writeText(renderItem(item));
  const tables = full
    ? await copyTables(tx, connection, plan, out, options, helpers)
    : plan.data.map((t) => ({ name: tableName(t), rows: 0, bytes: 0 }));
  for (const item of plan.postData) await out.writeText(renderItem(item));
  const largeObjects = withLargeObjects ? await dumpLargeObjects(tx, out) : undefined;
  await out.writeText(SCRIPT_TRAILER);
  await out.flush();
  return {
    engineVersion: facts.serverVersion,
    database: { name: facts.name, host: hostLabel(connection.config) },
    tables,
    settings: {
      encoding: facts.encoding,
      lc_collate: facts.collate,
      lc_ctype: facts.ctype,
      ...(largeObjects ? { large_objects: largeObjects.count } : {}),
    },
    migration: await readMigrationVersion(tx),
  };
}

/**
 * Exports the transaction's snapshot (the first statement of the transaction, so the snapshot
 * is the one the whole dump reads) and opens `jobs` lanes on it.
 */
async function openLanes(
  tx: postgres.TransactionSql,
  connection: Connection,
  jobs: number,
): Promise<CopyOutLanes> {
  const [{ id }] = await tx<{ id: string }[]>`SELECT pg_catalog.pg_export_snapshot() AS id`;
  return await CopyOutLanes.open(connection.config, id, jobs);
}

async function readFacts(tx: postgres.TransactionSql): Promise<DatabaseFacts> {
  const [row] = await tx<DatabaseFacts[]>`
    SELECT current_setting('server_version') AS "serverVersion", datname AS name,
           pg_encoding_to_char(encoding) AS encoding, datcollate AS collate, datctype AS ctype,
           datlocprovider::text AS provider, daticulocale AS "icuLocale"
    FROM pg_database WHERE datname = current_database()`;
  return row;
}

/** An include pattern that matches no table is a mistake worth stopping for (exit 2). */
function checkPatterns(plan: SchemaPlan, patterns: string[] = []): void {
  if (patterns.length === 0) return;
  const filter = tableFilter(patterns);
  for (const table of plan.data) filter.includes(table.schema, table.name);
  const unmatched = filter.unmatched();
  if (unmatched.length > 0) {
    throw new UsageError(
      `No table matches --table ${unmatched.join(", ")} (check the name; patterns take * and ?)`,
    );
  }
}

/** The `--clean` statements: every droppable item, last created first. */
function dropsOf(plan: SchemaPlan): string[] {
  return [...plan.preData, ...plan.postData].filter((item) => item.drop !== undefined)
    .map((item) => item.drop!).reverse();
}

async function copyTables(
  tx: postgres.TransactionSql,
  connection: Connection,
  plan: SchemaPlan,
  out: ChunkBuffer,
  options: DumpOptions,
  lanes: CopyOutLanes | undefined,
): Promise<TableStats[]> {
  const owners = ownersOf(plan.preData);
  const stats: TableStats[] = [];
  let totalRows = 0;
  const report = (name: string, rows: number) =>
    options.onProgress?.({
      table: name,
      tableRows: rows,
      totalRows: totalRows + rows,
      bytes: out.total,
    });
  if (lanes !== undefined && lanes.size > 0) lanes.start(plan.data);
  for (const [index, table] of plan.data.entries()) {
    const name = tableName(table);
    const owned = { ...table, owner: owners.get(`${table.schema}.${table.name}`) };
    const copied = lanes !== undefined && lanes.size > 0
      ? await writeFetched(lanes, index, owned, out, (rows) => report(name, rows))
      : await copyTableOut(
        tx,
        owned,
        out,
        () => connection.resumeSockets(),
        (rows) => report(name, rows),
      );
    totalRows += copied.rows;
    stats.push({ name, rows: copied.rows, bytes: copied.bytes });
  }
  return stats;
}

/** Writes table `index` as a COPY block from the spool a lane fills. */
async function writeFetched(
  lanes: CopyOutLanes,
  index: number,
  table: TableData & { owner?: string },
  out: ChunkBuffer,
  onRows: (rows: number) => void,
): Promise<{ rows: number; bytes: number }> {
  const start = out.total;
  const fetch = await lanes.take(index);
  await out.writeText(copyHeader(table));
  let reported = 0;
  for (let block = await fetch.spool.next(); block; block = await fetch.spool.next()) {
    const pending = out.write(block);
    if (pending) await pending;
    if (fetch.rows - reported >= 10_000) onRows(reported = fetch.rows);
  }
  await out.writeText(COPY_TRAILER);
  await lanes.done(index);
  onRows(fetch.rows);
  return { rows: fetch.rows, bytes: out.total - start };
}

function ownersOf(items: SchemaItem[]): Map<string, string> {
  const owners = new Map<string, string>();
  for (const item of items) {
    if (item.kind === "TABLE" && item.owner) owners.set(`${item.schema}.${item.name}`, item.owner);
  }
  return owners;
}

/** The name a table has in sidecars and `describe`: `schema.table`, unquoted. */
export function tableName(table: { schema: string; name: string }): string {
  return `${table.schema}.${table.name}`;
}
