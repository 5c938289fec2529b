/** The columns of a table, as the schema readers of backups and live databases report them. */
export type { Column, TableColumns } from "../../engines/table_columns.ts";
