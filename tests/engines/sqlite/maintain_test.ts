import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { decideVacuum, type VacuumFacts } from "../../../src/engines/sqlite/_maintain.ts";
import { SqliteEngine } from "../../../src/engines/sqlite/sqlite_engine.ts";
import type { MaintenanceReport } from "../../../src/engines/maintenance.ts";

const MiB = 1024 * 1024;

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "backup-manager-maintain-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A WAL database of about 6 MiB, two thirds of it deleted: a free list worth a VACUUM. */
function makeBloated(path: string): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(`
      PRAGMA journal_mode = WAL;
      CREATE TABLE items (id INTEGER PRIMARY KEY, body TEXT);
      CREATE INDEX items_body ON items(body);
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 12000)
      INSERT INTO items (body) SELECT hex(randomblob(200)) FROM c;
      DELETE FROM items WHERE id % 3 <> 0;
      PRAGMA wal_checkpoint(TRUNCATE);
    `);
  } finally {
    db.close();
  }
}

function stepOf(report: MaintenanceReport, name: string) {
  const step = report.steps.find((s) => s.name === name);
  assert.ok(step, `no step ${name}: ${JSON.stringify(report.steps)}`);
  return step;
}

const BASE: VacuumFacts = {
  enabled: true,
  integrityOk: true,
  sizeBytes: 100 * MiB,
  walBytes: 0,
  freelistBytes: 30 * MiB,
  freeBytes: 1024 * MiB,
  minBytes: 16 * MiB,
  minRatio: 0.1,
};

Deno.test("decideVacuum() weighs what a VACUUM frees against the thresholds and the free disk", () => {
  const cases: [string, Partial<VacuumFacts>, boolean, string][] = [
    ["worth it", {}, true, "it frees about 30.0 MiB (30% of the file)"],
    ["turned off", { enabled: false }, false, "skipped: --no-vacuum"],
    [
      "a damaged file",
      { integrityOk: false },
      false,
      "skipped: the integrity check did not pass (a VACUUM of a damaged file can lose rows)",
    ],
    [
      "under the bytes threshold",
      { freelistBytes: 10 * MiB },
      false,
      "skipped: it would free 10.0 MiB, under the 16.0 MiB threshold",
    ],
    [
      "an empty free list with no threshold",
      { freelistBytes: 0, minBytes: 0 },
      false,
      "skipped: it would free 0 B, under the 0 B threshold",
    ],
    [
      "under the ratio",
      { sizeBytes: 1000 * MiB, freeBytes: 4096 * MiB },
      false,
      "skipped: it would free 30.0 MiB (3% of the file), under the 10% threshold",
    ],
    [
      "the disk cannot hold the copy and the WAL",
      { walBytes: 20 * MiB, freeBytes: 119 * MiB },
      false,
      "skipped: it needs up to 120.0 MiB free beside the database, only 119.0 MiB is (it would free 30.0 MiB)",
    ],
    ["exactly room enough", { walBytes: 20 * MiB, freeBytes: 120 * MiB }, true, ""],
    [
      "free space unknown",
      { freeBytes: undefined },
      false,
      "skipped: the free space beside the database cannot be told",
    ],
  ];
  for (const [name, change, run, reason] of cases) {
    const decision = decideVacuum({ ...BASE, ...change });
    assert.equal(decision.run, run, name);
    if (reason) assert.equal(decision.reason, reason, name);
  }
});

