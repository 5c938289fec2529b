/**
 * The columns of a live database's tables, for `diff`: SQLite `PRAGMA table_xinfo` read-only;
 * PostgreSQL `format_type()` under an empty `search_path`, as our dump writes a column's type,
 * so the two sides compare as text.
 */
import { DatabaseSync } from "node:sqlite";
import type { Engine } from "../engines/engine.ts";
import { sqlitePath } from "../engines/sqlite/sqlite_engine.ts";
import { openConnection, parseLocation } from "../engines/postgres/_connection.ts";
import type { TableColumns } from "./extract/columns.ts";
import { tableColumns } from "./extract/sqlite_schema.ts";

/** Columns of every table in the live database at `location` (which `describe` found). */
export async function liveColumns(
  engine: Engine,
  location: string,
  env: Record<string, string | undefined>,
): Promise<TableColumns> {
  return engine.kind === "sqlite"
    ? sqliteColumns(sqlitePath(location))
    : await postgresColumns(location, env);
}

function sqliteColumns(path: string): TableColumns {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const names = db.prepare(
      "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    ).all().map((r) => String(r.name));
    const result: TableColumns = new Map();
    for (const name of names) {
      try {
        result.set(name, tableColumns(db, name));
      } catch {
        // a virtual table of a module this build lacks: its columns cannot be read
      }
    }
    return result;
  } finally {
    db.close();
  }
}

async function postgresColumns(
  location: string,
  env: Record<string, string | undefined>,
): Promise<TableColumns> {
  const connection = openConnection(parseLocation(location, env));
  try {
    const rows = await connection.sql.begin("READ ONLY", async (tx) => {
      await tx`SET LOCAL search_path = ''`;
      return await tx<{ schema: string; table: string; column: string; type: string }[]>`
        SELECT n.nspname AS schema, c.relname AS table, a.attname AS column,
               pg_catalog.format_type(a.atttypid, a.atttypmod) AS type
        FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'f') AND a.attnum > 0 AND NOT a.attisdropped
          AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
        ORDER BY n.nspname, c.relname, a.attnum`;
    });
    const result: TableColumns = new Map();
    for (const row of rows) {
      const name = `${row.schema}.${row.table}`;
      const columns = result.get(name) ?? [];
      columns.push({ name: row.column, type: row.type });
      result.set(name, columns);
    }
    return result;
  } finally {
    await connection.end();
  }
}
