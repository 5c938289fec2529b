/**
 * The columns of a PostgreSQL database's tables, for `diff`: `format_type()` under an empty
 * `search_path`, as our dump writes a column's type, so the two sides compare as text.
 */
import type { Connection } from "./_connection.ts";
import type { TableColumns } from "../table_columns.ts";

/** Columns of every ordinary, partitioned and foreign table, by `schema.name`. */
export async function postgresColumns(connection: Connection): Promise<TableColumns> {
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
}
