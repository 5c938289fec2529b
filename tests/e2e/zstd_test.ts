/**
 * Compression choice end to end, through the command line: every compression round trips on
 * both engines; `.sql.zst` files restore without this tool (`zstd -dc x.sql.zst | sqlite3 new.db`,
 * `| psql`), exactly as the README shows; our restore reads a file the zstd CLI compressed;
 * encrypted zstd; zstd backups in a real S3 bucket are listed, verified, restored, copied and
 * cleaned up; the API serves `.sql.zst` downloads as `application/zstd`.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { FakeClock, runCli } from "../helpers/cli.ts";
import { makeDatabase, withWorkspace } from "../helpers/workspace.ts";
import { compareDatabases } from "../helpers/sqlite_compare.ts";
import { startCluster } from "../helpers/pg_cluster.ts";
import {
  createDatabase,
  databaseUrl,
  dropDatabase,
  PG_BIN,
  psql,
  uniqueName,
} from "../helpers/pg_tools.ts";
import { dataDigests } from "../helpers/pg_digests.ts";
import { ageKeygen, pipeline, resealSidecar, s3Env, tool, withBucket } from "../helpers/s3_cli.ts";
import { startApiFixture } from "../helpers/api_server.ts";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** A single-quoted shell word. */
const sh = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

/** The compressions a user can pick, the file each writes, and verify's name for its check. */
const COMPRESSIONS = [
  { flag: "gzip:1", suffix: ".sql.gz", check: "gzip", format: "gzip", level: 1 },
  { flag: "zstd", suffix: ".sql.zst", check: "zstd", format: "zstd", level: 3 },
  { flag: "zstd:19", suffix: ".sql.zst", check: "zstd", format: "zstd", level: 19 },
  { flag: "none", suffix: ".sql", check: "sql", format: "none", level: undefined },
] as const;

Deno.test("SQLite backups of every compression create, list, verify, restore and keep their names", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 300, events: 2000 });
    const clock = new FakeClock();
    for (const c of COMPRESSIONS) {
      clock.advance();
      const common = ["--database", ws.database, "--dir", ws.dir];
      const created = await runCli(
        ["create", ...common, "--compression", c.flag, "--jobs", "1", "--format", "json"],
        { clock },
      );
      assert.equal(created.code, 0, created.stderr);
      const meta = JSON.parse(created.stdout);
      assert.equal(meta.file.name, meta.id + c.suffix, c.flag);
      assert.equal(meta.file.compression, c.format);
      assert.equal(meta.file.compressionLevel, c.level);
      const stored = await Deno.readFile(join(ws.dir, meta.file.name));
      assert.equal(stored.length, meta.sizes.compressed);

      const verified = await runCli(["verify", meta.id, ...common, "--restore-test"], { clock });
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
      assert.match(
        verified.stdout,
        new RegExp(`\\n {2}ok {3}${c.check}: ${meta.sizes.raw} bytes of SQL\\n`),
      );

      const target = join(ws.root, `restored-${c.flag}.db`);
      const restored = await runCli(
        ["restore", meta.id, ...common, "--to", target, "--jobs", "2"],
        {
          clock,
        },
      );
      assert.equal(restored.code, 0, restored.stderr);
      assert.deepEqual(compareDatabases(ws.database, target), [], c.flag);
    }
    const listed = await runCli(["list", "--dir", ws.dir, "--format", "json"], { clock });
    const backups = JSON.parse(listed.stdout) as { id: string; state?: string }[];
    assert.equal(backups.length, COMPRESSIONS.length);
    const text = await runCli(["list", "--dir", ws.dir], { clock });
    assert.equal(
      text.stdout.match(/\sverified \(restore\)\s*$/gm)?.length,
      COMPRESSIONS.length,
      text.stdout,
    );
  });
});

