/**
 * The SQLite restore checks what it restored and treats the backup as input: real dumps, real
 * files. A sidecar that does not describe the SQL, statements our dumps never write, an endless
 * statement and a gzip bomb are each refused in one line, with the target untouched and no
 * temporary file (or file the script names) left behind.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { SqliteEngine } from "../../../src/engines/sqlite/sqlite_engine.ts";
import type { ExpectedContent } from "../../../src/engines/engine.ts";
import { IntegrityError } from "../../../src/core/errors.ts";
import { execSql, makeDatabase, sha256File } from "../../helpers/workspace.ts";

const engine = new SqliteEngine();
const encoder = new TextEncoder();

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "backup-manager-restore-check-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The gzip of `database`'s dump and what a sidecar would record of it. */
async function dumpOf(database: string): Promise<{ gz: Uint8Array; expected: ExpectedContent }> {
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  const summary = await engine.dump(database, (chunk) => {
    chunks.push(chunk.slice());
    return Promise.resolve();
  });
  const sql = new Uint8Array(await new Blob(chunks).arrayBuffer());
  return {
    gz: gzipSync(sql),
    expected: { tables: summary.tables, rawBytes: sql.length },
  };
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  for (let i = 0; i < bytes.length; i += 64 << 10) yield bytes.subarray(i, i + (64 << 10));
}

/** Restores and returns the error's message (failing the test when the restore succeeds). */
async function refusal(
  target: string,
  gz: Uint8Array,
  expected: ExpectedContent | undefined,
): Promise<string> {
  try {
    await engine.restore(target, once(gz), { replace: true, expected });
  } catch (error) {
    assert.ok(error instanceof IntegrityError, String(error));
    return error.message;
  }
  assert.fail("the restore succeeded");
}

Deno.test("a restore whose row counts differ from the sidecar's is refused and replaces nothing", async () => {
  await withTempDir(async (dir) => {
    const source = join(dir, "source.db");
    makeDatabase(source, { accounts: 50, events: 340 });
    const { gz, expected } = await dumpOf(source);
    const target = join(dir, "target.db");
    makeDatabase(target, { accounts: 1, events: 1 });
    const before = await sha256File(target);

    const forged = structuredClone(expected);
    forged.tables.find((t) => t.name === "events")!.rows = 340_000;
    assert.equal(
      await refusal(target, gz, forged),
      'Cannot restore: restored table "events" has 340 rows, the backup\'s sidecar says 340,000 (the SQL is not what the sidecar describes; nothing was replaced)',
    );
    assert.equal(await sha256File(target), before);
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort(), [
      "source.db",
      "target.db",
    ]);

    // the same backup with its own sidecar restores
    await engine.restore(target, once(gz), { replace: true, expected });
    assert.equal(
      (await engine.describe(target)).tables.find((t) => t.name === "events")?.rows,
      340,
    );
  });
});

Deno.test("a backup whose SQL holds other tables than its sidecar lists is refused", async () => {
  await withTempDir(async (dir) => {
    const source = join(dir, "source.db");
    makeDatabase(source);
    const other = join(dir, "other.db");
    makeDatabase(other);
    execSql(
      other,
      "CREATE TABLE orders (id INTEGER PRIMARY KEY); INSERT INTO orders DEFAULT VALUES",
    );
    const { expected } = await dumpOf(source);
    const { gz } = await dumpOf(other);
    const target = join(dir, "new.db");
    assert.equal(
      await refusal(target, gz, expected),
      'Cannot restore: restored table "orders" is not in the backup\'s sidecar (the SQL is not what the sidecar describes; nothing was replaced)',
    );
    const missing = {
      ...expected,
      tables: [...expected.tables, { name: "ledger", rows: 0, bytes: 0 }],
    };
    assert.match(
      await refusal(target, (await dumpOf(source)).gz, missing),
      /^Cannot restore: table "ledger" of the backup's sidecar is not in the restored database/,
    );
    await assert.rejects(Deno.stat(target), Deno.errors.NotFound);
  });
});

