/**
 * `diff` and `extract` on SQLite through the command line, with the shapes real tables have
 * (WITHOUT ROWID, odd names, generated columns, BLOBs, NULLs, big integers, float extremes, text
 * with newlines, quotes, NUL and invalid UTF-8): extracted rows load back into the same bits, csv
 * and jsonl say what they hold, `--where` is evaluated by SQLite and can touch nothing, mistakes
 * are one line with their exit code, and diff reports rows, tables, columns and migrations.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { runCli } from "../helpers/cli.ts";
import { readTableRows } from "../helpers/sqlite_compare.ts";
import { sha256File, withWorkspace, type Workspace } from "../helpers/workspace.ts";
import { ExitCode } from "../../src/core/errors.ts";

const ODD = 'Odd "name" é';

const SCHEMA = `
  CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, score REAL, big INTEGER, data BLOB,
    name_len INTEGER GENERATED ALWAYS AS (length(name)) VIRTUAL);
  CREATE TABLE kv (k TEXT PRIMARY KEY, v) WITHOUT ROWID;
  CREATE TABLE "${ODD.replaceAll('"', '""')}" (x);
  CREATE TABLE schema_migrations (version TEXT PRIMARY KEY);
`;

function makeApp(path: string): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(SCHEMA);
    db.exec(`
      INSERT INTO users (id, name, score, big, data) VALUES
        (1, 'plain', 1.5, 9223372036854775807, X'00FF10'),
        (2, NULL, -1e308, -9223372036854775808, NULL),
        (3, 'line one
line two, "quoted", ''single''', 5e-324, 0, X''),
        (4, '', 0.1, 9007199254740993, zeroblob(3)),
        (5, 'nul' || char(0) || 'inside', 3.0, 1, X'41'),
        (6, CAST(X'C328' AS TEXT), 2.5e-10, 2, NULL);
      INSERT INTO kv VALUES ('a', 1), ('b', 'two'), ('c', NULL), ('d', 4.5), ('e', X'BEEF');
      INSERT INTO "${ODD.replaceAll('"', '""')}" VALUES (1), ('ü');
      INSERT INTO schema_migrations VALUES ('20261101_init'), ('20261120_users');
    `);
  } finally {
    db.close();
  }
}

async function backup(ws: Workspace): Promise<string> {
  const result = await runCli([
    "create",
    "--database",
    ws.database,
    "--dir",
    ws.dir,
    "--format",
    "json",
  ]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout).id;
}

function extract(ws: Workspace, id: string, args: string[]) {
  return runCli(["extract", id, "--database", ws.database, "--dir", ws.dir, ...args]);
}

async function sqlite3(path: string, input: string): Promise<void> {
  const child = new Deno.Command("sqlite3", { args: [path], stdin: "piped", stderr: "piped" })
    .spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const out = await child.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

Deno.test("extract --format sql puts every row back bit for bit, for each table shape", async () => {
  await withWorkspace(async (ws) => {
    makeApp(ws.database);
    const id = await backup(ws);
    for (const table of ["users", "kv", ODD]) {
      const result = await extract(ws, id, ["--table", table]);
      assert.equal(result.code, 0, result.stderr);
      const target = join(ws.root, `back-${table.length}.db`);
      await sqlite3(target, SCHEMA + result.stdout);
      assert.deepEqual(readTableRows(target, table), readTableRows(ws.database, table), table);
    }
  });
});

Deno.test("extract --format csv and jsonl say what the rows hold", async () => {
  await withWorkspace(async (ws) => {
    makeApp(ws.database);
    const id = await backup(ws);
    const csv = await extract(ws, id, ["--table", "users", "--format", "csv"]);
    assert.equal(csv.code, 0, csv.stderr);
    const lines = csv.stdout.split("\r\n").length > 1 ? csv.stdout.split("\r\n") : csv.stdout
      .split("\n");
    assert.equal(lines[0], "id,name,score,big,data");
    assert.ok(csv.stdout.includes('"line one\nline two, ""quoted"", \'single\'"'), csv.stdout);
    assert.match(csv.stdout, /^2,,-1e\+308,-9223372036854775808,/m, "NULL is an empty field");
    assert.match(csv.stdout, /^4,"",/m, 'the empty string is ""');

    const jsonl = await extract(ws, id, ["--table", "users", "--format", "jsonl"]);
    assert.equal(jsonl.code, 0, jsonl.stderr);
    const rows = jsonl.stdout.trim().split("\n").map((line) => JSON.parse(line));
    assert.equal(rows.length, 6);
    assert.deepEqual(rows[0], {
      id: 1,
      name: "plain",
      score: 1.5,
      big: "9223372036854775807",
      data: "AP8Q",
    });
    assert.equal(rows[3].big, "9007199254740993", "past 2^53: a string, exact");
    assert.equal(rows[1].name, null);
    assert.equal(rows[4].name, "nul\u0000inside");
    assert.equal(rows[5].name, "\ufffd(", "invalid UTF-8: U+FFFD in csv and jsonl");
    assert.ok(!("name_len" in rows[0]), "generated columns are not rows' data");
  });
});

Deno.test("extract --where is evaluated by SQLite, on a copy: the live database is never touched", async () => {
  await withWorkspace(async (ws) => {
    makeApp(ws.database);
    const id = await backup(ws);
    const before = await sha256File(ws.database);
    const some = await extract(ws, id, ["--table", "users", "--where", "id IN (1, 3) OR big < 0"]);
    assert.equal(some.code, 0, some.stderr);
    assert.equal(some.stdout.match(/^INSERT INTO/gm)?.length, 3);

    const bad = await extract(ws, id, ["--table", "users", "--where", "id >"]);
    assert.equal(bad.code, ExitCode.Usage);
    assert.match(bad.stderr, /^Error: Cannot extract from backup ".*": --where is not a condition/);
    assert.equal(bad.stderr.trim().split("\n").length, 1);

    for (
      const where of [
        "1); DROP TABLE users; --",
        "(SELECT count(*) FROM pragma_table_info('users')) > 0",
      ]
    ) {
      const result = await extract(ws, id, ["--table", "users", "--where", where]);
      assert.ok([0, ExitCode.Usage].includes(result.code), `${where}: ${result.stderr}`);
    }
    assert.equal(await sha256File(ws.database), before);
  });
});

Deno.test("extract: a missing table exits 3 with a suggestion; --output is 0600 and never left by a damaged backup", async () => {
  await withWorkspace(async (ws) => {
    makeApp(ws.database);
    const id = await backup(ws);
    const missing = await extract(ws, id, ["--table", "user"]);
    assert.equal(missing.code, ExitCode.NotFound);
    assert.match(missing.stderr, /"user".*did you mean "users"/);

    const output = join(ws.root, "users.sql");
    const ok = await extract(ws, id, ["--table", "users", "--output", output]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await Deno.stat(output)).mode! & 0o777, 0o600);
    await Deno.remove(output);

    const data = join(ws.dir, `${id}.sql.gz`);
    const bytes = await Deno.readFile(data);
    bytes[bytes.length - 12] ^= 0xff;
    await Deno.writeFile(data, bytes);
    const damaged = await extract(ws, id, ["--table", "kv", "--output", output]);
    assert.equal(damaged.code, ExitCode.Integrity, damaged.stderr);
    await assert.rejects(Deno.stat(output), Deno.errors.NotFound);
    const names = [];
    for await (const e of Deno.readDir(ws.root)) names.push(e.name);
    assert.ok(!names.some((n) => n.startsWith("users.sql")), names.join());
  });
});

Deno.test("diff: rows, tables and columns on one side, the migration version; exit 0 same, 1 different", async () => {
  await withWorkspace(async (ws) => {
    makeApp(ws.database);
    const id = await backup(ws);
    const diff = (extra: string[] = []) =>
      runCli(["diff", id, "--database", ws.database, "--dir", ws.dir, ...extra]);
    const same = await diff();
    assert.equal(same.code, 0, same.stdout + same.stderr);

    const db = new DatabaseSync(ws.database);
    db.exec(`DELETE FROM users WHERE id > 4; ALTER TABLE kv ADD COLUMN w;
      CREATE TABLE audit_log (at TEXT); DROP TABLE "${ODD.replaceAll('"', '""')}";
      INSERT INTO schema_migrations VALUES ('20261201_audit');`);
    db.close();
    const text = await diff();
    assert.equal(text.code, 1, text.stderr);
    assert.match(text.stdout, /^users +6 +4 +-2$/m);
    assert.match(text.stdout, /^audit_log +- +0 +database only$/m);
    assert.match(text.stdout, /kv: column "w" +only in the database/);
    assert.match(
      text.stdout,
      /Migration: 20261120_users \(schema_migrations\) in the backup, 20261201_audit \(schema_migrations\) in the database/,
    );

    const json = JSON.parse((await diff(["--format", "json"])).stdout);
    assert.equal(json.equal, false);
    const byName = Object.fromEntries(
      json.tables.map((t: { name: string }) => [t.name, t]),
    );
    assert.deepEqual(
      [
        byName.users.status,
        byName.users.backupRows,
        byName.users.liveRows,
        byName.users.difference,
      ],
      ["changed", 6, 4, -2],
    );
    assert.equal(byName[ODD].status, "backup-only");
    assert.equal(byName.audit_log.status, "live-only");
    assert.deepEqual(byName.kv.liveOnlyColumns, [{ name: "w", type: "" }]);
  });
});

Deno.test("with several databases, diff and extract find the series that holds the id", async () => {
  await withWorkspace(async (ws) => {
    makeApp(join(ws.root, "shop.db"));
    makeApp(join(ws.root, "blog.db"));
    const glob = join(ws.root, "*.db");
    const created = await runCli(["create", "--database", glob, "--dir", ws.dir]);
    assert.equal(created.code, 0, created.stderr);
    const blogId = (await Array.fromAsync(Deno.readDir(join(ws.dir, "blog"))))
      .map((e) => e.name).find((n) => n.endsWith(".meta.json"))!.split(".")[0];
    const rows = await runCli([
      "extract",
      blogId,
      "--database",
      glob,
      "--dir",
      ws.dir,
      "--series",
      "blog",
      "--table",
      "kv",
      "--format",
      "csv",
    ]);
    assert.equal(rows.code, 0, rows.stderr);
    assert.match(rows.stdout, /^k,v\r?\n/);
    const diff = await runCli([
      "diff",
      blogId,
      "--database",
      glob,
      "--dir",
      ws.dir,
      "--series",
      "blog",
    ]);
    assert.equal(diff.code, 0, diff.stdout + diff.stderr);
  });
});