Deno.test("maintain() on a bloated WAL database optimizes, checkpoints, checks and vacuums it", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "bloated.db");
    makeBloated(path);
    const before = (await Deno.stat(path)).size;
    const seen: string[] = [];
    const report = await new SqliteEngine(dir).maintain(path, {
      vacuumMinBytes: MiB,
      onStep: (step) => seen.push(step),
    });
    assert.deepEqual(seen, ["optimize", "checkpoint", "integrity", "vacuum"]);
    assert.deepEqual(report.steps.map((s) => [s.name, s.outcome]), [
      ["optimize", "done"],
      ["checkpoint", "done"],
      ["integrity", "done"],
      ["vacuum", "done"],
    ]);
    assert.equal(report.integrity, "ok");
    assert.deepEqual(report.problems, []);
    const vacuum = stepOf(report, "vacuum");
    const after = (await Deno.stat(path)).size;
    assert.ok(after < before / 2, `${before} -> ${after}`);
    assert.ok(vacuum.bytesFreed! >= before - after - 64 * 1024, `${vacuum.bytesFreed}`);
    assert.match(vacuum.detail, /^VACUUM freed \d+\.\d MiB \(/);
    assert.equal(report.sizeBefore, before);
    assert.equal(
      report.sizeAfter,
      after + ((await Deno.stat(`${path}-wal`).catch(() => null))?.size ?? 0),
    );
    assert.equal(report.dryRun, false);
    const db = new DatabaseSync(path, { readOnly: true });
    assert.equal(Number(db.prepare("SELECT count(*) AS n FROM items").get()!.n), 4000);
    assert.equal(Number(db.prepare("PRAGMA freelist_count").get()!.freelist_count), 0);
    db.close();
  });
});

Deno.test("maintain() skips the VACUUM when the disk has no room for it", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "bloated.db");
    makeBloated(path);
    const before = (await Deno.stat(path)).size;
    const report = await new SqliteEngine(dir).maintain(path, {
      vacuumMinBytes: MiB,
      freeSpace: () => Promise.resolve(MiB), // a disk nearly full
    });
    const vacuum = stepOf(report, "vacuum");
    assert.equal(vacuum.outcome, "skipped");
    assert.match(
      vacuum.detail,
      /^skipped: it needs up to \d+\.\d MiB free beside the database, only 1\.0 MiB is/,
    );
    assert.equal(report.integrity, "ok");
    assert.equal((await Deno.stat(path)).size, before);
  });
});

Deno.test("maintain() --dry-run says what it would do and changes nothing", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "bloated.db");
    makeBloated(path);
    const db = new DatabaseSync(path);
    db.exec("INSERT INTO items (body) VALUES ('in the WAL')");
    db.close();
    const bytes = await Deno.readFile(path);
    const report = await new SqliteEngine(dir).maintain(path, {
      dryRun: true,
      vacuumMinBytes: MiB,
    });
    assert.deepEqual(report.steps.map((s) => [s.name, s.outcome]), [
      ["optimize", "planned"],
      ["checkpoint", "planned"],
      ["integrity", "planned"],
      ["vacuum", "planned"],
    ]);
    assert.match(
      stepOf(report, "vacuum").detail,
      /^would run VACUUM: it frees about \d+\.\d MiB \(\d+% of the file\)$/,
    );
    assert.equal(report.integrity, "skipped");
    assert.equal(report.dryRun, true);
    assert.deepEqual(await Deno.readFile(path), bytes);
  });
});

Deno.test("maintain() --no-vacuum and a small free list leave the file as it is", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "bloated.db");
    makeBloated(path);
    const engine = new SqliteEngine(dir);
    const off = await engine.maintain(path, { vacuum: false, vacuumMinBytes: MiB });
    assert.equal(stepOf(off, "vacuum").detail, "skipped: --no-vacuum");
    const small = await engine.maintain(path, { vacuumMinBytes: 1024 * MiB });
    assert.match(
      stepOf(small, "vacuum").detail,
      /^skipped: it would free .* under the 1\.0 GiB threshold$/,
    );
  });
});

Deno.test("maintain() skips a checkpoint in rollback-journal mode", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "plain.db");
    const db = new DatabaseSync(path);
    db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1)");
    db.close();
    const report = await new SqliteEngine(dir).maintain(path);
    assert.equal(stepOf(report, "checkpoint").outcome, "skipped");
    assert.equal(
      stepOf(report, "checkpoint").detail,
      "skipped: not in WAL mode (journal_mode delete)",
    );
    assert.equal(report.integrity, "ok");
  });
});

Deno.test("maintain() skips with a warning, not a failure, while another session writes", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "busy.db");
    makeBloated(path);
    const writer = new DatabaseSync(path);
    try {
      writer.exec("BEGIN IMMEDIATE; INSERT INTO items (body) VALUES ('held')");
      const report = await new SqliteEngine(dir).maintain(path, {
        vacuumMinBytes: MiB,
        busyTimeoutMs: 100,
      });
      const checkpoint = stepOf(report, "checkpoint");
      assert.ok(["warning", "skipped"].includes(checkpoint.outcome), JSON.stringify(checkpoint));
      const vacuum = stepOf(report, "vacuum");
      assert.equal(vacuum.outcome, "skipped");
      assert.match(vacuum.detail, /^skipped: busy \(database is locked/);
      assert.equal(report.integrity, "ok");
      assert.ok(!report.steps.some((s) => s.outcome === "failed"), JSON.stringify(report.steps));
    } finally {
      writer.exec("ROLLBACK");
      writer.close();
    }
  });
});

