/** The columns of a table, as the schema readers of backups and live databases report them. */

/** One column: its name and declared type (SQLite: as written; PostgreSQL: `format_type`). */
export interface Column {
  name: string;
  type: string;
}

/** Columns by table name (SQLite: the name; PostgreSQL: `schema.name`, unquoted). */
export type TableColumns = Map<string, Column[]>;
