/**
 * The PostgreSQL fidelity oracle: two databases are the same when their normalised
 * `pg_dump --schema-only` statements, their per-table row digests, sequence values, large objects
 * and database facts all agree. Differences are listed in words, the first few of each kind,
 * with the rows that differ.
 */
import { AssertionError } from "node:assert";
import { schemaOf } from "./pg_schema_dump.ts";
import { type DataDigests, dataDigests, tableRows } from "./pg_digests.ts";

/** Options of {@linkcode compareDatabases} and {@linkcode assertSameDatabase}. */
export interface ComparePostgresOptions {
  /**
   * Database facts (`encoding`, `collate`, `ctype`, `owner`, `comment`, `settings`, `acl`, ...)
   * left out, for a target whose database-level properties the restore does not set. Default none.
   */
  ignoreFacts?: string[];
  /** At most this many lines per kind of difference. Default 8. */
  limit?: number;
}

/** Compares the databases at URLs `a` and `b`; returns the differences (empty when the same). */
export async function compareDatabases(
  a: string,
  b: string,
  options: ComparePostgresOptions = {},
): Promise<string[]> {
  const limit = options.limit ?? 8;
  const [schemaA, schemaB, dataA, dataB] = await Promise.all([
    schemaOf(a),
    schemaOf(b),
    dataDigests(a),
    dataDigests(b),
  ]);
  const differences: string[] = [];
  for (const fact of Object.keys({ ...dataA.facts, ...dataB.facts })) {
    if (options.ignoreFacts?.includes(fact)) continue;
    if (dataA.facts[fact] !== dataB.facts[fact]) {
      differences.push(
        `database ${fact}: ${JSON.stringify(dataA.facts[fact])} vs ${
          JSON.stringify(dataB.facts[fact])
        }`,
      );
    }
  }
  differences.push(...compareStatements(schemaA, schemaB, limit));
  differences.push(...await compareTables(a, b, dataA, dataB, limit));
  differences.push(...compareRecords("sequence", dataA.sequences, dataB.sequences, limit));
  differences.push(
    ...compareRecords("large object", dataA.largeObjects, dataB.largeObjects, limit),
  );
  return differences;
}

/** Throws an `AssertionError` listing the differences unless `a` and `b` are the same. */
export async function assertSameDatabase(
  a: string,
  b: string,
  options: ComparePostgresOptions = {},
): Promise<void> {
  const differences = await compareDatabases(a, b, options);
  if (differences.length > 0) {
    throw new AssertionError({
      message: `The databases differ:\n  ${differences.join("\n  ")}\n` +
        `(first: ${redact(a)}, second: ${redact(b)})`,
    });
  }
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.href;
}

/** Multiset difference of `a` minus `b`. */
function minus(a: string[], b: string[]): string[] {
  const counts = new Map<string, number>();
  for (const item of b) counts.set(item, (counts.get(item) ?? 0) + 1);
  return a.filter((item) => {
    const n = counts.get(item) ?? 0;
    if (n === 0) return true;
    counts.set(item, n - 1);
    return false;
  });
}

function shorten(text: string, max = 400): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`;
}

function listSome(label: string, items: string[], limit: number): string[] {
  if (items.length === 0) return [];
  const shown = items.slice(0, limit).map((s) => `    ${shorten(s)}`);
  const more = items.length > limit ? [`    … and ${items.length - limit} more`] : [];
  return [`${label} (${items.length}):`, ...shown, ...more];
}

function compareStatements(a: string[], b: string[], limit: number): string[] {
  return [
    ...listSome("schema statements only in the first", minus(a, b), limit),
    ...listSome("schema statements only in the second", minus(b, a), limit),
  ];
}

async function compareTables(
  a: string,
  b: string,
  dataA: DataDigests,
  dataB: DataDigests,
  limit: number,
): Promise<string[]> {
  const differences: string[] = [];
  for (const table of Object.keys({ ...dataA.tables, ...dataB.tables }).sort()) {
    const [x, y] = [dataA.tables[table], dataB.tables[table]];
    if (!x || !y) {
      differences.push(`table ${table} only in the ${x ? "first" : "second"} database`);
      continue;
    }
    if (x.rows === y.rows && x.digest === y.digest) continue;
    differences.push(
      `table ${table}: ${x.rows} rows vs ${y.rows}` +
        (x.digest === "not populated" || y.digest === "not populated"
          ? ` (${x.digest === "not populated" ? "first" : "second"} not populated)`
          : ", rows differ"),
    );
    const [rowsA, rowsB] = await Promise.all([tableRows(a, table), tableRows(b, table)]);
    differences.push(...listSome("  rows only in the first", minus(rowsA, rowsB), 3));
    differences.push(...listSome("  rows only in the second", minus(rowsB, rowsA), 3));
    if (differences.length > limit * 4) break;
  }
  return differences;
}

function compareRecords(
  label: string,
  a: Record<string, string>,
  b: Record<string, string>,
  limit: number,
): string[] {
  const differences: string[] = [];
  for (const key of Object.keys({ ...a, ...b }).sort()) {
    if (a[key] === b[key]) continue;
    differences.push(
      `${label} ${key}: ${a[key] ?? "(missing)"} vs ${b[key] ?? "(missing)"}`,
    );
    if (differences.length >= limit) break;
  }
  return differences;
}