Deno.test("the zstd CLI restores our backup: zstd -dc x.sql.zst | sqlite3 new.db", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 50, events: 3000 });
    const created = await runCli(
      [
        "create",
        "--database",
        ws.database,
        "--dir",
        ws.dir,
        "--compression",
        "zstd",
        "--format",
        "json",
      ],
    );
    assert.equal(created.code, 0, created.stderr);
    const meta = JSON.parse(created.stdout);
    await pipeline(`zstd -dc backups/${meta.id}.sql.zst | sqlite3 new.db`, ws.root);
    assert.deepEqual(compareDatabases(ws.database, join(ws.root, "new.db")), []);
    // and an uncompressed one is the SQL itself
    const plain = await runCli(
      [
        "create",
        "--database",
        ws.database,
        "--dir",
        ws.dir,
        "--compression",
        "none",
        "--format",
        "json",
      ],
      { clock: new FakeClock("2026-11-23T11:00:00Z") },
    );
    const none = JSON.parse(plain.stdout);
    await pipeline(`sqlite3 plain.db < backups/${none.id}.sql`, ws.root);
    assert.deepEqual(compareDatabases(ws.database, join(ws.root, "plain.db")), []);
  });
});

Deno.test("our restore reads a backup that the zstd CLI compressed, once its sidecar says so", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 25, events: 400 });
    const created = await runCli(
      [
        "create",
        "--database",
        ws.database,
        "--dir",
        ws.dir,
        "--compression",
        "none",
        "--format",
        "json",
      ],
    );
    assert.equal(created.code, 0, created.stderr);
    const id = JSON.parse(created.stdout).id;
    const plain = join(ws.dir, `${id}.sql`);
    await tool("zstd", ["-q", "-9", plain, "-o", `${plain}.zst`]);
    await Deno.remove(plain);
    const bytes = await Deno.readFile(`${plain}.zst`);
    const sidecar = join(ws.dir, `${id}.meta.json`);
    await Deno.writeFile(
      sidecar,
      resealSidecar(await Deno.readFile(sidecar), id, (m) => ({
        ...m,
        file: {
          ...m.file,
          name: `${id}.sql.zst`,
          compression: "zstd",
          compressionLevel: 9,
          sha256: sha256(bytes),
        },
        sizes: { ...m.sizes, compressed: bytes.length },
      })),
    );
    const verified = await runCli(["verify", id, "--dir", ws.dir]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    const target = join(ws.root, "restored.db");
    const restored = await runCli(["restore", id, "--dir", ws.dir, "--to", target]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual(compareDatabases(ws.database, target), []);
  });
});

Deno.test("PostgreSQL backups of every compression round trip, and zstd -dc | psql restores ours", async () => {
  const cluster = await startCluster();
  const source = uniqueName("app");
  const made: string[] = [];
  try {
    const sourceUrl = await createDatabase(cluster.url, source);
    await psql(
      sourceUrl,
      `CREATE TABLE notes (id int PRIMARY KEY, body text, at timestamptz);
       INSERT INTO notes SELECT g, 'note ' || g || E'\\n\\\\', now() FROM generate_series(1, 3000) g;
       CREATE TABLE blobs (id bigint, data bytea);
       INSERT INTO blobs SELECT g, sha256(g::text::bytea) FROM generate_series(1, 500) g;
       CREATE SEQUENCE tickets START 41; SELECT nextval('tickets');`,
    );
    const expected = await dataDigests(sourceUrl);
    await withWorkspace(async (ws) => {
      const common = ["--database", sourceUrl, "--dir", ws.dir];
      const clock = new FakeClock();
      let zstdFile = "";
      for (const c of COMPRESSIONS) {
        clock.advance();
        const created = await runCli(
          ["create", ...common, "--compression", c.flag, "--jobs", "2", "--format", "json"],
          { clock },
        );
        assert.equal(created.code, 0, created.stderr);
        const meta = JSON.parse(created.stdout);
        assert.equal(meta.file.name, meta.id + c.suffix);
        if (c.flag === "zstd") zstdFile = join(ws.dir, meta.file.name);
        const name = uniqueName("ours");
        made.push(name);
        const restored = await runCli(
          ["restore", meta.id, ...common, "--to", name, "--create", "--jobs", "1"],
          { clock },
        );
        assert.equal(restored.code, 0, restored.stderr);
        assert.deepEqual(await dataDigests(databaseUrl(cluster.url, name)), expected, c.flag);
      }
      const theirs = uniqueName("psql");
      made.push(theirs);
      const theirsUrl = await createDatabase(cluster.url, theirs);
      await pipeline(
        `zstd -dc ${sh(zstdFile)} | ${sh(join(PG_BIN, "psql"))} -X -q -v ON_ERROR_STOP=1` +
          ` --single-transaction -d ${sh(theirsUrl)}`,
      );
      assert.deepEqual(await dataDigests(theirsUrl), expected);
    });
  } finally {
    for (const name of [...made, source]) await dropDatabase(cluster.url, name).catch(() => {});
    await cluster.stop();
  }
});

