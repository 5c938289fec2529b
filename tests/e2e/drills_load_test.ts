/**
 * Under load: an application (`tests/helpers/load_writer.ts`, a separate process) commits small
 * transfer transactions at 250 a second during a real `create`, on SQLite in WAL mode, SQLite in
 * rollback-journal mode, and PostgreSQL. The backup, restored, satisfies the application's
 * invariant (balances sum to their start, the counter equals the log's rows), and the writers'
 * latency during the backup (from each transaction's due time to its commit) is printed with its
 * p50, p99 and max: measured, not asserted tightly.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DatabaseSync } from "node:sqlite";
import { runCli, scriptCommand } from "../helpers/cli.ts";
import { systemClock } from "../../src/core/clock.ts";
import { withWorkspace } from "../helpers/workspace.ts";
import { startCluster } from "../helpers/pg_cluster.ts";
import { createDatabase, databaseUrl, psql } from "../helpers/pg_tools.ts";
import {
  ACCOUNTS_SQL,
  INVARIANT_SQL,
  LOAD_SCHEMA,
  type WriterReport,
} from "../helpers/load_writer.ts";
import { listedIds, recordFigure } from "./_drills.ts";

const WRITER = fileURLToPath(new URL("../helpers/load_writer.ts", import.meta.url));
const RATE = 250;
/** Rows of filler (about 250 bytes each), so the dump lasts long enough to matter. */
const FILLER_ROWS = Number(Deno.env.get("DRILL_LOAD_ROWS") ?? 40_000);
const FILLER = `CREATE TABLE filler (id integer PRIMARY KEY, body text);
  INSERT INTO filler SELECT i, printf('%0250d', i) FROM
  (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${FILLER_ROWS})
   SELECT i FROM c) s;`;

/** Latency figures of the transactions due while the backup ran. */
interface LoadFigures {
  mode: string;
  backupMs: number;
  transactions: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  baselineP99: number;
  errors: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] * 10) / 10;
}

/** Runs the writer against `engine`/`where`, a `create` with `createArgs` in the middle. */
async function createUnderLoad(
  mode: string,
  engine: "sqlite" | "postgres",
  where: string,
  createArgs: string[],
): Promise<LoadFigures> {
  const writer = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", WRITER, engine, where, String(RATE)],
    stdout: "piped",
    stderr: "piped",
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
  }).spawn();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const from = Date.now();
  const created = await scriptCommand(createArgs).output();
  const to = Date.now();
  assert.equal(created.code, 0, new TextDecoder().decode(created.stderr));
  await new Promise((resolve) => setTimeout(resolve, 500));
  writer.kill("SIGTERM");
  const output = await writer.output();
  const report: WriterReport = JSON.parse(new TextDecoder().decode(output.stdout));
  const during = report.samples.filter(([due]) => due >= from && due <= to).map(([, ms]) => ms)
    .sort((a, b) => a - b);
  const before = report.samples.filter(([due]) => due < from).map(([, ms]) => ms)
    .sort((a, b) => a - b);
  const figures: LoadFigures = {
    mode,
    backupMs: to - from,
    transactions: report.samples.length,
    // commits that happened while it ran (not only due then): what the writers achieved
    perSecond: Math.round(
      report.samples.filter(([due, ms]) => due + ms >= from && due + ms <= to).length /
        ((to - from) / 1000),
    ),
    p50: percentile(during, 0.5),
    p99: percentile(during, 0.99),
    max: percentile(during, 1),
    baselineP99: percentile(before.slice(50), 0.99), // the first ones warm up
    errors: report.errors,
  };
  console.log(
    `${mode}: backup ${figures.backupMs} ms; writers during it: ${figures.perSecond} tx/s, ` +
      `p50 ${figures.p50} ms, p99 ${figures.p99} ms, max ${figures.max} ms ` +
      `(before it: p99 ${figures.baselineP99} ms); ${report.errors} errors`,
  );
  recordFigure(`under load: ${mode}`, figures);
  assert.equal(report.errors, 0, new TextDecoder().decode(output.stderr));
  return figures;
}

function sqliteInvariant(path: string): { total: number; n: number; logged: number } {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const row = db.prepare(INVARIANT_SQL).get()!;
    return { total: Number(row.total), n: Number(row.n), logged: Number(row.logged) };
  } finally {
    db.close();
  }
}

for (const journal of ["wal", "delete"] as const) {
  Deno.test(`under load, SQLite ${journal} journal: the restored backup keeps the writers' invariant; their latency is measured`, async () => {
    await withWorkspace(async (ws) => {
      const db = new DatabaseSync(ws.database);
      db.exec(`PRAGMA journal_mode = ${journal}; ${LOAD_SCHEMA} ${ACCOUNTS_SQL}; ${FILLER}`);
      db.close();
      const figures = await createUnderLoad(
        `SQLite ${journal === "wal" ? "WAL" : "rollback journal"}`,
        "sqlite",
        ws.database,
        ["create", "--database", ws.database, "--dir", ws.dir],
      );
      assert.ok(figures.transactions > 0);
      const [id] = await listedIds(ws.dir);
      const restored = join(ws.root, "restored.db");
      const result = await runCli(["restore", id, "--to", restored, "--dir", ws.dir], {
        clock: systemClock,
      });
      assert.equal(result.code, 0, result.stderr);
      const invariant = sqliteInvariant(restored);
      assert.equal(invariant.total, 100_000, JSON.stringify(invariant));
      assert.equal(invariant.n, invariant.logged, JSON.stringify(invariant));
      assert.ok(invariant.n > 0, "the backup saw none of the writers' transactions");
    });
  });
}

Deno.test("under load, PostgreSQL: the restored backup keeps the writers' invariant; their latency is measured", async () => {
  await withWorkspace(async (ws) => {
    const cluster = await startCluster();
    try {
      const url = await createDatabase(cluster.url, "load");
      await psql(
        url,
        `${LOAD_SCHEMA} ${ACCOUNTS_SQL};
         CREATE TABLE filler (id integer PRIMARY KEY, body text);
         INSERT INTO filler SELECT i, lpad(i::text, 250, '0')
           FROM generate_series(1, ${FILLER_ROWS}) i;`,
      );
      await createUnderLoad("PostgreSQL", "postgres", url, [
        "create",
        "--database",
        url,
        "--dir",
        ws.dir,
      ]);
      const [id] = await listedIds(ws.dir);
      const copy = databaseUrl(cluster.url, "restored");
      const result = await runCli(
        ["restore", id, "--database", url, "--to", copy, "--create", "--dir", ws.dir],
        { clock: systemClock },
      );
      assert.equal(result.code, 0, result.stderr);
      const [total, n, logged] = (await psql(copy, INVARIANT_SQL)).trim().split("|").map(Number);
      assert.equal(total, 100_000);
      assert.equal(n, logged);
      assert.ok(n > 0, "the backup saw none of the writers' transactions");
    } finally {
      await cluster.stop();
    }
  });
});
