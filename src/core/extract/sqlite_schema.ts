/**
 * The tables of a SQLite backup as its own `CREATE TABLE` statements declare them: each run in an
 * in-memory database and read back with `PRAGMA table_xinfo`, so the columns and declared types
 * are SQLite's reading of the text, not ours.
 */
import { DatabaseSync } from "node:sqlite";
import type { Column, TableColumns } from "./columns.ts";
import { tableColumns } from "../../engines/sqlite/sqlite_engine.ts";
import { classify, SqliteStatements } from "./sqlite_statements.ts";

/**
 * Reads `sql` until every table of `expected` has had its `CREATE TABLE` (a SQLite dump creates
 * each table just before its rows, so this reads up to the last table's rows) or the text ends.
 * A table SQLite here cannot create (a virtual table of a module this build lacks) is left out.
 */
export async function readSqliteSchema(
  sql: AsyncIterable<string>,
  expected: readonly string[],
): Promise<TableColumns> {
  const reader = new SqliteSchema();
  const missing = new Set(expected);
  try {
    const statements = new SqliteStatements();
    for await (const chunk of sql) {
      for (const statement of statements.push(chunk)) {
        const table = reader.add(statement);
        if (table !== undefined) missing.delete(table);
      }
      if (expected.length > 0 && missing.size === 0) break;
    }
    return reader.tables();
  } finally {
    reader.close();
  }
}

/** Runs `CREATE TABLE` statements in memory and reads their columns. */
export class SqliteSchema {
  readonly #db = new DatabaseSync(":memory:");
  readonly #created: string[] = [];
  readonly #statements = new Map<string, string>();

  /** Runs `statement` when it creates a table; returns that table's name. */
  add(statement: string): string | undefined {
    const kind = classify(statement);
    if (kind.kind !== "create-table") return undefined;
    try {
      this.#db.exec(statement);
      this.#created.push(kind.table);
      this.#statements.set(kind.table, statement);
    } catch {
      // a module this build lacks, or a shadow table its virtual table made already
    }
    return kind.table;
  }

  /** The `CREATE TABLE` statement of `table`, if it was seen. */
  statement(table: string): string | undefined {
    return this.#statements.get(table);
  }

  /** The columns of `table`, hidden columns of virtual tables left out. */
  columns(table: string): Column[] | undefined {
    if (!this.#statements.has(table)) return undefined;
    return tableColumns(this.#db, table);
  }

  /** Every table created so far with its columns. */
  tables(): TableColumns {
    return new Map(this.#created.map((name) => [name, tableColumns(this.#db, name)]));
  }

  close(): void {
    this.#db.close();
  }
}

export { tableColumns };
