/**
 * `check`'s questions to a PostgreSQL database: each in its own `READ ONLY` transaction with a
 * statement timeout, so a user's SQL check can neither change data nor hang the monitor, and one
 * failing query (its transaction aborted) leaves the others their answers.
 */
import type { Connection } from "./_connection.ts";
import { quoteIdentifier } from "./_databases.ts";
import {
  type HealthAnswers,
  type HealthQueries,
  numberOf,
  type QueryAnswer,
} from "../maintenance.ts";
import { messageOf } from "../../core/errors.ts";

/** Types whose newest value is read as a number (epoch seconds or milliseconds). */
const NUMERIC = new Set(["smallint", "integer", "bigint", "numeric", "real", "double precision"]);

/** Answers `queries` on the database `connection` is on. */
export async function queryPostgresHealth(
  connection: Connection,
  queries: HealthQueries,
): Promise<HealthAnswers> {
  const { sql } = connection;
  const timeoutMs = Math.max(1, Math.round(queries.timeoutMs ?? 10_000));
  const readOnly = <T>(fn: (tx: typeof sql) => Promise<T>): Promise<QueryAnswer<T>> =>
    answer(() =>
      sql.begin("READ ONLY", async (tx) => {
        await tx.unsafe(`SET LOCAL statement_timeout = ${timeoutMs}`);
        return await fn(tx as unknown as typeof sql);
      }) as Promise<T>
    );
  const [size] = await sql`SELECT pg_database_size(current_database())::text AS n`;
  const freshness: QueryAnswer<string | number | null>[] = [];
  for (const { table, column } of queries.freshness) {
    freshness.push(
      await readOnly(async (tx) => {
        const [row] = await tx.unsafe(
          `SELECT pg_typeof(max(${quoteIdentifier(column)}))::text AS type, max(${
            quoteIdentifier(column)
          })::text AS newest FROM ${qualified(table)}`,
        );
        if (row.newest === null) return null;
        return NUMERIC.has(String(row.type)) ? Number(row.newest) : String(row.newest);
      }),
    );
  }
  const checks: QueryAnswer<number>[] = [];
  for (const { sql: text } of queries.checks) {
    checks.push(
      await readOnly(async (tx) => {
        const rows = await tx.unsafe(text);
        return numberOf(rows[0] ? Object.values(rows[0])[0] : undefined);
      }),
    );
  }
  return { sizeBytes: Number(size.n), freshness, checks };
}

/** `schema.table` as two quoted identifiers, a bare name as one (found by the search path). */
export function qualified(table: string): string {
  const dot = table.indexOf(".");
  return dot > 0
    ? `${quoteIdentifier(table.slice(0, dot))}.${quoteIdentifier(table.slice(dot + 1))}`
    : quoteIdentifier(table);
}

async function answer<T>(fn: () => Promise<T>): Promise<QueryAnswer<T>> {
  try {
    return { value: await fn() };
  } catch (error) {
    return { error: messageOf(error).replace(/\s+/g, " ") };
  }
}
