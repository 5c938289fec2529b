import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { checkIntegrity } from "../../../src/engines/sqlite/_integrity.ts";

/** Runs `fn` in a fresh temporary directory, removed afterwards whatever happens. */
async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "backup-manager-integrity-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A database with two indexed tables, large enough to span many pages. */
function createDatabase(path: string): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(`
      CREATE TABLE small(id INTEGER PRIMARY KEY, a TEXT NOT NULL, b TEXT);
      CREATE INDEX small_a ON small(a);
      CREATE TABLE big(id INTEGER PRIMARY KEY, x INTEGER, y TEXT UNIQUE);
      CREATE INDEX big_x ON big(x);
      WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 200)
      INSERT INTO small SELECT i, 'a' || i, 'b' || (200 - i) FROM seq;
      WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 20000)
      INSERT INTO big SELECT i, i % 97, printf('%08d-%s', i, hex(randomblob(20))) FROM seq;
    `);
  } finally {
    db.close();
  }
}

function fullIntegrityCheck(path: string): string[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db.prepare("PRAGMA integrity_check").all().map((r) => String(Object.values(r)[0]))
      .filter((line) => line !== "ok");
  } finally {
    db.close();
  }
}

Deno.test("checkIntegrity() passes a sound database", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "sound.db");
    createDatabase(path);
    assert.deepEqual(await checkIntegrity(path), []);
  });
});

Deno.test("checkIntegrity() finds an index that disagrees with its table, which quick_check misses", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "index.db");
    createDatabase(path);
    // The index keeps its entries for column a but now claims to cover column b.
    const db = new DatabaseSync(
      path,
      { defensive: false } as ConstructorParameters<
        typeof DatabaseSync
      >[1],
    );
    try {
      db.exec(`PRAGMA writable_schema=ON;
        UPDATE sqlite_schema SET sql = 'CREATE INDEX small_a ON small(b)' WHERE name = 'small_a';
        PRAGMA writable_schema=OFF;`);
    } finally {
      db.close();
    }
    const quick = new DatabaseSync(path, { readOnly: true });
    assert.equal(Object.values(quick.prepare("PRAGMA quick_check").get()!)[0], "ok");
    quick.close();
    const problems = await checkIntegrity(path);
    assert.ok(problems.some((p) => /missing from index small_a/.test(p)), problems.join("\n"));
    assert.deepEqual(new Set(problems), new Set(fullIntegrityCheck(path)));
  });
});

Deno.test("checkIntegrity() finds a damaged page and a page that no b-tree accounts for", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "pages.db");
    createDatabase(path);
    const db = new DatabaseSync(path);
    const pageSize = Number(Object.values(db.prepare("PRAGMA page_size").get()!)[0]);
    const root = Number(
      db.prepare("SELECT rootpage FROM sqlite_schema WHERE name = 'big_x'")
        .get()!.rootpage,
    );
    db.close();
    // Zero the index's root page (an invalid page type), then append a page nothing refers to
    // and count it in the header, as a torn write could.
    const file = await Deno.open(path, { read: true, write: true });
    try {
      await file.seek((root - 1) * pageSize, Deno.SeekMode.Start);
      await file.write(new Uint8Array(pageSize));
      const pages = (await file.stat()).size / pageSize;
      await file.seek(0, Deno.SeekMode.End);
      await file.write(new Uint8Array(pageSize));
      const header = new Uint8Array(4);
      new DataView(header.buffer).setUint32(0, pages + 1);
      await file.seek(28, Deno.SeekMode.Start);
      await file.write(header);
    } finally {
      file.close();
    }
    const problems = await checkIntegrity(path);
    assert.ok(problems.some((p) => /Page \d+: never used/.test(p)), problems.join("\n"));
    assert.ok(
      problems.some((p) => /big_x|2nd reference|invalid page|btreeInitPage/.test(p)),
      problems.join("\n"),
    );
  });
});
