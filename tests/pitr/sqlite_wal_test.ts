/**
 * The SQLite WAL reader against WAL files SQLite itself writes: every commit is found, a database
 * rebuilt from a snapshot and the frames up to any commit holds exactly the rows committed by
 * then and passes integrity_check, a damaged frame ends the log before its transaction, a log
 * restarted by a checkpoint has new salts and a new checkpoint sequence.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  applyFrames,
  parseWalHeader,
  readWal,
  walChecksum,
  WalFormatError,
} from "../../src/pitr/sqlite_wal.ts";

async function withTempDir(fn: (dir: string) => void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "bm-wal-test-" });
  try {
    fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A WAL database with no checkpoint of its own, checkpointed once: base file and open writer. */
function openWriter(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
    CREATE TABLE events (id INTEGER PRIMARY KEY, at TEXT, body BLOB);
    CREATE INDEX events_at ON events(at);`);
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  return db;
}

function rowsOf(bytes: Uint8Array, dir: string, name: string): { rows: number; ok: string } {
  const path = join(dir, name);
  Deno.writeFileSync(path, bytes);
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const rows = Number(db.prepare("SELECT count(*) AS n FROM events").get()!.n);
    const ok = String(db.prepare("PRAGMA integrity_check").get()!.integrity_check);
    return { rows, ok };
  } finally {
    db.close();
  }
}

Deno.test("readWal() finds every commit SQLite wrote, and applyFrames() rebuilds each state exactly", async () => {
  await withTempDir((dir) => {
    const path = join(dir, "app.db");
    const db = openWriter(path);
    try {
      const base = Deno.readFileSync(path);
      const insert = db.prepare("INSERT INTO events (at, body) VALUES (?, randomblob(?))");
      const expected: number[] = [];
      let rows = 0;
      for (let t = 0; t < 12; t++) {
        db.exec("BEGIN");
        const n = 1 + (t * 37) % 90; // transactions of 1 to 90 rows, some spanning pages
        for (let i = 0; i < n; i++) insert.run(`2026-12-03T10:${String(t).padStart(2, "0")}`, 300);
        if (t === 7) db.exec("DELETE FROM events WHERE id % 3 = 0");
        db.exec("COMMIT");
        rows = Number(db.prepare("SELECT count(*) AS n FROM events").get()!.n);
        expected.push(rows);
      }
      const wal = Deno.readFileSync(`${path}-wal`);
      const contents = readWal(wal);
      assert.equal(contents.header.pageSize, 4096);
      const commits = contents.frames.filter((f) => f.commitSize !== 0);
      assert.equal(commits.length, 12);
      assert.equal(contents.committed, contents.frames.length);
      for (const [t, commit] of commits.entries()) {
        const state = applyFrames(base, wal, contents, commit.index + 1);
        assert.deepEqual(rowsOf(state, dir, `t${t}.db`), { rows: expected[t], ok: "ok" }, `t${t}`);
      }
      assert.throws(() => applyFrames(base, wal, contents, commits[0].index), RangeError);
    } finally {
      db.close();
    }
  });
});

Deno.test("a damaged frame ends the log before its transaction; a checkpoint restart changes the salts", async () => {
  await withTempDir((dir) => {
    const path = join(dir, "app.db");
    const db = openWriter(path);
    try {
      const insert = db.prepare("INSERT INTO events (at, body) VALUES ('x', randomblob(3000))");
      for (let t = 0; t < 5; t++) insert.run();
      const wal = Deno.readFileSync(`${path}-wal`);
      const contents = readWal(wal);
      const commits = contents.frames.filter((f) => f.commitSize !== 0);
      assert.equal(commits.length, 5);
      // a flipped byte in the page of the third transaction's first frame
      const third = contents.frames[commits[1].index + 1];
      const damaged = wal.slice();
      damaged[third.offset + 24 + 100] ^= 0xff;
      const cut = readWal(damaged);
      assert.equal(cut.committed, commits[1].index + 1, "only the first two transactions");
      const short = readWal(wal.slice(0, commits[3].offset + 24 + 10));
      assert.equal(short.committed, commits[2].index + 1, "a frame cut short is no frame");

      const before = contents.header;
      db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      insert.run();
      const after = parseWalHeader(Deno.readFileSync(`${path}-wal`));
      assert.equal(after.checkpointSequence, before.checkpointSequence + 1);
      assert.notDeepEqual([after.salt1, after.salt2], [before.salt1, before.salt2]);
      const restarted = readWal(Deno.readFileSync(`${path}-wal`));
      assert.equal(restarted.frames.filter((f) => f.commitSize !== 0).length, 1, "one commit");
      assert.equal(restarted.committed, restarted.frames.length);
    } finally {
      db.close();
    }
  });
});

Deno.test("parseWalHeader() refuses what is not a WAL; walChecksum() is SQLite's", () => {
  const cases: [string, Uint8Array][] = [
    ["too short", new Uint8Array(10)],
    ["zeros", new Uint8Array(32)],
    ["a database file", new TextEncoder().encode("SQLite format 3\0".padEnd(32, "\0"))],
  ];
  for (const [name, bytes] of cases) {
    assert.throws(() => parseWalHeader(bytes), WalFormatError, name);
  }
  // words 1, 2 little-endian: s0 = 1 + 0 = 1, s1 = 2 + 1 = 3
  const words = new Uint8Array([1, 0, 0, 0, 2, 0, 0, 0]);
  assert.deepEqual(walChecksum(words, [0, 0], false), [1, 3]);
  assert.deepEqual(walChecksum(words, [0, 0], true), [0x01000000, 0x03000000]);
  assert.deepEqual(walChecksum(new Uint8Array([255, 255, 255, 255, 0, 0, 0, 0]), [1, 0], false), [
    0,
    0,
  ]);
});
