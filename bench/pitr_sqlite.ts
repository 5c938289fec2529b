/**
 * SQLite replication (issue 13): the writer's commit latency without and with a replicator, the
 * replication lag (commit to segment stored) and the restore time for a volume of WAL.
 *
 *   deno run -A bench/pitr_sqlite.ts [seconds per run, default 10]
 *
 * The writer is a separate process (this file with `writer` as its first argument) that commits
 * one small row per transaction at a fixed rate, timing each `COMMIT`, and records each commit's
 * wall time in the row itself. The replicator steps in this process every `interval`. Lag is
 * measured per commit as (end of the step that shipped it) - (its commit time), where a step ships
 * the commits made before the step began (commits that land during the step are counted for the
 * next one: an upper bound). The restore is timed on the last run's chain and extrapolated
 * linearly to one hour of WAL at that rate (a restore reads and applies segments in order).
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { LocalStorage } from "../src/storage/local.ts";
import { SqliteReplicator } from "../src/pitr/sqlite_replicator.ts";
import { restoreSqliteAt } from "../src/pitr/sqlite_pitr_restore.ts";
import { systemClock } from "../src/core/clock.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** The writer process: `writer PATH RATE SECONDS` prints its commit latencies' p50/p99 as JSON. */
function writer(path: string, rate: number, seconds: number): void {
  const db = new DatabaseSync(path);
  db.exec("PRAGMA busy_timeout = 5000");
  const insert = db.prepare("INSERT INTO events (at, body) VALUES (?, randomblob(100))");
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + seconds * 1000;
  let n = 0;
  while (performance.now() < end) {
    const due = start + (n * 1000) / rate;
    while (performance.now() < due) { /* spin: timers are too coarse at 2,000/s */ }
    const t0 = performance.now();
    db.exec("BEGIN IMMEDIATE");
    insert.run(Date.now());
    db.exec("COMMIT");
    latencies.push(performance.now() - t0);
    n++;
  }
  db.close();
  latencies.sort((a, b) => a - b);
  console.log(JSON.stringify({
    commits: n,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    max: latencies[latencies.length - 1],
  }));
}

interface RunResult {
  commits: number;
  p50: number;
  p99: number;
  max: number;
  lag?: { p50: number; p99: number };
  walBytes?: number;
  restoreMs?: number;
}

async function run(rate: number, seconds: number, replicate: boolean): Promise<RunResult> {
  const dir = await Deno.makeTempDir({ prefix: "pitr-bench-" });
  try {
    const path = join(dir, "app.db");
    const setup = new DatabaseSync(path);
    setup.exec(`PRAGMA journal_mode = WAL;
      CREATE TABLE events (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, body BLOB)`);
    setup.close();
    const store = new LocalStorage(join(dir, "pitr"));
    const replicator = replicate
      ? new SqliteReplicator(path, store, { clock: systemClock })
      : undefined;
    if (replicator) await replicator.step(); // the snapshot, before the writer starts
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", import.meta.filename!, "writer", path, String(rate), String(seconds)],
      stdout: "piped",
    }).spawn();
    const lags: number[] = [];
    let running = true;
    const output = child.output().finally(() => running = false);
    const probe = new DatabaseSync(path, { readOnly: true });
    let shippedUpTo = 0;
    const lagOf = probe.prepare("SELECT at FROM events WHERE at > ? AND at <= ?");
    while (replicator && running) {
      await sleep(1000);
      const began = Date.now();
      await replicator.step();
      const ended = Date.now();
      for (const row of lagOf.all(shippedUpTo, began)) lags.push(ended - Number(row.at));
      shippedUpTo = began;
    }
    const result = await output;
    const written: RunResult = JSON.parse(new TextDecoder().decode(result.stdout));
    if (!replicator) return written;
    await replicator.step();
    const last = Date.now();
    for (const row of lagOf.all(shippedUpTo, last)) lags.push(Date.now() - Number(row.at));
    probe.close();
    await replicator.close();
    lags.sort((a, b) => a - b);
    let walBytes = 0;
    for await (const e of Deno.readDir(join(dir, "pitr"))) {
      if (e.name.includes(".wal")) walBytes += (await Deno.stat(join(dir, "pitr", e.name))).size;
    }
    const t0 = performance.now();
    await restoreSqliteAt(store, new Date(), join(dir, "restored.db"));
    const restoreMs = performance.now() - t0;
    return {
      ...written,
      lag: { p50: quantile(lags, 0.5), p99: quantile(lags, 0.99) },
      walBytes,
      restoreMs,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (Deno.args[0] === "writer") {
  writer(Deno.args[1], Number(Deno.args[2]), Number(Deno.args[3]));
} else {
  const seconds = Number(Deno.args[0] ?? 10);
  const ms = (x: number) => x.toFixed(3) + " ms";
  for (const rate of [200, 2000]) {
    const plain = await run(rate, seconds, false);
    const replicated = await run(rate, seconds, true);
    console.log(
      `${rate} commits/s target, ${seconds} s: without replicate ${plain.commits} commits, ` +
        `commit p50 ${ms(plain.p50)} p99 ${ms(plain.p99)} max ${ms(plain.max)}`,
    );
    console.log(
      `  with replicate (interval 1s): ${replicated.commits} commits, commit p50 ${
        ms(replicated.p50)
      } p99 ${ms(replicated.p99)} max ${ms(replicated.max)}; lag p50 ${
        replicated.lag!.p50
      } ms p99 ${replicated.lag!.p99} ms`,
    );
    const perHour = replicated.restoreMs! * 3600 / seconds;
    console.log(
      `  restore of ${seconds} s of WAL (${(replicated.walBytes! / 1e6).toFixed(1)} MB stored): ${
        replicated.restoreMs!.toFixed(0)
      } ms; 1 h at this rate ≈ ${(perHour / 1000).toFixed(0)} s (linear)`,
    );
  }
}
