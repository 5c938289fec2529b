/**
 * Schema facts the engine needs besides the plan: the tables with exact row counts (for
 * `describe`, dry runs and restore tests) and the application's migration version.
 */
import postgres from "npm:postgres@3.4.9";
import type { MigrationVersion } from "../engine.ts";
import { MIGRATION_TABLES } from "../migrations.ts";
import { tableFilter } from "../table_filter.ts";
import type { SchemaOptions } from "./_model.ts";
import { type CatalogSql, notInExtension, qualified, query, USER_SCHEMA } from "./_schema_sql.ts";

/** A table that holds rows, with its exact row count. */
export interface TableRows {
  schema: string;
  name: string;
  /** Quoted `schema.name`, as the dump's `TableData.qualifiedName`. */
  qualifiedName: string;
  rows: number;
}

/**
 * The tables a dump copies (plain tables and partitions, not partitioned parents or views),
 * ordered by schema and name, each with `count(*)`: exact, so a restore can be checked against it.
 */
export async function listTables(
  sql: CatalogSql,
  options: SchemaOptions = {},
): Promise<TableRows[]> {
  const filter = tableFilter(options.tables, options.excludeTables);
  const tables = (await query<{ schema: string; name: string; q: string }>(
    sql,
    `SELECT n.nspname AS schema, c.relname AS name, ${qualified("c.relname")} AS q
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r' AND ${USER_SCHEMA} AND ${notInExtension("pg_class", "c.oid")}
     ORDER BY n.nspname, c.relname`,
  )).filter((t) => filter.includes(t.schema, t.name));
  const out: TableRows[] = [];
  for (let i = 0; i < tables.length; i += 200) {
    const batch = tables.slice(i, i + 200);
    const counts = await query<{ i: number; rows: string }>(
      sql,
      batch.map((t, j) => `SELECT ${j} AS i, count(*)::text AS rows FROM ${t.q}`)
        .join("\nUNION ALL\n"),
    );
    counts.sort((a, b) => a.i - b.i);
    batch.forEach((t, j) =>
      out.push({ schema: t.schema, name: t.name, qualifiedName: t.q, rows: Number(counts[j].rows) })
    );
  }
  return out;
}

/**
 * The version recorded by the first known migrations table found (in `public` first, then any
 * schema). A table of that name whose columns do not fit is skipped, not an error: run inside a
 * transaction, the query is wrapped in a savepoint so a failure leaves the dump's snapshot usable.
 */
export async function readMigrationVersion(
  sql: CatalogSql,
): Promise<MigrationVersion | undefined> {
  const found = await query<{ name: string; q: string }>(
    sql,
    `SELECT c.relname AS name, ${qualified("c.relname")} AS q
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm') AND ${USER_SCHEMA}
       AND c.relname IN (${MIGRATION_TABLES.map((m) => `'${m.table}'`).join(", ")})
     ORDER BY n.nspname <> 'public', n.nspname`,
  );
  for (const known of MIGRATION_TABLES) {
    const table = found.find((f) => f.name === known.table);
    if (!table) continue;
    const text = known.query.replace(`"${known.table}"`, table.q);
    const rows = await tryQuery(sql, text);
    const value = rows?.[0] ? Object.values(rows[0])[0] : undefined;
    if (value !== undefined && value !== null) {
      return { table: known.table, version: String(value) };
    }
  }
  return undefined;
}

async function tryQuery(sql: CatalogSql, text: string): Promise<Record<string, unknown>[] | null> {
  try {
    if ("savepoint" in sql) {
      return await sql.savepoint((sp) => sp.unsafe(text)) as unknown as Record<string, unknown>[];
    }
    return await query<Record<string, unknown>>(sql, text);
  } catch (error) {
    if (error instanceof postgres.PostgresError) return null;
    throw error;
  }
}
