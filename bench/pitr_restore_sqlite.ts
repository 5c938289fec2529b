/**
 * SQLite point-in-time recovery (issue 13): how long a restore takes to a point 1 hour and 24
 * hours after the snapshot, on one generation's chain of segments.
 *
 *   deno run -A bench/pitr_restore_sqlite.ts [--shape busy-hour|day|both] [--scale 1]
 *     [--commits-per-step N] [--wal-autocheckpoint 0] [--tmp DIR]
 *
 * Two shapes of log after one snapshot, in one generation (`snapshotEveryMs` a year, so no
 * scheduled snapshot; `checkpointBytes` the default 4 MiB, so the replicator checkpoints and the
 * log restarts as in production):
 *
 * - busy-hour: an hour at 200 commits/s, 720,000 commits of one small row (a 100-byte blob);
 * - day: 24 hours at 10 commits/s on average, 864,000 commits: mostly small inserts, every
 *   1,000th commit a batch of 500 rows into a second, indexed table, UPDATEs and DELETEs of
 *   random existing rows of both tables, and 1 commit in 5,000 a 64 KiB blob, so pages are
 *   rewritten, freed and reused, not only appended.
 *
 * The wall clock is not waited for: the writer (this file with `writer` as its first argument,
 * a separate process) commits as fast as the machine allows, with `synchronous = NORMAL` (the
 * log's content is the same as with FULL, only not fsynced per commit) and `wal_autocheckpoint = 0`
 * (see below), while the replicator
 * steps in this process every 200 ms. "An hour after the snapshot" is therefore the log volume of
 * an hour's commits, not an hour of wall time: the segments are fewer and bigger than a real
 * hour's (one per 200 ms step, each holding thousands of commits, where a real replicator at
 * 200 commits/s ships 40-200 commits per step). `--commits-per-step N` instead runs the writer in
 * this process in lock step with the replicator, N commits then one step, which gives the
 * segment count of a real run (busy-hour at the default 1 s interval: 200; day: 10).
 *
 * The writer's own checkpoints are off by default (`--wal-autocheckpoint 1000` is SQLite's default)
 * because at 100-300 times the real rate they break the chain: right after the replicator's
 * RESTART checkpoint it holds no read transaction while it ships the old log's tail, and a
 * writer that fills 1,000 pages in those few milliseconds restarts the log, checkpoints it
 * and restarts it again, so the next step starts a new generation ("restarted more than once").
 * They only copy frames into the database file while the replicator holds its read transaction;
 * the frames written, shipped and restored are the same without them.
 *
 * Then each restore runs in a fresh process (this file with `restore`), so its peak RSS is its
 * own: to the last commit and to the middle one, timed around `restoreSqliteAt` with
 * `performance.now()`, RSS sampled every 100 ms (`Deno.memoryUsage().rss`) and the kernel's
 * high-water mark (`VmHWM`) read at the end. The last-commit restore is checked against the source
 * (per table: rows, bytes and a SHA-256 of every row in id order) and with `PRAGMA
 * integrity_check`; the middle one with `integrity_check` and, for busy-hour, its row count.
 * Scale `--scale 0.01` to try it (under a minute); scale 1 is the real run (minutes per shape).
 */
import { DatabaseSync } from "node:sqlite";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { LocalStorage } from "../src/storage/local.ts";
import { SqliteReplicator, type StepResult } from "../src/pitr/sqlite_replicator.ts";
import { restoreSqliteAt } from "../src/pitr/sqlite_pitr_restore.ts";
import { listGenerations, listSegments } from "../src/pitr/sqlite_pitr_store.ts";
import { systemClock } from "../src/core/clock.ts";

const MIB = 1024 * 1024;
const STEP_MS = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type ShapeName = "busy-hour" | "day";

/** What each shape stands for: its commits at scale 1, and its nominal rate. */
const SHAPES: Record<
  ShapeName,
  { commits: number; rate: number; hours: number; title: string }
