/**
 * The columns of a SQLite database's tables (`PRAGMA table_xinfo`, read-only), for `diff`; and
 * of one table of an open database, for the schema readers of a dump.
 */
import { DatabaseSync } from "node:sqlite";
import type { Column, TableColumns } from "../table_columns.ts";

/** Columns of every table of the database at `path`. */
export function sqliteColumns(path: string): TableColumns {
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

/** `PRAGMA table_xinfo` of `table` in `db`: every column but virtual tables' hidden ones. */
export function tableColumns(db: DatabaseSync, table: string): Column[] {
  const rows = db.prepare("SELECT name, type, hidden FROM pragma_table_xinfo(?)").all(table);
  return rows.filter((r) => Number(r.hidden) !== 1).map((r) => ({
    name: String(r.name),
    type: String(r.type),
  }));
}
