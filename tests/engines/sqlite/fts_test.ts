/**
 * Virtual tables with shadow tables (FTS3/4/5, R*Tree) travel as their shadow tables, byte for
 * byte: the restore copies the index instead of re-tokenising every document, the stock shell
 * loads the same script, and the module's own integrity check guards the copied index.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { SqliteEngine } from "../../../src/engines/sqlite/sqlite_engine.ts";
import { IntegrityError } from "../../../src/core/errors.ts";
import { compareDatabases } from "../../helpers/sqlite_compare.ts";

const engine = new SqliteEngine();
const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "backup-manager-fts-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Dumps `database`; returns the SQL text. */
async function dump(database: string): Promise<string> {
  const chunks: Uint8Array[] = [];
  await engine.dump(database, (chunk) => {
    chunks.push(chunk.slice());
    return Promise.resolve();
  });
  return chunks.map((c) => decoder.decode(c, { stream: true })).join("") + decoder.decode();
}

/** Restores `sql` (gzipped here) through our engine into `target`. */
async function restore(sql: string, target: string): Promise<void> {
  const gz = gzipSync(encoder.encode(sql));
  async function* pieces() {
    for (let i = 0; i < gz.length; i += 4096) yield gz.subarray(i, i + 4096);
  }
  await engine.restore(target, pieces());
}

/** `gunzip -c | sqlite3 target`, as a user without this tool would. */
async function restoreWithStockShell(sql: string, dir: string, target: string): Promise<void> {
  const gzFile = join(dir, `${crypto.randomUUID()}.sql.gz`);
  await Deno.writeFile(gzFile, gzipSync(encoder.encode(sql)));
  const output = await new Deno.Command("sh", {
    args: ["-c", 'gunzip -c "$1" | sqlite3 "$2"', "sh", gzFile, target],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(decoder.decode(output.stderr), "");
  assert.equal(output.code, 0);
}

/** Every row of `table` as text (types and hex of the bytes, so nothing is lost), sorted. */
function rowsOf(path: string, table: string): string[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const columns = db.prepare("SELECT name FROM pragma_table_info(?)").all(table)
      .map((c) => `"${String(c.name).replaceAll('"', '""')}"`);
    const quoted = `"${table.replaceAll('"', '""')}"`;
    return db.prepare(
      `SELECT ${
        columns.map((c) => `typeof(${c}) || ':' || coalesce(hex(${c}), '')`).join(" || '|' || ")
      } AS r FROM ${quoted} ORDER BY r`,
    ).all().map((r) => String(r.r));
  } finally {
    db.close();
  }
}

function shadowTables(path: string): string[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db.prepare("SELECT name FROM pragma_table_list WHERE type = 'shadow' ORDER BY name")
      .all().map((r) => String(r.name));
  } finally {
    db.close();
  }
}

/**
 * One table of each kind, filled so that a rebuilt index would be laid out differently from the
 * original: many small transactions (one FTS5 segment each, automerge off), deletes and updates
 * (FTS5 tombstones and FTS4 deleted-doclists), a custom `rank`.
 */
function createVirtualTables(path: string): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(`
      CREATE VIRTUAL TABLE notes USING fts5 (title, body, tokenize = 'porter unicode61');
      INSERT INTO notes (notes, rank) VALUES ('automerge', 0);
      INSERT INTO notes (notes, rank) VALUES ('rank', 'bm25(10.0, 1.0)');
      CREATE VIRTUAL TABLE tags USING fts5 (tag, detail = none, columnsize = 0, prefix = '2 3');
      CREATE TABLE docs (id INTEGER PRIMARY KEY, body TEXT);
      CREATE VIRTUAL TABLE docs_index USING fts5 (body, content = 'docs', content_rowid = 'id');
      CREATE VIRTUAL TABLE search USING fts5 (body, content = '');
      CREATE VIRTUAL TABLE legacy USING fts4 (title, body);
      CREATE VIRTUAL TABLE older USING fts3 (body);
      CREATE VIRTUAL TABLE boxes USING rtree (id, min_x, max_x, min_y, max_y, +label);
      CREATE VIRTUAL TABLE cells USING rtree_i32 (id, x0, x1);
    `);
    const words = ["alpha", "beta", "gamma", "delta", "émigré", "zeta", "running", "runs"];
    for (let round = 0; round < 20; round++) {
      db.exec("BEGIN");
      for (let i = 0; i < 25; i++) {
        const n = round * 25 + i + 1;
        const text = Array.from({ length: 12 }, (_, k) => words[(n * 7 + k * 3) % words.length])
          .join(" ");
        db.prepare("INSERT INTO notes (rowid, title, body) VALUES (?, ?, ?)").run(n, `t${n}`, text);
        db.prepare("INSERT INTO tags (tag) VALUES (?)").run(`${words[n % 8]} x${n % 13}`);
        db.prepare("INSERT INTO docs (id, body) VALUES (?, ?)").run(n * 2, text);
        db.prepare("INSERT INTO docs_index (rowid, body) VALUES (?, ?)").run(n * 2, text);
        db.prepare("INSERT INTO search (rowid, body) VALUES (?, ?)").run(n, text);
        db.prepare("INSERT INTO legacy (docid, title, body) VALUES (?, ?, ?)").run(
          n,
          `t${n}`,
          text,
        );
        db.prepare("INSERT INTO older (body) VALUES (?)").run(text);
        db.prepare("INSERT INTO boxes VALUES (?, ?, ?, ?, ?, ?)").run(
          n,
          n / 3,
          n / 3 + 1.5,
          -n,
          -n + 0.25,
          `box ${n}`,
        );
        db.prepare("INSERT INTO cells VALUES (?, ?, ?)").run(n, n, n + 10);
      }
      db.exec("COMMIT");
    }
    db.exec(`
      DELETE FROM notes WHERE rowid % 7 = 0;
      UPDATE notes SET body = body || ' updated' WHERE rowid % 11 = 0;
      DELETE FROM legacy WHERE docid % 9 = 0;
      DELETE FROM boxes WHERE id % 4 = 0;
    `);
  } finally {
    db.close();
  }
}

