/**
 * Replication of a SQLite database and its restore to a moment, in-process with a fake clock: an
 * application writes timestamped rows in transactions of every size, with PASSIVE and TRUNCATE
 * checkpoints and a VACUUM of its own, while the replicator steps once a "second" and restarts the
 * log itself past a threshold; the database restored to each of the moments holds exactly the rows
 * committed by then and passes integrity_check, all in one generation. A replicator that dies and
 * is started again begins a new generation, and every moment stays restorable; a damaged or
 * missing segment restores to the last correct state before it, and says so.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { LocalStorage } from "../../src/storage/local.ts";
import { SqliteReplicator } from "../../src/pitr/sqlite_replicator.ts";
import { restoreSqliteAt } from "../../src/pitr/sqlite_pitr_restore.ts";
import { listGenerations, segmentKeys } from "../../src/pitr/sqlite_pitr_store.ts";
import { FakeClock } from "../helpers/cli.ts";

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "bm-replicate-test-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function countAt(path: string): { rows: number; last: string | null } {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const row = db.prepare("SELECT count(*) AS n, max(seq) AS last FROM events").get()!;
    return { rows: Number(row.n), last: row.last === null ? null : String(row.last) };
  } finally {
    db.close();
  }
}

Deno.test("restore to any replicated moment gives exactly the rows committed by then", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "app.db");
    const app = new DatabaseSync(path);
    app.exec(`PRAGMA journal_mode = WAL;
      CREATE TABLE events (seq INTEGER PRIMARY KEY, at TEXT, body BLOB);
      CREATE INDEX events_at ON events(at);`);
    const insert = app.prepare("INSERT INTO events (at, body) VALUES (?, randomblob(?))");
    const store = new LocalStorage(join(dir, "pitr"));
    const clock = new FakeClock("2026-12-03T10:00:00.000Z");
    // a small checkpoint threshold: the replicator restarts the log itself many times
    const replicator = new SqliteReplicator(path, store, { clock, checkpointBytes: 6 << 20 });
    const moments: { at: Date; rows: number }[] = [];
    let checkpoints = 0;
    try {
      for (let second = 0; second < 40; second++) {
        // one to three transactions a second, of 1 to 200 rows, some of big rows
        for (let t = 0; t < 1 + second % 3; t++) {
          app.exec("BEGIN");
          const n = 1 + (second * 53 + t * 17) % 200;
          for (let i = 0; i < n; i++) insert.run(clock.now().toISOString(), second % 7 ? 60 : 5000);
          app.exec("COMMIT");
        }
        if (second === 10) app.exec("DELETE FROM events WHERE seq % 4 = 0");
        if (second % 9 === 4) app.exec("PRAGMA wal_checkpoint(PASSIVE)");
        if (second === 20) app.exec("PRAGMA wal_checkpoint(TRUNCATE)");
        if (second === 30) app.exec("VACUUM");
        if ((await replicator.step()).checkpointed) checkpoints++;
        const rows = Number(app.prepare("SELECT count(*) AS n FROM events").get()!.n);
        moments.push({ at: clock.now(), rows });
        clock.advance(1000);
      }
    } finally {
      await replicator.close();
      app.close();
    }
    // the held read keeps the application's checkpoints (TRUNCATE too) from restarting the log
    // under the replicator, and its own checkpoints continue the generation
    assert.equal((await listGenerations(store)).length, 1);
    assert.ok(checkpoints >= 2, `${checkpoints} checkpoints`);
    assert.ok((await Deno.stat(`${path}-wal`).catch(() => ({ size: 0 }))).size < 16 << 20);
    for (const [i, moment] of moments.entries()) {
      if (i % 3 !== 0 && i < moments.length - 1) continue;
      const out = join(dir, `at-${i}.db`);
      const result = await restoreSqliteAt(store, moment.at, out);
      assert.equal(result.stoppedEarly, undefined);
      assert.equal(countAt(out).rows, moment.rows, `at ${moment.at.toISOString()}`);
      assert.ok(new Date(result.reflects) <= moment.at);
    }
    // a moment between two steps restores the earlier one
    const between = new Date(moments[5].at.getTime() + 500);
    await restoreSqliteAt(store, between, join(dir, "between.db"));
    assert.equal(countAt(join(dir, "between.db")).rows, moments[5].rows);
    // before the first snapshot: nothing to restore
    await assert.rejects(
      restoreSqliteAt(store, new Date("2026-12-03T09:00:00Z"), join(dir, "early.db")),
      /no replicated snapshot is that old/,
    );
  });
});

Deno.test("a damaged or missing segment restores to the last correct state before it", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "app.db");
    const app = new DatabaseSync(path);
    app.exec(`PRAGMA journal_mode = WAL;
      CREATE TABLE events (seq INTEGER PRIMARY KEY, at TEXT, body BLOB);`);
    const insert = app.prepare("INSERT INTO events (at, body) VALUES ('x', randomblob(100))");
    const store = new LocalStorage(join(dir, "pitr"));
    const clock = new FakeClock("2026-12-03T10:00:00.000Z");
    const replicator = new SqliteReplicator(path, store, { clock });
    const counts: number[] = [];
    try {
      await replicator.step(); // the snapshot, empty table
      for (let second = 1; second <= 5; second++) {
        clock.advance(1000);
        for (let i = 0; i < 10 * second; i++) insert.run();
        await replicator.step();
        counts.push(Number(app.prepare("SELECT count(*) AS n FROM events").get()!.n));
      }
    } finally {
      await replicator.close();
      app.close();
    }
    const generation = replicator.generation!;
    const end = clock.now();
    // damage segment 3: the restore stops after segment 2
    const third = join(dir, "pitr", segmentKeys(generation, 3).data);
    const bytes = await Deno.readFile(third);
    bytes[bytes.length >> 1] ^= 0xff;
    await Deno.writeFile(third, bytes);
    const damaged = await restoreSqliteAt(store, end, join(dir, "damaged.db"));
    assert.match(damaged.stoppedEarly ?? "", /segment 3 is damaged/);
    assert.equal(countAt(join(dir, "damaged.db")).rows, counts[1]);
    // remove segment 2 altogether: only the snapshot's state is certain
    await Deno.remove(join(dir, "pitr", segmentKeys(generation, 2).manifest));
    const gap = await restoreSqliteAt(store, end, join(dir, "gap.db"));
    assert.match(gap.stoppedEarly ?? "", /segment 2 is missing/);
    assert.equal(countAt(join(dir, "gap.db")).rows, counts[0]);
  });
});

Deno.test("a replicator that dies and starts again begins a new generation; every moment restores", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "app.db");
    const app = new DatabaseSync(path);
    app.exec(`PRAGMA journal_mode = WAL;
      CREATE TABLE events (seq INTEGER PRIMARY KEY, at TEXT, body BLOB);`);
    const insert = app.prepare("INSERT INTO events (at, body) VALUES ('x', randomblob(500))");
    const store = new LocalStorage(join(dir, "pitr"));
    const clock = new FakeClock("2026-12-03T10:00:00.000Z");
    const moments: { at: Date; rows: number }[] = [];
    const run = async (seconds: number, crash: boolean) => {
      // the dead one's connection stays open in this process (a killed process's would not):
      // its successor's checkpoints wait for it briefly, then give up
      const replicator = new SqliteReplicator(path, store, {
        clock,
        checkpointBytes: 512 * 1024,
        busyTimeoutMs: 100,
      });
      for (let second = 0; second < seconds; second++) {
        for (let i = 0; i < 40; i++) insert.run();
        await replicator.step();
        moments.push({
          at: clock.now(),
          rows: Number(app.prepare("SELECT count(*) AS n FROM events").get()!.n),
        });
        clock.advance(1000);
      }
      if (!crash) await replicator.close();
      // a crash: the connection is never closed, nothing more is shipped; writes go on
      for (let i = 0; i < 25; i++) insert.run();
      app.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      clock.advance(1000);
    };
    try {
      await run(8, true);
      await run(8, false);
    } finally {
      app.close();
    }
    assert.equal((await listGenerations(store)).length, 2);
    for (const [i, moment] of moments.entries()) {
      const out = join(dir, `m${i}.db`);
      const result = await restoreSqliteAt(store, moment.at, out);
      assert.equal(countAt(out).rows, moment.rows, `moment ${i}: ${JSON.stringify(result)}`);
    }
  });
});

Deno.test("a step ships the log as it was when the step began, however fast the writer commits", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "app.db");
    const app = new DatabaseSync(path);
    app.exec(`PRAGMA journal_mode = WAL;
      CREATE TABLE events (seq INTEGER PRIMARY KEY, at TEXT, body BLOB);`);
    const insert = app.prepare("INSERT INTO events (at, body) VALUES ('', randomblob(100))");
    const store = new LocalStorage(join(dir, "pitr"));
    const clock = new FakeClock("2026-12-03T10:00:00.000Z");
    const replicator = new SqliteReplicator(path, store, { clock });
    let writing = true;
    // commits between every await of the step: before the fix, the step chased them for ever
    const writer = (async () => {
      while (writing) {
        insert.run();
        await new Promise((r) => setTimeout(r, 0));
      }
    })();
    try {
      await replicator.step(); // the snapshot
      const segments = async () =>
        (await store.list()).filter((e) => /\.\d{8}\.json$/.test(e.key)).length;
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const before = await segments();
        const result = await replicator.step();
        assert.ok(result.commits > 0, "the writer's commits are shipped");
        assert.ok((await segments()) - before <= 2, "one step, one segment (two at most)");
      }
    } finally {
      writing = false;
      await writer;
      await replicator.close();
      app.close();
    }
  });
});

Deno.test("a transaction bigger than a step's reads is shipped whole; the chain never has a hole", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "app.db");
    const app = new DatabaseSync(path, { timeout: 10_000 });
    app.exec(`PRAGMA journal_mode = WAL;
      CREATE TABLE events (seq INTEGER PRIMARY KEY, at TEXT, body BLOB);`);
    const insert = app.prepare("INSERT INTO events (at, body) VALUES ('', randomblob(3000))");
    const store = new LocalStorage(join(dir, "pitr"));
    const clock = new FakeClock("2026-12-03T10:00:00.000Z");
    // reads of one frame, transactions of several, and the replicator's own checkpoints: before
    // the fix a step never reached a commit, and its checkpoint let the log restart over them
    const replicator = new SqliteReplicator(path, store, {
      clock,
      checkpointBytes: 64 * 1024,
      maxStepBytes: 12 * 1024,
    });
    let writing = true;
    const writer = (async () => {
      while (writing) {
        app.exec("BEGIN IMMEDIATE");
        for (let i = 0; i < 4; i++) insert.run();
        app.exec("COMMIT");
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    let checkpoints = 0;
    let commits = 0;
    try {
      await replicator.step(); // the snapshot
      for (let i = 0; i < 4; i++) {
        await new Promise((r) => setTimeout(r, 300));
        clock.advance(1000);
        const result = await replicator.step();
        commits += result.commits;
        if (result.checkpointed) checkpoints++;
      }
    } finally {
      writing = false;
      await writer;
      clock.advance(1000);
      await replicator.close();
    }
    const source = Number(app.prepare("SELECT count(*) AS n FROM events").get()!.n);
    app.close();
    assert.ok(commits > 10, `${commits} commits shipped`);
    assert.ok(checkpoints > 0, `the replicator checkpointed ${checkpoints} times`);
    const out = join(dir, "restored.db");
    const result = await restoreSqliteAt(store, clock.now(), out); // integrity_check inside
    assert.equal(result.stoppedEarly, undefined);
    assert.equal(countAt(out).rows, source);
  });
});