> = {
  "busy-hour": {
    commits: 720_000,
    rate: 200,
    hours: 1,
    title: "1 h at 200 commits/s, one 100-byte row each",
  },
  day: {
    commits: 864_000,
    rate: 10,
    hours: 24,
    title: "24 h at 10 commits/s: inserts, batches of 500, updates, deletes, 64 KiB blobs, index",
  },
};

/** mulberry32: the same seed gives the same sequence of operations. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    let t = (state = (state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SCHEMA = `
  CREATE TABLE events (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, body BLOB);
  CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER NOT NULL, amount INTEGER NOT NULL,
    note TEXT NOT NULL);
  CREATE INDEX orders_customer ON orders (customer, amount);`;

/** Makes one commit at a time of a shape's mix, on its own connection. */
class Writer {
  readonly #db: DatabaseSync;
  readonly #shape: ShapeName;
  readonly #rnd = random(13);
  #events = 0;
  #orders = 0;
  readonly #insertEvent;
  readonly #insertBlob;
  readonly #insertOrder;
  readonly #updateEvent;
  readonly #updateOrder;
  readonly #deleteEvent;
  readonly #deleteOrder;
  /** Commits made, and of them the ones that changed nothing (an UPDATE/DELETE of a gone row). */
  commits = 0;
  emptyCommits = 0;
  rowsInserted = 0;

  constructor(path: string, shape: ShapeName, autocheckpoint: number) {
    this.#db = new DatabaseSync(path, { timeout: 5_000 });
    this.#db.exec("PRAGMA synchronous = NORMAL");
    this.#db.exec(`PRAGMA wal_autocheckpoint = ${autocheckpoint}`);
    this.#shape = shape;
    this.#insertEvent = this.#db.prepare(
      "INSERT INTO events (at, body) VALUES (?, randomblob(100))",
    );
    this.#insertBlob = this.#db.prepare(
      "INSERT INTO events (at, body) VALUES (?, randomblob(65536))",
    );
    this.#insertOrder = this.#db.prepare(
      "INSERT INTO orders (customer, amount, note) VALUES (?, ?, ?)",
    );
    this.#updateEvent = this.#db.prepare(
      "UPDATE events SET at = ?, body = randomblob(100) WHERE id = ?",
    );
    this.#updateOrder = this.#db.prepare(
      "UPDATE orders SET customer = ?, amount = ? WHERE id = ?",
    );
    this.#deleteEvent = this.#db.prepare("DELETE FROM events WHERE id = ?");
    this.#deleteOrder = this.#db.prepare("DELETE FROM orders WHERE id = ?");
  }

  /** One transaction. */
  commit(): void {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      if (this.#shape === "busy-hour") this.#event();
      else this.#mixed();
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
    this.commits++;
  }

  close(): void {
    this.#db.close();
  }

  #event(): void {
    this.#insertEvent.run(Date.now());
    this.#events++;
    this.rowsInserted++;
  }

  #order(): void {
    const rnd = this.#rnd;
    const note = "order " + Math.floor(rnd() * 1e12).toString(36) + " for " +
      Math.floor(rnd() * 1e9).toString(36);
    this.#insertOrder.run(
      Math.floor(rnd() * 10_000),
      Math.floor(rnd() * 100_000),
      note,
    );
    this.#orders++;
    this.rowsInserted++;
  }

  /** A transaction that changed no row writes no frame: it is not in the log. */
  #changed(result: { changes: number | bigint }): void {
    if (Number(result.changes) === 0) this.emptyCommits++;
  }

  #mixed(): void {
    const rnd = this.#rnd;
    if ((this.commits + 1) % 1000 === 0) {
      for (let i = 0; i < 500; i++) this.#order(); // an import
      return;
    }
    const r = rnd();
    const someEvent = () => 1 + Math.floor(rnd() * Math.max(1, this.#events));
    const someOrder = () => 1 + Math.floor(rnd() * Math.max(1, this.#orders));
    if (r < 0.6) this.#event();
    else if (r < 0.75) this.#order();
    else if (r < 0.87) {
      this.#changed(this.#updateEvent.run(Date.now(), someEvent()));
    } else if (r < 0.93) {
      this.#changed(
        this.#updateOrder.run(
          Math.floor(rnd() * 10_000),
          Math.floor(rnd() * 100_000),
          someOrder(),
        ),
      );
    } else if (r < 0.97) this.#changed(this.#deleteEvent.run(someEvent()));
    else if (r < 0.9998) this.#changed(this.#deleteOrder.run(someOrder()));
    else {
      this.#insertBlob.run(Date.now()); // 1 in 5,000
      this.#events++;
      this.rowsInserted++;
    }
  }
}

