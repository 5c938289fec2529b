/**
 * `check`'s questions to a SQLite database, asked on a read-only connection (`query_only` on
 * top), so a user's SQL check can never change the data. A query that fails is that query's
 * answer, not the run's failure.
 */
import { DatabaseSync } from "node:sqlite";
import {
  type HealthAnswers,
  type HealthQueries,
  numberOf,
  type QueryAnswer,
} from "../maintenance.ts";
import { messageOf } from "../../core/errors.ts";

/** Answers `queries` about the SQLite database at `path` (which exists). */
export async function querySqliteHealth(
  path: string,
  queries: HealthQueries,
): Promise<HealthAnswers> {
  const sizeBytes = await fileBytes(path) + await fileBytes(`${path}-wal`);
  const db = new DatabaseSync(path, {
    readOnly: true,
    timeout: queries.timeoutMs ?? 10_000,
    enableDoubleQuotedStringLiterals: true,
  });
  try {
    db.exec("PRAGMA query_only = ON");
    const freshness = queries.freshness.map(({ table, column }) =>
      answer(() => {
        // with double-quoted strings allowed (user checks may rely on them), a missing column
        // would be read as the text "column": ask the table's columns first
        const columns = db.prepare("SELECT name FROM pragma_table_info(?)").all(table);
        const named = (c: Record<string, unknown>) =>
          String(c.name).toLowerCase() === column.toLowerCase();
        if (columns.length > 0 && !columns.some(named)) {
          throw new Error(`no such column: ${column} in table ${table}`);
        }
        const statement = db.prepare(
          `SELECT max(${quoteIdentifier(column)}) AS newest FROM ${quoteIdentifier(table)}`,
        );
        statement.setReadBigInts(true); // epoch nanoseconds pass 2^53
        const value = statement.get()?.newest;
        if (value === null || value === undefined) return null;
        if (typeof value === "bigint") return Number(value);
        if (typeof value === "number" || typeof value === "string") return value;
        throw new Error("the newest value is a BLOB, not a time");
      })
    );
    const checks = queries.checks.map(({ sql }) =>
      answer(() => {
        const statement = db.prepare(sql);
        statement.setReadBigInts(true);
        const row = statement.get();
        return numberOf(row ? Object.values(row)[0] : undefined);
      })
    );
    return { sizeBytes, freshness, checks };
  } finally {
    db.close();
  }
}

function answer<T>(fn: () => T): QueryAnswer<T> {
  try {
    return { value: fn() };
  } catch (error) {
    return { error: messageOf(error).replace(/\s+/g, " ") };
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

async function fileBytes(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0;
    throw error;
  }
}
