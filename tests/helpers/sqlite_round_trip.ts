/**
 * Round trips of a SQLite database for fidelity tests: dump with our engine, restore through our
 * restore and through the stock shell (`gunzip -c | sqlite3`, as the README tells users), and
 * compare each copy with the original by the oracle (`sqlite_compare.ts`).
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { SqliteEngine } from "../../src/engines/sqlite/sqlite_engine.ts";
import type { DumpSummary } from "../../src/engines/engine.ts";
import { compareDatabases, type CompareOptions } from "./sqlite_compare.ts";

const engine = new SqliteEngine();
/** `defensive` is missing from the bundled connection option types (Deno 2.9.6 has it). */
const NOT_DEFENSIVE = { defensive: false } as ConstructorParameters<typeof DatabaseSync>[1];
const decoder = new TextDecoder();

/** Runs `fn` in a fresh temporary directory, removed afterwards whatever happens. */
export async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "backup-manager-fidelity-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** What {@linkcode roundTrip} found. */
export interface RoundTrip {
  /** Differences between the original and our restore (empty: identical). */
  ours: string[];
  /** Differences between the original and the stock shell's restore (none when not run). */
  stock: string[];
  /** The dump's SQL. */
  sql: string;
  summary: DumpSummary;
  original: string;
  oursPath: string;
  stockPath: string;
}

/** Options of {@linkcode roundTrip}. */
export interface RoundTripOptions {
  /** Whether the stock shell restores the dump too. Default `true`. */
  stockShell?: boolean;
}

/**
 * Makes `<dir>/original.db` with `setup` (SQL, or a function given the open database), unless it
 * is undefined (then the file must exist), then dumps it and restores it both ways.
 */
export async function roundTrip(
  dir: string,
  setup?: string | ((db: DatabaseSync) => void),
  options: CompareOptions = {},
  tripOptions: RoundTripOptions = {},
): Promise<RoundTrip> {
  const original = join(dir, "original.db");
  if (setup !== undefined) {
    // Not defensive: a setup may write the schema (PRAGMA writable_schema), as applications can.
    const db = new DatabaseSync(original, NOT_DEFENSIVE);
    try {
      if (typeof setup === "string") db.exec(setup);
      else setup(db);
    } finally {
      db.close();
    }
  }
  const chunks: Uint8Array[] = [];
  const summary = await engine.dump(original, (chunk) => {
    chunks.push(chunk.slice());
    return Promise.resolve();
  });
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  const gzFile = join(dir, "dump.sql.gz");
  await Deno.writeFile(gzFile, gzipSync(bytes));
  const oursPath = join(dir, "ours.db");
  const stockPath = join(dir, "stock.db");
  await engine.restore(oursPath, pieces(bytes));
  const stockShell = tripOptions.stockShell ?? true;
  if (stockShell) await restoreWithStockShell(gzFile, stockPath);
  return {
    ours: compareDatabases(original, oursPath, options),
    stock: stockShell ? compareDatabases(original, stockPath, options) : [],
    sql: decoder.decode(bytes),
    summary,
    original,
    oursPath,
    stockPath,
  };
}

async function* pieces(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  const gz = gzipSync(bytes);
  for (let i = 0; i < gz.length; i += 4096) yield gz.subarray(i, i + 4096);
}

/** `gunzip -c FILE | sqlite3 TARGET`; fails on any message of the shell. */
export async function restoreWithStockShell(gzFile: string, target: string): Promise<void> {
  const output = await new Deno.Command("sh", {
    args: ["-c", 'gunzip -c "$1" | sqlite3 "$2"', "sh", gzFile, target],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(decoder.decode(output.stderr), "", "the stock shell reported errors");
  assert.equal(output.code, 0);
}

/** `sqlite3 SOURCE .dump` loaded by `sqlite3 TARGET`; returns the shell's error messages. */
export async function dotDumpCopy(source: string, target: string): Promise<string[]> {
  const dump = await new Deno.Command("sqlite3", { args: [source, ".dump"], stdout: "piped" })
    .output();
  assert.equal(dump.code, 0);
  const child = new Deno.Command("sqlite3", {
    args: [target],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(dump.stdout);
  await writer.close();
  const output = await child.output();
  return decoder.decode(output.stderr).split("\n").filter((line) => line !== "");
}

/** The `sql` column of `sqlite_schema` for each name, from the database at `path`. */
export function schemaTexts(path: string): Map<string, string | null> {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return new Map(
      db.prepare("SELECT name, sql FROM sqlite_schema").all().map((r) => [
        String(r.name),
        r.sql === null ? null : String(r.sql),
      ]),
    );
  } finally {
    db.close();
  }
}