Deno.test("an encrypted zstd backup is <id>.sql.zst.age: verified and restored with the key, and by age -d | zstd -dc | sqlite3", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 25, events: 500 });
    const key = await ageKeygen(ws.root);
    const env = { BACKUP_AGE_RECIPIENTS: key.recipient, BACKUP_COMPRESSION: "zstd:6" };
    const created = await runCli(
      ["create", "--database", ws.database, "--dir", ws.dir, "--format", "json"],
      { env },
    );
    assert.equal(created.code, 0, created.stderr);
    const meta = JSON.parse(created.stdout);
    assert.equal(meta.file.name, `${meta.id}.sql.zst.age`);
    assert.deepEqual([meta.file.compression, meta.file.compressionLevel], ["zstd", 6]);

    const verified = await runCli(
      ["verify", meta.id, "--dir", ws.dir, "--identity", key.identityFile, "--restore-test"],
      { env },
    );
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /\n {2}ok {3}decrypt and zstd: \d+ bytes of SQL\n/);
    const keyless = await runCli(["verify", meta.id, "--dir", ws.dir]);
    assert.match(keyless.stdout, /\n {2}ok {3}zstd: not checked: encrypted, and no identity/);

    const target = join(ws.root, "restored.db");
    const restored = await runCli(
      ["restore", meta.id, "--dir", ws.dir, "--to", target, "--identity", key.identityFile],
    );
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual(compareDatabases(ws.database, target), []);
    await pipeline(
      `age -d -i key.txt backups/${meta.file.name} | zstd -dc | sqlite3 by-hand.db`,
      ws.root,
    );
    assert.deepEqual(compareDatabases(ws.database, join(ws.root, "by-hand.db")), []);
  });
});