Deno.test("FTS3/4/5 and R*Tree tables come back with their shadow tables byte for byte, through our restore and the stock shell", async () => {
  await withTempDir(async (dir) => {
    const original = join(dir, "original.db");
    createVirtualTables(original);
    const sql = await dump(original);
    await restore(sql, join(dir, "ours.db"));
    await restoreWithStockShell(sql, dir, join(dir, "stock.db"));
    const shadows = shadowTables(original);
    assert.ok(shadows.length >= 25, shadows.join(", "));
    for (const copy of ["ours.db", "stock.db"]) {
      assert.deepEqual(shadowTables(join(dir, copy)), shadows);
      for (const shadow of shadows) {
        assert.deepEqual(rowsOf(join(dir, copy), shadow), rowsOf(original, shadow), shadow);
      }
      assert.deepEqual(compareDatabases(original, join(dir, copy)), [], copy);
    }
  });
});

Deno.test("the dump writes no document into an FTS table and asks for no rebuild: the index is copied", async () => {
  await withTempDir(async (dir) => {
    const original = join(dir, "original.db");
    createVirtualTables(original);
    const sql = await dump(original);
    for (const table of ["notes", "tags", "docs_index", "search", "legacy", "older", "boxes"]) {
      assert.doesNotMatch(sql, new RegExp(`INSERT INTO "${table}"[ (]`), table);
      assert.match(sql, new RegExp(`DELETE FROM "${table}_[a-z]+";\\n`), table);
    }
    assert.doesNotMatch(sql, /'rebuild'/);
    assert.doesNotMatch(sql, /writable_schema/); // every module here is known: no declaration trick
  });
});

Deno.test("the row counts of virtual tables come from their shadow tables and match the module's own", async () => {
  await withTempDir(async (dir) => {
    const original = join(dir, "original.db");
    createVirtualTables(original);
    const info = await engine.describe(original);
    const rows = Object.fromEntries(info.tables.map((t) => [t.name, t.rows]));
    const db = new DatabaseSync(original, { readOnly: true });
    try {
      for (const table of ["notes", "tags", "docs_index", "search", "older", "boxes", "cells"]) {
        const n = Number(db.prepare(`SELECT count(*) AS n FROM "${table}"`).get()?.n);
        assert.equal(rows[table], n, table);
      }
      assert.equal(rows.legacy, 500 - Math.floor(500 / 9));
      assert.equal(rows.notes, 500 - Math.floor(500 / 7));
    } finally {
      db.close();
    }
  });
});

/** The ways a copied index can disagree with what it indexes, and what SQLite then reports. */
const DAMAGES = [
  {
    name: "an FTS5 document changed after its index was written",
    edit: (sql: string) => sql.replace(/(INSERT INTO "notes_content"[^\n]*?'t3',')/, "$1zzz "),
    problem: /malformed inverted index for FTS5 table main\.notes/,
  },
  {
    name: "an FTS4 document changed after its index was written",
    edit: (sql: string) => sql.replace(/(INSERT INTO "legacy_content"[^\n]*?'t3',')/, "$1zzz "),
    problem: /malformed inverted index for FTS4 table main\.legacy/,
  },
  {
    name: "an R*Tree entry missing from its rowid map",
    edit: (sql: string) =>
      sql.replace(/(INSERT INTO "boxes_rowid"[^\n]*?VALUES)\(1,[^)]*\),/, "$1"),
    problem: /In RTree main\.boxes/,
  },
];

for (const damage of DAMAGES) {
  Deno.test(`a restore refuses ${damage.name} and leaves nothing behind`, async () => {
    await withTempDir(async (dir) => {
      const original = join(dir, "original.db");
      createVirtualTables(original);
      const sql = await dump(original);
      const damaged = damage.edit(sql);
      assert.notEqual(damaged, sql, "the edit applies");
      const target = join(dir, "restored", "app.db");
      const error = await restore(damaged, target).then(() => undefined, (e) => e);
      assert.ok(error instanceof IntegrityError, String(error));
      assert.match(
        error.message,
        /^Cannot restore: the restored database fails its integrity check \(/,
      );
      assert.match(error.message, damage.problem);
      assert.deepEqual([...Deno.readDirSync(join(dir, "restored"))], []);
    });
  });
}