/** The writer process: `writer SHAPE PATH COMMITS`, as fast as it can; prints what it did. */
function writerProcess(
  shape: ShapeName,
  path: string,
  commits: number,
  autocheckpoint: number,
): void {
  const writer = new Writer(path, shape, autocheckpoint);
  const t0 = performance.now();
  while (writer.commits < commits) writer.commit();
  const seconds = (performance.now() - t0) / 1000;
  writer.close();
  console.log(
    JSON.stringify({
      commits: writer.commits,
      emptyCommits: writer.emptyCommits,
      rowsInserted: writer.rowsInserted,
      seconds,
    }),
  );
}

/** What a restore process measured. */
interface RestoreMeasure {
  seconds: number;
  /** RSS when the restore began, its sampled peak, and the kernel's high-water mark (bytes). */
  rssBefore: number;
  rssPeak: number;
  hwm?: number;
  samples: number;
  result?: {
    segments: number;
    commits: number;
    reflects: string;
    stoppedEarly?: string;
  };
  /** The restore failed (`seconds` is then the time until it did): its message, shortened. */
  error?: string;
}

/** The restore process: `restore STORE TARGET OUTPUT`; prints a {@linkcode RestoreMeasure}. */
async function restoreProcess(
  storeDir: string,
  target: string,
  output: string,
): Promise<void> {
  const store = new LocalStorage(storeDir);
  const rssBefore = Deno.memoryUsage().rss;
  let rssPeak = rssBefore;
  let samples = 0;
  const timer = setInterval(() => {
    rssPeak = Math.max(rssPeak, Deno.memoryUsage().rss);
    samples++;
  }, 100);
  let result;
  let error: string | undefined;
  const t0 = performance.now();
  try {
    result = await restoreSqliteAt(store, new Date(target), output);
  } catch (e) {
    const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    const lines = message.split("\n");
    error = lines.slice(0, 4).join(" | ") +
      (lines.length > 4 ? ` | … (${lines.length} lines)` : "");
  } finally {
    clearInterval(timer);
  }
  const seconds = (performance.now() - t0) / 1000;
  rssPeak = Math.max(rssPeak, Deno.memoryUsage().rss);
  let hwm: number | undefined;
  try {
    const status = await Deno.readTextFile("/proc/self/status");
    const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    if (kb) hwm = Number(kb) * 1024;
  } catch { /* not Linux */ }
  const measure: RestoreMeasure = {
    seconds,
    rssBefore,
    rssPeak,
    hwm,
    samples,
    ...(result ? { result } : {}),
    ...(error ? { error } : {}),
  };
  console.log(JSON.stringify(measure));
}