Deno.test("zstd backups in an S3 bucket list, verify, restore on another machine, copy and clean up", async () => {
  await withBucket((bucket) =>
    withWorkspace(async (ws) => {
      makeDatabase(ws.database, { accounts: 30, events: 800 });
      const clock = new FakeClock();
      const url = bucket.url("zstd/app");
      const env = s3Env(bucket.server, ws.root, { BACKUP_COMPRESSION: "zstd" });
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        clock.advance();
        const created = await runCli(
          ["create", "--database", ws.database, "--dir", url, "--format", "json"],
          { env, clock },
        );
        assert.equal(created.code, 0, created.stderr);
        ids.push(JSON.parse(created.stdout).id);
      }
      const [older, newer] = ids;
      const stored = await bucket.read(`zstd/app/${newer}.sql.zst`);
      assert.deepEqual([...stored.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd]);

      const listed = await runCli(["list", "--dir", url], { env, clock });
      for (const id of ids) assert.match(listed.stdout, new RegExp(`^${id}\\s.*\\sok\\s*$`, "m"));
      const verified = await runCli(["verify", newer, "--dir", url, "--restore-test"], {
        env,
        clock,
      });
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
      assert.match(verified.stdout, /\n {2}ok {3}zstd: \d+ bytes of SQL\n/);

      // another machine: only the bucket and the AWS variables (no compression setting)
      const machine = await Deno.makeTempDir({ prefix: "backup-manager-new-machine-" });
      try {
        const target = join(machine, "restored.db");
        const restored = await runCli(["restore", newer, "--dir", url, "--to", target], {
          env: s3Env(bucket.server, machine),
          clock,
          cwd: machine,
        });
        assert.equal(restored.code, 0, restored.stderr);
        assert.deepEqual(compareDatabases(ws.database, target), []);

        const local = join(machine, "copy");
        const copied = await runCli(["copy", newer, "--from", url, "--dir", local], {
          env: s3Env(bucket.server, machine),
          clock,
          cwd: machine,
        });
        assert.equal(copied.code, 0, copied.stderr);
        assert.deepEqual(await Deno.readFile(join(local, `${newer}.sql.zst`)), stored);
      } finally {
        await Deno.remove(machine, { recursive: true });
      }

      const cleaned = await runCli(["cleanup", "--dir", url, "--keep-last", "1"], { env, clock });
      assert.equal(cleaned.code, 0, cleaned.stdout + cleaned.stderr);
      const keys = await bucket.keys("zstd/app/");
      assert.ok(!keys.some((k) => k.includes(older)), keys.join(", "));
      assert.ok(keys.includes(`zstd/app/${newer}.sql.zst`), keys.join(", "));
    })
  );
});

Deno.test("cleanup removes zstd and uncompressed backups whole, and a stale .sql.zst whose sidecar never arrived", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock();
    const ids: string[] = [];
    for (const flag of ["zstd", "none", "gzip"]) {
      clock.advance();
      const created = await runCli(
        [
          "create",
          "--database",
          ws.database,
          "--dir",
          ws.dir,
          "--compression",
          flag,
          "--format",
          "json",
        ],
        { clock },
      );
      assert.equal(created.code, 0, created.stderr);
      ids.push(JSON.parse(created.stdout).id);
    }
    const orphan = "full_20261101T000000000Z.sql.zst";
    await Deno.writeFile(join(ws.dir, orphan), new Uint8Array([0x28, 0xb5, 0x2f, 0xfd]));
    await Deno.utime(join(ws.dir, orphan), new Date("2026-11-01"), new Date("2026-11-01"));
    clock.advance(24 * 60 * 60 * 1000);
    const cleaned = await runCli(["cleanup", "--dir", ws.dir, "--keep-last", "1"], { clock });
    assert.equal(cleaned.code, 0, cleaned.stdout + cleaned.stderr);
    const names = [...Deno.readDirSync(ws.dir)].map((e) => e.name).filter((n) =>
      n.startsWith("full_")
    )
      .sort();
    assert.deepEqual(names, [`${ids[2]}.meta.json`, `${ids[2]}.sql.gz`]);
  });
});

Deno.test("serve with compression zstd creates .sql.zst backups and downloads them as application/zstd", async () => {
  const api = await startApiFixture({ config: { compression: "zstd" }, backups: 1 });
  try {
    const created = await api.request("/api/backup", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ action: "create" }),
    });
    assert.equal(created.status, 201);
    const { backup } = await created.json() as { backup: { id: string } };
    const response = await api.request(`/api/v1/backups/${backup.id}/download`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/zstd");
    assert.equal(
      response.headers.get("content-disposition"),
      `attachment; filename="${backup.id}.sql.zst"`,
    );
    const bytes = new Uint8Array(await response.arrayBuffer());
    assert.deepEqual(bytes, await Deno.readFile(join(api.dir, `${backup.id}.sql.zst`)));
    const names = [...Deno.readDirSync(api.dir)].map((e) => e.name).filter((n) => /\.sql/.test(n));
    assert.equal(names.length, 2);
    assert.ok(names.every((n) => n.endsWith(".sql.zst")), names.join(", "));
  } finally {
    await api.stop();
  }
});
