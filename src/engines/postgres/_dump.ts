import type postgres from "postgres";
import type { DumpOptions, DumpSummary, TableStats } from "../engine.ts";
import type { ChunkBuffer } from "../chunk_buffer.ts";
import { tableFilter } from "../table_filter.ts";
import { UsageError } from "../../core/errors.ts";
import type { SchemaItem, SchemaPlan } from "./_model.ts";
import { readSchemaPlan } from "./_schema.ts";
import { readMigrationVersion } from "./_schema_info.ts";
import { type Connection, hostLabel } from "./_connection.ts";
import { copyTableOut } from "./_copy.ts";
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
 * continue.
 */
export async function dumpPostgres(
  connection: Connection,
  out: ChunkBuffer,
  options: DumpOptions = {},
): Promise<DumpSummary> {
  return await connection.sql.begin("ISOLATION LEVEL REPEATABLE READ READ ONLY", async (tx) => {
    const facts = await readFacts(tx);
    const plan = await readSchemaPlan(tx, {
      tables: options.tables,
      excludeTables: options.excludeTables,
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
    await out.writeText(scriptHeader({ ...facts, database: facts.name, locale }));
    await out.writeText(cleanDirectives([...objects.map(unlinkLargeObject), ...dropsOf(plan)]));
    for (const item of plan.preData) await out.writeText(renderItem(item));
    const tables = full
      ? await copyTables(tx, connection, plan, out, options)
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
  });
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
): Promise<TableStats[]> {
  const owners = ownersOf(plan.preData);
  const stats: TableStats[] = [];
  let totalRows = 0;
  for (const table of plan.data) {
    const name = tableName(table);
    const copied = await copyTableOut(
      tx,
      { ...table, owner: owners.get(`${table.schema}.${table.name}`) },
      out,
      () => connection.resumeSockets(),
      (rows) =>
        options.onProgress?.({
          table: name,
          tableRows: rows,
          totalRows: totalRows + rows,
          bytes: out.total,
        }),
    );
    totalRows += copied.rows;
    stats.push({ name, rows: copied.rows, bytes: copied.bytes });
  }
  return stats;
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
