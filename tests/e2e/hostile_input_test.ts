/**
 * A backup is input, not code: through the real command line, backups whose data file was
 * replaced and whose sidecar was re-sealed to match (as anyone who can write the store can do)
 * are refused with one line and exit 5, nothing is created or replaced, no temporary file is
 * left, and the restore's memory stays bounded (`/usr/bin/time -f %M`) for a 4 MB gzip of one
 * endless INSERT and for a gzip bomb.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { parseMeta, serializeMeta } from "../../src/core/backup_file.ts";
import { ExitCode } from "../../src/core/errors.ts";
import { ENV_SETTINGS } from "../../src/config/environment.ts";
import { FakeClock, runCli, SCRIPT_PATH } from "../helpers/cli.ts";
import { listNames, makeDatabase, sha256File, withWorkspace } from "../helpers/workspace.ts";
import { startCluster } from "../helpers/pg_cluster.ts";
import { createDatabase, psql, uniqueName } from "../helpers/pg_tools.ts";
import { gunzipSync } from "node:zlib";

/** Peak RSS a hostile restore may reach (a normal small restore is about 100-150 MB). */
const MAX_RSS_BYTES = 400 << 20;

/** Writes `gz` as backup `id`'s data file and re-seals its sidecar to match; `raw` its SQL size. */
async function replaceData(dir: string, id: string, gz: Uint8Array, raw: number): Promise<void> {
  await Deno.writeFile(join(dir, `${id}.sql.gz`), gz);
  const path = join(dir, `${id}.meta.json`);
  const meta = parseMeta(await Deno.readFile(path), id);
  meta.sizes = { raw, compressed: gz.length };
  meta.file.sha256 = createHash("sha256").update(gz).digest("hex");
  delete meta.verification;
  await Deno.writeFile(path, serializeMeta(meta));
}

/** `restore` as a real process under `/usr/bin/time`: exit code, stderr, peak RSS in bytes. */
async function timedRestore(
  args: string[],
  tmp: string,
): Promise<{ code: number; stderr: string; rssBytes: number }> {
  const env = Deno.env.toObject();
  for (const name of Object.keys(ENV_SETTINGS)) delete env[name];
  // its own temporary directory: the run's sweep looks only at its own scratch
  env.TMPDIR = tmp;
  const output = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "rss %M", Deno.execPath(), "run", "-A", SCRIPT_PATH, "restore", ...args],
    env: { ...env, RUST_BACKTRACE: "0", NO_COLOR: "1" },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  const rss = /(?:Command exited with non-zero status \d+\n)?rss (\d+)\n$/.exec(stderr);
  assert.ok(rss, stderr);
  return {
    code: output.code,
    stderr: stderr.slice(0, rss.index),
    rssBytes: Number(rss[1]) * 1024,
  };
}

/** `member` repeated: concatenated gzip members are one valid gzip stream. */
function repeated(member: Uint8Array, times: number): Uint8Array {
  const out = new Uint8Array(member.length * times);
  for (let i = 0; i < times; i++) out.set(member, i * member.length);
  return out;
}

const HEADER = "-- backup-manager SQLite dump\nPRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n";

/** A workspace with one good backup of a small database; returns its id. */
async function withBackup(
  fn: (ws: { root: string; dir: string; database: string }, id: string) => Promise<void>,
): Promise<void> {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 50, events: 200 });
    const created = await runCli(
      ["create", "--database", ws.database, "--dir", ws.dir, "--format", "json"],
      { clock: new FakeClock() },
    );
    assert.equal(created.code, 0, created.stderr);
    await fn(ws, JSON.parse(created.stdout).id);
  });
}