async function restoreInChild(storeDir: string, target: Date, output: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      import.meta.filename!,
      "restore",
      storeDir,
      target.toISOString(),
      output,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `the restore to ${target.toISOString()} failed: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return JSON.parse(
    new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!,
  ) as RestoreMeasure;
}

/** Per table: rows, bytes of every value, and a SHA-256 of every row in id order. */
function digest(
  path: string,
): Record<string, { rows: number; bytes: number; sha256: string }> {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const out: Record<string, { rows: number; bytes: number; sha256: string }> = {};
    for (const table of ["events", "orders"]) {
      const hash = createHash("sha256");
      let rows = 0;
      let bytes = 0;
      for (
        const row of db.prepare(`SELECT * FROM ${table} ORDER BY id`).iterate()
      ) {
        rows++;
        for (const value of Object.values(row)) {
          if (value instanceof Uint8Array) {
            hash.update(value);
            bytes += value.length;
          } else {
            const text = String(value);
            hash.update(text + "\u0000");
            bytes += text.length;
          }
        }
        hash.update("\n");
      }
      out[table] = { rows, bytes, sha256: hash.digest("hex") };
    }
    return out;
  } finally {
    db.close();
  }
}

function integrity(path: string): string {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db.prepare("PRAGMA integrity_check").all().map((r) => String(r.integrity_check))
      .join("; ");
  } finally {
    db.close();
  }
}

function count(path: string, table: string): number {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return Number(db.prepare(`SELECT count(*) AS n FROM ${table}`).get()!.n);
  } finally {
    db.close();
  }
}

async function dirBytes(
  dir: string,
): Promise<{ total: number; files: number; snapshot: number }> {
  let total = 0;
  let files = 0;
  let snapshot = 0;
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile) continue;
    const size = (await Deno.stat(join(dir, e.name))).size;
    total += size;
    files++;
    if (e.name.includes(".snapshot.")) snapshot += size;
  }
  return { total, files, snapshot };
}

/** What one shape's run measured (one JSON line). */
interface ShapeResult {
  shape: ShapeName;
  scale: number;
  mode: string;
  nominalHoursOfLog: number;
  nominalRate: number;
  writer: {
    commits: number;
    /** Commits that changed no row (an UPDATE or DELETE of a row gone): they write no frame. */
    emptyCommits: number;
    rowsInserted: number;
    seconds: number;
    commitsPerSecond: number;
  };
  replicator: {
    steps: number;
    checkpoints: number;
    newGenerations: string[];
    maxStepMs: number;
    secondsAfterWriter: number;
  };
  chain: {
    generations: number;
    segments: number;
    commits: number;
    frames: number;
    logBytes: number;
    storedBytes: number;
    snapshotStoredBytes: number;
    files: number;
    commitsPerSegment: number;
    /** The writer's commits that wrote frames, and how many of them the chain lacks. */
    expectedCommits: number;
    missingCommits: number;
  };
  database: { bytes: number; rows: Record<string, number> };
  restoreLast: RestoreMeasure & { verified: boolean; integrity: string };
  restoreMiddle: RestoreMeasure & {
    integrity: string;
    rowCountMatches?: boolean;
  };
  restoreSecondsPerHourOfLog: number;
  restoreMsPerMillionFrames: number;
}

async function runShape(
  shape: ShapeName,
  scale: number,
  commitsPerStep: number,
  autocheckpoint: number,
  tmp: string | undefined,
): Promise<ShapeResult> {
  const spec = SHAPES[shape];
  const commits = Math.round(spec.commits * scale);
  const dir = await Deno.makeTempDir({
    prefix: `pitr-restore-${shape}-`,
    dir: tmp,
  });
  try {
    const path = join(dir, "app.db");
    const setup = new DatabaseSync(path);
    setup.exec("PRAGMA journal_mode = WAL;" + SCHEMA);
    const storeDir = join(dir, "pitr");
    const store = new LocalStorage(storeDir);
    const replicator = new SqliteReplicator(path, store, {
      clock: systemClock,
      snapshotEveryMs: 365 * 24 * 3600_000,
    });
    const newGenerations: string[] = [];
    let steps = 0;
    let checkpoints = 0;
    let maxStepMs = 0;
    let shippedFrames = 0;
    const step = async () => {
      const t0 = performance.now();
      const result: StepResult = await replicator.step();
      maxStepMs = Math.max(maxStepMs, performance.now() - t0);
      steps++;
      if (result.checkpointed) checkpoints++;
      if (result.newGeneration) {
        newGenerations.push(result.newGeneration.reason);
      }
      shippedFrames += result.frames;
    };
    // the snapshot (empty tables), before the first commit; the schema's connection stays open
    // until then, so the log it wrote is still there (the last connection's close removes it, and
    // a log that appears after the snapshot would start a second generation)
    await step();
    setup.close();
    const began = performance.now();
    let lastReport = began;
    const report = (done: string) => {
      if (performance.now() - lastReport < 10_000) return;
      lastReport = performance.now();
      console.error(
        `  [${shape}] ${((lastReport - began) / 1000).toFixed(0)} s: ${done}, ${steps} steps, ` +
          `${shippedFrames} frames shipped, ${checkpoints} checkpoints`,
      );
    };
    let written: ShapeResult["writer"];
    if (commitsPerStep > 0) {
      const writer = new Writer(path, shape, autocheckpoint);
      let writing = 0;
      while (writer.commits < commits) {
        const t0 = performance.now();
        const n = Math.min(commitsPerStep, commits - writer.commits);
        for (let i = 0; i < n; i++) writer.commit();
        writing += performance.now() - t0;
        await step();
        report(`${writer.commits}/${commits} commits`);
      }
      writer.close();
      written = {
        commits: writer.commits,
        emptyCommits: writer.emptyCommits,
        rowsInserted: writer.rowsInserted,
        seconds: writing / 1000,
        commitsPerSecond: writer.commits / (writing / 1000),
      };
    } else {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          import.meta.filename!,
          "writer",
          shape,
          path,
          String(commits),
          String(autocheckpoint),
        ],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      let running = true;
      const output = child.output().finally(() => running = false);
      let next = performance.now() + STEP_MS;
      while (running) {
        await sleep(Math.max(0, next - performance.now()));
        next = Math.max(next + STEP_MS, performance.now());
        if (!running) break;
        await step();
        report("writing");
      }
      const result = await output;
      if (!result.success) {
        throw new Error(`the writer failed (exit ${result.code})`);
      }
      const w = JSON.parse(new TextDecoder().decode(result.stdout));
      written = { ...w, commitsPerSecond: w.commits / w.seconds };
    }
    // the writer has stopped: the replicator ships everything, then lets go
    const tail = performance.now();
    await step();
    await replicator.close();
    const secondsAfterWriter = (performance.now() - tail) / 1000;

    const generations = await listGenerations(store);
    const segments = generations.length === 1
      ? await listSegments(store, generations[0].generation)
      : [];
    if (generations.length !== 1) {
      throw new Error(
        `${generations.length} generations, not one (${
          newGenerations.join("; ")
        }): the chain was broken`,
      );
    }
    const allCommits = segments.flatMap((s) => s.commits);
    const frames = segments.reduce((n, s) => n + s.frames, 0);
    const logBytes = segments.reduce((n, s) => n + s.stored.raw, 0);
    const stored = await dirBytes(storeDir);
    const source = digest(path);
    const dbBytes = (await Deno.stat(path)).size;

    const lastAt = new Date(Date.parse(allCommits.at(-1)!.seenAt) + 1);
    const middleAt = new Date(
      allCommits[Math.floor(allCommits.length / 2)].seenAt,
    );
    console.error(
      `  [${shape}] restoring to the last commit (${allCommits.length} commits)`,
    );
    const lastPath = join(dir, "restored-last.db");
    const last = await restoreInChild(storeDir, lastAt, lastPath);
    let verified = false;
    let lastIntegrity = "restore failed";
    if (last.result) {
      const restored = digest(lastPath);
      verified = JSON.stringify(restored) === JSON.stringify(source) &&
        last.result.commits === allCommits.length &&
        last.result.stoppedEarly === undefined;
      lastIntegrity = integrity(lastPath);
      await Deno.remove(lastPath);
      if (!verified) {
        console.error(
          `  [${shape}] MISMATCH: source ${JSON.stringify(source)}`,
        );
        console.error(
          `  [${shape}]        restored ${JSON.stringify(restored)}`,
        );
      }
    } else console.error(`  [${shape}] the restore FAILED: ${last.error}`);
    console.error(`  [${shape}] restoring to the middle commit`);
    const middlePath = join(dir, "restored-middle.db");
    const middle = await restoreInChild(storeDir, middleAt, middlePath);
    let middleIntegrity = "restore failed";
    let rowCountMatches: boolean | undefined;
    if (middle.result) {
      middleIntegrity = integrity(middlePath);
      if (shape === "busy-hour") {
        rowCountMatches = count(middlePath, "events") === middle.result.commits;
      }
      await Deno.remove(middlePath);
    } else console.error(`  [${shape}] the restore FAILED: ${middle.error}`);

    const hours = Number((spec.hours * scale).toPrecision(6));
    return {
      shape,
      scale,
      mode: commitsPerStep > 0
        ? `lock step, ${commitsPerStep} commits per step`
        : `writer process as fast as it goes, a step every ${STEP_MS} ms`,
      nominalHoursOfLog: hours,
      nominalRate: spec.rate,
      writer: written,
      replicator: {
        steps,
        checkpoints,
        newGenerations,
        maxStepMs: Math.round(maxStepMs),
        secondsAfterWriter,
      },
      chain: {
        generations: generations.length,
        segments: segments.length,
        commits: allCommits.length,
        frames,
        logBytes,
        storedBytes: stored.total,
        snapshotStoredBytes: stored.snapshot,
        files: stored.files,
        commitsPerSegment: allCommits.length / Math.max(1, segments.length),
        expectedCommits: written.commits - written.emptyCommits,
        missingCommits: written.commits - written.emptyCommits -
          allCommits.length,
      },
      database: {
        bytes: dbBytes,
        rows: Object.fromEntries(
          Object.entries(source).map(([t, d]) => [t, d.rows]),
        ),
      },
      restoreLast: { ...last, verified, integrity: lastIntegrity },
      restoreMiddle: {
        ...middle,
        integrity: middleIntegrity,
        ...(rowCountMatches === undefined ? {} : { rowCountMatches }),
      },
      restoreSecondsPerHourOfLog: last.seconds / hours,
      restoreMsPerMillionFrames: last.seconds * 1000 / (frames / 1e6),
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function printSummary(results: ShapeResult[]): void {
  const mb = (b: number) => (b / MIB).toFixed(1);
  const header = [
    "shape",
    "log of",
    "commits",
    "segments",
    "frames",
    "log MiB",
    "stored MiB",
    "db MiB",
    "restore last s",
    "peak RSS MiB",
    "restore middle s",
    "peak RSS MiB ",
    "s per hour of log",
    "verified",
  ];
  const lines = results.map((r) => [
    r.shape,
    `${r.nominalHoursOfLog} h @ ${r.nominalRate}/s`,
    String(r.chain.commits),
    String(r.chain.segments),
    String(r.chain.frames),
    mb(r.chain.logBytes),
    mb(r.chain.storedBytes),
    mb(r.database.bytes),
    r.restoreLast.seconds.toFixed(2) + (r.restoreLast.error ? " FAILED" : ""),
    mb(Math.max(r.restoreLast.rssPeak, r.restoreLast.hwm ?? 0)),
    r.restoreMiddle.seconds.toFixed(2) +
    (r.restoreMiddle.error ? " FAILED" : ""),
    mb(Math.max(r.restoreMiddle.rssPeak, r.restoreMiddle.hwm ?? 0)),
    r.restoreSecondsPerHourOfLog.toFixed(2),
    `${
      r.restoreLast.verified ? "yes" : "NO"
    }, ${r.restoreLast.integrity}/${r.restoreMiddle.integrity}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  console.log(format(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const line of lines) console.log(format(line));
  for (const r of results) {
    for (
      const [which, m] of [["last", r.restoreLast], [
        "middle",
        r.restoreMiddle,
      ]] as const
    ) {
      if (m.error) {
        console.log(
          `${r.shape}: the restore to the ${which} commit FAILED after ${
            m.seconds.toFixed(2)
          } s: ${m.error}`,
        );
      }
    }
    console.log(
      `${r.shape}: "${r.nominalHoursOfLog} h after the snapshot" is the log volume of ` +
        `${r.writer.commits} commits (${SHAPES[r.shape].title}${
          r.scale === 1 ? "" : `, scaled ×${r.scale}`
        }), written in ${r.writer.seconds.toFixed(1)} s (${
          r.writer.commitsPerSecond.toFixed(0)
        } commits/s; ${r.mode}), not waited for on the wall clock. ${r.replicator.steps} steps, ` +
        `${r.replicator.checkpoints} replicator checkpoints, ${
          r.chain.commitsPerSegment.toFixed(0)
        } ` +
        `commits per segment. Restore to the middle commit applied ${
          r.restoreMiddle.result?.commits ?? "(failed)"
        } commits in ${r.restoreMiddle.result?.segments ?? "-"} segments. Restore: ${
          r.restoreSecondsPerHourOfLog.toFixed(2)
        } s per hour of log at ${r.nominalRate} commits/s, ${
          (r.restoreMsPerMillionFrames / 1000).toFixed(1)
        } s per million frames.`,
    );
    if (r.chain.missingCommits !== 0) {
      console.log(
        `${r.shape}: the chain holds ${r.chain.commits} commits, the writer made ${r.chain.expectedCommits} ` +
          `that changed rows: ${r.chain.missingCommits} are MISSING from the chain`,
      );
    }
  }
}

if (Deno.args[0] === "writer") {
  writerProcess(
    Deno.args[1] as ShapeName,
    Deno.args[2],
    Number(Deno.args[3]),
    Number(Deno.args[4]),
  );
} else if (Deno.args[0] === "restore") {
  await restoreProcess(Deno.args[1], Deno.args[2], Deno.args[3]);
} else {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      shape: { type: "string", default: "both" },
      scale: { type: "string", default: "1" },
      "commits-per-step": { type: "string", default: "0" },
      "wal-autocheckpoint": { type: "string", default: "0" },
      tmp: { type: "string" },
    },
  });
  const shapes: ShapeName[] = values.shape === "both"
    ? ["busy-hour", "day"]
    : values.shape === "busy-hour" || values.shape === "day"
    ? [values.shape]
    : (() => {
      throw new Error(
        `--shape ${values.shape}: expected busy-hour, day or both`,
      );
    })();
  const scale = Number(values.scale);
  if (!(scale > 0)) {
    throw new Error(`--scale ${values.scale}: expected a positive number`);
  }
  const commitsPerStep = Number(values["commits-per-step"]);
  const autocheckpoint = Number(values["wal-autocheckpoint"]);
  console.error(
    `nproc ${navigator.hardwareConcurrency}, load ${
      Deno.loadavg().map((l) => l.toFixed(2)).join(" ")
    }`,
  );
  const results: ShapeResult[] = [];
  for (const shape of shapes) {
    const t0 = performance.now();
    const result = await runShape(
      shape,
      scale,
      commitsPerStep,
      autocheckpoint,
      values.tmp,
    );
    console.log(JSON.stringify(result));
    console.error(
      `  [${shape}] done in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    );
    results.push(result);
  }
  printSummary(results);
  if (results.some((r) => !r.restoreLast.verified)) Deno.exitCode = 1;
}
