import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { SqliteEngine } from "../../../src/engines/sqlite/sqlite_engine.ts";
import { usesRollbackJournal } from "../../../src/engines/sqlite/_snapshot.ts";
import { withWorkspace } from "../../helpers/workspace.ts";

/** A database of about 5 MB in `journal` mode, so the dump hands out many chunks. */
function makeDatabase(path: string, journal: string): void {
  const db = new DatabaseSync(path);
  db.exec(`PRAGMA journal_mode = ${journal};
    CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT);
    WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000)
    INSERT INTO t SELECT i, hex(randomblob(120)) FROM c;`);
  db.close();
}

/** Dumps `path`; at the first chunk, another connection commits a row without waiting at all. */
async function dumpWhileWriting(path: string) {
  let text = "";
  let scratchSeen: string[] | undefined;
  let writeError: string | undefined;
  await new SqliteEngine().dump(path, async (chunk) => {
    text += new TextDecoder().decode(chunk);
    if (scratchSeen) return;
    scratchSeen = [];
    for await (const entry of Deno.readDir(join(path, ".."))) {
      if (entry.name.includes(".bm-scratch.")) scratchSeen.push(entry.name);
    }
    const writer = new DatabaseSync(path, { timeout: 0 });
    try {
      writer.exec("INSERT INTO t (id, body) VALUES (999999, 'written during the dump')");
    } catch (error) {
      writeError = String(error);
    } finally {
      writer.close();
    }
    await Promise.resolve();
  });
  const left: string[] = [];
  for await (const entry of Deno.readDir(join(path, ".."))) {
    if (entry.name.includes(".bm-")) left.push(entry.name);
  }
  return { text, scratchSeen: scratchSeen ?? [], writeError, left };
}

Deno.test("a rollback-journal dump reads a snapshot copy, so a writer commits during it at once", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, "delete");
    const { text, scratchSeen, writeError, left } = await dumpWhileWriting(ws.database);
    assert.equal(writeError, undefined, "the writer was locked out by the dump");
    assert.equal(scratchSeen.length, 1, "no snapshot beside the database during the dump");
    assert.match(scratchSeen[0], /^\.app\.db\.bm-scratch\.[\w-]+\.\d+\.\d+$/);
    assert.deepEqual(left, [], "the snapshot outlived the dump");
    assert.doesNotMatch(text, /written during the dump/, "the dump is not one snapshot");
    assert.match(text, /INSERT INTO/);
  });
});

Deno.test("a WAL dump reads the database itself (writers never wait for readers there)", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, "wal");
    const { text, scratchSeen, writeError } = await dumpWhileWriting(ws.database);
    assert.equal(writeError, undefined);
    assert.deepEqual(scratchSeen, []);
    assert.doesNotMatch(text, /written during the dump/);
  });
});

Deno.test("usesRollbackJournal() is true for the rollback-journal modes, false for WAL and memory", async () => {
  await withWorkspace((ws) => {
    const cases: [string, boolean][] = [
      ["delete", true],
      ["truncate", true],
      ["persist", true],
      ["wal", false],
    ];
    for (const [mode, expected] of cases) {
      const path = join(ws.root, `${mode}.db`);
      const db = new DatabaseSync(path);
      db.exec(`PRAGMA journal_mode = ${mode}; CREATE TABLE t (x)`);
      assert.equal(usesRollbackJournal(db), expected, mode);
      db.close();
    }
    const memory = new DatabaseSync(":memory:");
    assert.equal(usesRollbackJournal(memory), false, "memory");
    memory.close();
    return Promise.resolve();
  });
});