Deno.test("maintain() reports corruption as an integrity failure and does not vacuum", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "damaged.db");
    makeBloated(path);
    // the index now claims another column than the entries it holds
    const db = new DatabaseSync(
      path,
      { defensive: false } as ConstructorParameters<typeof DatabaseSync>[1],
    );
    db.exec(`CREATE TABLE other (id INTEGER PRIMARY KEY, a TEXT, b TEXT);
      INSERT INTO other SELECT id, 'a' || id, 'b' || id FROM items;
      CREATE INDEX other_a ON other(a);
      PRAGMA writable_schema=ON;
      UPDATE sqlite_schema SET sql = 'CREATE INDEX other_a ON other(b)' WHERE name = 'other_a';
      PRAGMA writable_schema=OFF;`);
    db.close();
    const report = await new SqliteEngine(dir).maintain(path, { vacuumMinBytes: MiB });
    assert.equal(report.integrity, "failed");
    assert.ok(report.problems.length > 0 && report.problems.length <= 20);
    assert.ok(
      report.problems.some((p) => /missing from index other_a/.test(p)),
      report.problems.join("\n"),
    );
    const integrity = stepOf(report, "integrity");
    assert.equal(integrity.outcome, "failed");
    assert.match(integrity.detail, /^PRAGMA integrity_check: \d+ problems, the first: /);
    assert.equal(
      stepOf(report, "vacuum").detail,
      "skipped: the integrity check did not pass (a VACUUM of a damaged file can lose rows)",
    );
  });
});

Deno.test("queryHealth() answers freshness, size and user SQL read-only; a bad query is its own answer", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "app.db");
    const db = new DatabaseSync(path);
    db.exec(`CREATE TABLE events (id INTEGER PRIMARY KEY, at_s INTEGER, at_iso TEXT, at_ns INTEGER);
      INSERT INTO events VALUES (1, 1764000000, '2026-11-23T10:00:00Z', 1764000000123456789);
      INSERT INTO events VALUES (2, 1763000000, '2026-11-22 09:00:00', 1763000000000000000);
      CREATE TABLE empty (at TEXT);`);
    db.close();
    const answers = await new SqliteEngine(dir).queryHealth(path, {
      freshness: [
        { table: "events", column: "at_s" },
        { table: "events", column: "at_iso" },
        { table: "events", column: "at_ns" },
        { table: "empty", column: "at" },
        { table: "missing", column: "at" },
        // double-quoted strings are allowed for user checks: a missing column is still an error
        { table: "events", column: "nope" },
      ],
      checks: [
        { name: "rows", sql: "SELECT count(*) FROM events" },
        { name: "text", sql: "SELECT 'many'" },
        { name: "write", sql: "DELETE FROM events" },
        { name: "none", sql: "SELECT 1 WHERE 0" },
      ],
    });
    assert.equal(answers.sizeBytes, (await Deno.stat(path)).size);
    assert.deepEqual(answers.freshness.slice(0, 4), [
      { value: 1764000000 },
      { value: "2026-11-23T10:00:00Z" },
      { value: 1764000000123456800 },
      { value: null },
    ]);
    assert.deepEqual(answers.freshness[4], { error: "no such table: missing" });
    assert.deepEqual(answers.freshness[5], { error: "no such column: nope in table events" });
    assert.deepEqual(answers.checks[0], { value: 2 });
    assert.deepEqual(answers.checks[1], { error: 'the query returned "many", not a number' });
    assert.match((answers.checks[2] as { error: string }).error, /readonly|read-only/i);
    assert.deepEqual(answers.checks[3], { error: "the query returned no row" });
    const after = new DatabaseSync(path, { readOnly: true });
    assert.equal(Number(after.prepare("SELECT count(*) AS n FROM events").get()!.n), 2);
    after.close();
  });
});