Deno.test("an 8 MB gzip of one endless 4 GiB INSERT and a gzip bomb fail with bounded memory and leave nothing", async () => {
  await withBackup(async (ws, id) => {
    const target = join(ws.root, "restored.db");
    const tmp = join(ws.root, "tmp");
    await Deno.mkdir(tmp);
    const rootBefore = await listNames(ws.root);
    // 4 GiB of SQL in 8 MB (deflate's best is about 1:1000): one INSERT whose values never
    // end, 64 MiB per gzip member
    const values = new TextEncoder().encode(",(1,'x',0)".repeat((64 << 20) / 10));
    const start = gzipSync(
      new TextEncoder().encode(HEADER + "INSERT INTO \"accounts\" VALUES(1,'x',0)"),
    );
    const member = gzipSync(values, { level: 9 });
    const endless = new Uint8Array([...start, ...repeated(member, 64)]);
    assert.ok(endless.length < 9e6, `${endless.length} bytes`);
    // re-sealed claiming the whole 4 GiB: only the statement bound can stop it
    await replaceData(ws.dir, id, endless, 64 * values.length);
    const t0 = performance.now();
    const insert = await timedRestore([id, "--to", target, "--dir", ws.dir], tmp);
    assert.equal(
      insert.stderr,
      'Error: Cannot restore: the statement at line 4 is longer than 16777216 bytes, more than backup-manager writes for this backup ("INSERT INTO "accounts" …"): refusing to read on\n',
    );
    assert.equal(insert.code, ExitCode.Integrity);
    assert.ok(insert.rssBytes < MAX_RSS_BYTES, `peak RSS ${insert.rssBytes} bytes`);
    assert.ok(performance.now() - t0 < 60_000);
    assert.deepEqual(await listNames(ws.root), rootBefore, "no temporary file is left");
    assert.deepEqual(await listNames(tmp), []);
    console.log(`endless INSERT: peak RSS ${(insert.rssBytes / 2 ** 20).toFixed(0)} MiB`);

    // 4 GiB of blanks in 8 MB, its sidecar claiming a small raw size
    const blanks = gzipSync(new Uint8Array(64 << 20).fill(0x20), { level: 9 });
    const bomb = new Uint8Array([...gzipSync(HEADER), ...repeated(blanks, 64)]);
    const raw = 5000;
    await replaceData(ws.dir, id, bomb, raw);
    const exploded = await timedRestore([id, "--to", target, "--dir", ws.dir], tmp);
    assert.equal(
      exploded.stderr,
      `Error: Cannot restore: the backup expands past the size its sidecar records (stopped at ${
        raw + (1 << 20)
      } bytes of SQL)\n`,
    );
    assert.equal(exploded.code, ExitCode.Integrity);
    assert.ok(exploded.rssBytes < MAX_RSS_BYTES, `peak RSS ${exploded.rssBytes} bytes`);
    assert.deepEqual(await listNames(ws.root), rootBefore, "no temporary file is left");
    assert.deepEqual(await listNames(tmp), []);
    console.log(`gzip bomb: peak RSS ${(exploded.rssBytes / 2 ** 20).toFixed(0)} MiB`);
  });
});

Deno.test("ATTACH, VACUUM INTO and load_extension in a re-sealed backup are refused naming the line, creating nothing", async () => {
  await withBackup(async (ws, id) => {
    const outside = join(ws.root, "outside.db");
    const target = join(ws.root, "restored.db");
    const rootBefore = await listNames(ws.root);
    const cases: [string, string][] = [
      [
        `ATTACH DATABASE '${outside}' AS x;\nCREATE TABLE x.t(a);\n`,
        `ATTACH DATABASE '${outside.slice(0, 23)} …`,
      ],
      [`VACUUM INTO '${outside}';\n`, `VACUUM INTO '${outside.slice(0, 27)} …`],
      ["SELECT load_extension('/tmp/libevil');\n", "SELECT load_extension('/tmp/libevil')"],
    ];
    for (const [body, words] of cases) {
      const sql = HEADER + 'CREATE TABLE "accounts"(a);\n' + body + "COMMIT;\n";
      const gz = gzipSync(new TextEncoder().encode(sql));
      await replaceData(ws.dir, id, gz, sql.length);
      const result = await runCli(["restore", id, "--to", target, "--dir", ws.dir], {
        clock: new FakeClock(),
      });
      assert.equal(
        result.stderr,
        `Error: Cannot restore: line 5 is not something backup-manager writes ("${words}"): refusing to run it\n`,
      );
      assert.equal(result.code, ExitCode.Integrity);
      assert.deepEqual(await listNames(ws.root), rootBefore, "nothing is created");
    }
  });
});

Deno.test("a re-sealed backup with other tables than its sidecar lists is refused, the target untouched", async () => {
  await withBackup(async (ws, id) => {
    const rootBefore = await listNames(ws.root);
    const before = await sha256File(ws.database);
    const sql = HEADER + 'CREATE TABLE "orders"(id INTEGER PRIMARY KEY);\n' +
      'INSERT INTO "orders"("id") VALUES(1),(2),(3);\nCOMMIT;\n';
    const gz = gzipSync(new TextEncoder().encode(sql));
    await replaceData(ws.dir, id, gz, sql.length);
    const result = await runCli(
      ["restore", id, "--force", "--database", ws.database, "--dir", ws.dir],
      { clock: new FakeClock() },
    );
    assert.equal(
      result.stderr,
      'Error: Cannot restore: table "accounts" of the backup\'s sidecar is not in the restored database (the SQL is not what the sidecar describes; nothing was replaced)\n',
    );
    assert.equal(result.code, ExitCode.Integrity);
    assert.equal(await sha256File(ws.database), before);
    assert.deepEqual(await listNames(ws.root), rootBefore, "no temporary file is left");
  });
});

