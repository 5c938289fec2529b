/**
 * The columns of a live database's tables, as `Engine.columns` reports them for `diff` (and the
 * backup's schema readers in `src/core/extract/` report a dump's): name and declared type.
 */

/** One column: its name and declared type (SQLite: as written; PostgreSQL: `format_type`). */
export interface Column {
  name: string;
  type: string;
}

/** Columns by table name (SQLite: the name; PostgreSQL: `schema.name`, unquoted). */
export type TableColumns = Map<string, Column[]>;