Deno.test("statements our dumps never write are refused naming their line, before they run", async () => {
  await withTempDir(async (dir) => {
    const outside = join(dir, "outside.db");
    const head = "-- backup-manager SQLite dump\nPRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n" +
      "CREATE TABLE t(a);\n";
    const cases: [string, string][] = [
      [`ATTACH DATABASE '${outside}' AS x;\nCREATE TABLE x.t(a);\n`, "ATTACH DATABASE '"],
      [`VACUUM INTO '${outside}';\n`, "VACUUM INTO '"],
      ["SELECT load_extension('/tmp/libevil.so');\n", "SELECT load_extension('/tmp/libevil.so')"],
      [
        "INSERT INTO t VALUES('a'),\n(LOAD_EXTENSION ('/tmp/libevil.so'));\n",
        "INSERT INTO t VALUES('a'), …",
      ],
      [
        "CREATE TRIGGER g AFTER INSERT ON t BEGIN SELECT \"load_extension\"('/tmp/e.so'); END;\n",
        "CREATE TRIGGER g AFTER INSERT ON t BEGIN …",
      ],
      [`PRAGMA temp_store_directory='${dir}';\n`, "PRAGMA temp_store_directory='"],
      ["PRAGMA main.journal_mode=DELETE;\n", "PRAGMA main.journal_mode=DELETE"],
      ["DETACH x;\n", "DETACH x"],
    ];
    const target = join(dir, "target.db");
    for (const [body, words] of cases) {
      const sql = head + "INSERT INTO t VALUES('load_extension(''x'')');\n" + body + "COMMIT;\n";
      const message = await refusal(target, gzipSync(encoder.encode(sql)), undefined);
      const escaped = words.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      assert.match(
        message,
        new RegExp(
          `^Cannot restore: line 6 is not something backup-manager writes \\("${escaped}.*"\\): refusing to run it$`,
        ),
        body,
      );
      assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), [], body);
    }
  });
});

Deno.test("a statement longer than the sidecar allows and a gzip bomb stop with one line", async () => {
  await withTempDir(async (dir) => {
    const target = join(dir, "target.db");
    const expected: ExpectedContent = {
      tables: [{ name: "t", rows: 1, bytes: 100 }],
      rawBytes: 200,
    };
    // one INSERT that never ends: 40 MiB of values, past 16 MiB (the sidecar's table is small)
    const start = "-- backup-manager SQLite dump\nBEGIN TRANSACTION;\nCREATE TABLE t(a);\n" +
      "INSERT INTO t VALUES(1)";
    const endless = gzipSync(encoder.encode(start + ",(1)".repeat(10 << 20)));
    assert.equal(
      await refusal(target, endless, { ...expected, rawBytes: 100 << 20 }),
      'Cannot restore: the statement at line 4 is longer than 16777216 bytes, more than backup-manager writes for this backup ("INSERT INTO t VALUES(1),(1),(1),(1),(1), …"): refusing to read on',
    );
    // the same file against its true raw size: it expands past what the sidecar records
    const bomb = gzipSync(new Uint8Array(64 << 20).fill(0x20));
    assert.equal(
      await refusal(target, bomb, expected),
      `Cannot restore: the backup expands past the size its sidecar records (stopped at ${
        200 + (1 << 20)
      } bytes of SQL)`,
    );
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), []);
  });
});

Deno.test("a restore fed node Buffer views of 256 KiB and more reads every piece", async () => {
  await withTempDir(async (dir) => {
    const source = join(dir, "source.db");
    makeDatabase(source, { accounts: 1, events: 0 });
    execSql(
      source,
      "CREATE TABLE b (v BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n " +
        "WHERE i < 2000) INSERT INTO b SELECT randomblob(1000) FROM n",
    );
    const { gz, expected } = await dumpOf(source);
    assert.ok(gz.length > 1 << 20, `${gz.length} bytes`);
    // views of one Buffer, as node streams hand them out: handing one to the reader thread must
    // not detach the buffer the next ones view
    const pieces = async function* () {
      for (let i = 0; i < gz.length; i += 300 << 10) yield gz.subarray(i, i + (300 << 10));
    };
    const target = join(dir, "target.db");
    await engine.restore(target, pieces(), { expected });
    assert.equal((await engine.describe(target)).tables.find((t) => t.name === "b")?.rows, 2000);
  });
});

Deno.test("a sidecar that lists an FTS table's shadow tables, as older ones did, still restores", async () => {
  await withTempDir(async (dir) => {
    const source = join(dir, "source.db");
    makeDatabase(source, { accounts: 2, events: 0 });
    execSql(
      source,
      "CREATE VIRTUAL TABLE docs USING fts5(body); " +
        "INSERT INTO docs(body) VALUES ('one'), ('two words'), ('three more words')",
    );
    const { gz, expected } = await dumpOf(source);
    assert.ok(expected.tables.some((t) => t.name === "docs"));
    const older = structuredClone(expected);
    older.tables.push({ name: "docs_content", rows: 3, bytes: 0 });
    const target = join(dir, "target.db");
    await engine.restore(target, once(gz), { expected: older });
    older.tables.at(-1)!.rows = 4;
    assert.match(
      await refusal(target, gz, older),
      /^Cannot restore: restored table "docs_content" has 3 rows, the backup's sidecar says 4 /,
    );
  });
});