Deno.test("verify --restore-test reads a backup with an endless statement only as far as its sidecar allows", async () => {
  await withBackup(async (ws, id) => {
    const sql = HEADER + "INSERT INTO \"accounts\" VALUES(1,'x',0)" + ",(1,'x',0)".repeat(4 << 20);
    const gz = gzipSync(new TextEncoder().encode(sql));
    await replaceData(ws.dir, id, gz, sql.length);
    const result = await runCli(["verify", id, "--restore-test", "--dir", ws.dir], {
      clock: new FakeClock(),
    });
    assert.equal(result.code, ExitCode.Integrity, result.stdout);
    assert.match(
      result.stdout,
      /\n {2}FAIL restore test: Cannot restore: the statement at line 4 is longer than 16777216 bytes, more than backup-manager writes for this backup \("INSERT INTO "accounts" …"\): refusing to read on\n/,
    );
  });
});

Deno.test("PostgreSQL: an endless COPY row, a gzip bomb and other row counts, through the command line", async () => {
  const cluster = await startCluster();
  try {
    await withWorkspace(async (ws) => {
      const source = await createDatabase(cluster.url, uniqueName("app"));
      await psql(
        source,
        "CREATE TABLE accounts (id int PRIMARY KEY, name text);" +
          "INSERT INTO accounts SELECT g, 'n' || g FROM generate_series(1, 340) g;",
      );
      const common = ["--database", source, "--dir", ws.dir];
      const created = await runCli(["create", ...common, "--format", "json"]);
      assert.equal(created.code, 0, created.stderr);
      const id = JSON.parse(created.stdout).id;
      const sql = new TextDecoder().decode(
        gunzipSync(await Deno.readFile(join(ws.dir, `${id}.sql.gz`))),
      );
      const tmp = join(ws.root, "tmp");
      await Deno.mkdir(tmp);
      const databases = () =>
        psql(cluster.url, "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database");
      const before = await databases();
      const restore = (target: string) =>
        timedRestore([id, ...common, "--to", target, "--create"], tmp);

      // one COPY row of 4 GiB in 8 MB, the sidecar claiming its whole size
      const copy = /^COPY public\.accounts \(id, name\) FROM stdin;\n/m.exec(sql)!;
      const head = sql.slice(0, copy.index + copy[0].length) + "1\t";
      const filler = gzipSync(new Uint8Array(64 << 20).fill(0x76), { level: 9 });
      const endless = new Uint8Array([...gzipSync(head), ...repeated(filler, 64)]);
      await replaceData(ws.dir, id, endless, head.length + 64 * (64 << 20));
      const row = await restore(uniqueName("row"));
      const dataLine = sql.slice(0, copy.index).split("\n").length + 1;
      assert.equal(
        row.stderr,
        `Error: Cannot restore: the COPY data at line ${dataLine} holds a row longer than 16777216 bytes, more than backup-manager writes for this backup: refusing to read on\n`,
      );
      assert.equal(row.code, ExitCode.Integrity);
      assert.ok(row.rssBytes < MAX_RSS_BYTES, `peak RSS ${row.rssBytes} bytes`);
      console.log(`endless COPY row: peak RSS ${(row.rssBytes / 2 ** 20).toFixed(0)} MiB`);

      // the true SQL followed by 4 GiB of blank lines, the sidecar keeping its true size
      const bomb = new Uint8Array([
        ...gzipSync(sql),
        ...repeated(gzipSync(new Uint8Array(64 << 20).fill(0x0a), { level: 9 }), 64),
      ]);
      await replaceData(ws.dir, id, bomb, new TextEncoder().encode(sql).length);
      const exploded = await restore(uniqueName("bomb"));
      assert.match(
        exploded.stderr,
        /^Error: Cannot restore: the backup expands past the size its sidecar records \(stopped at \d+ bytes of SQL\)\n$/,
      );
      assert.equal(exploded.code, ExitCode.Integrity);
      assert.ok(exploded.rssBytes < MAX_RSS_BYTES, `peak RSS ${exploded.rssBytes} bytes`);
      console.log(`gzip bomb: peak RSS ${(exploded.rssBytes / 2 ** 20).toFixed(0)} MiB`);

      // the true SQL, its sidecar re-sealed with another row count
      const gz = gzipSync(sql);
      await replaceData(ws.dir, id, gz, new TextEncoder().encode(sql).length);
      const path = join(ws.dir, `${id}.meta.json`);
      const meta = parseMeta(await Deno.readFile(path), id);
      meta.tables[0].rows = 340_000;
      await Deno.writeFile(path, serializeMeta(meta));
      const counted = await runCli([
        "restore",
        id,
        ...common,
        "--to",
        uniqueName("rows"),
        "--create",
      ]);
      assert.equal(
        counted.stderr,
        'Error: Cannot restore: restored table "public.accounts" has 340 rows, the backup\'s sidecar says 340,000 (the SQL is not what the sidecar describes; the database loaded for it was dropped, the target is as it was)\n',
      );
      assert.equal(counted.code, ExitCode.Integrity);
      assert.equal(await databases(), before, "no database is left behind");
      assert.deepEqual(await listNames(tmp), []);
    });
  } finally {
    await cluster.stop();
  }
});
