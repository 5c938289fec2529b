/**
 * Encrypted backups and the outside world: the stock `age` CLI decrypts ours exactly as the
 * README shows (`age -d -i key.txt x.sql.gz.age | gunzip | sqlite3 new.db`, `| psql`), our
 * restore reads a file the `age` CLI encrypted, PostgreSQL round trips, and encrypted backups
 * kept in a real S3 bucket.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { recipientFingerprint } from "../../src/core/crypto/age.ts";
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

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** A single-quoted shell word. */
const sh = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

Deno.test("the age CLI decrypts our backup: age -d -i key.txt x.sql.gz.age | gunzip | sqlite3 new.db", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 25, events: 40 });
    const key = await ageKeygen(ws.root);
    const created = await runCli(
      ["create", "--database", ws.database, "--dir", ws.dir, "--format", "json"],
      { env: { BACKUP_AGE_RECIPIENTS: key.recipient } },
    );
    assert.equal(created.code, 0, created.stderr);
    const meta = JSON.parse(created.stdout);
    await pipeline(
      `age -d -i key.txt backups/${meta.id}.sql.gz.age | gunzip | sqlite3 new.db`,
      ws.root,
    );
    assert.deepEqual(compareDatabases(ws.database, join(ws.root, "new.db")), []);
  });
});

Deno.test("our restore reads a backup that the age CLI encrypted, once its sidecar says so", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 25, events: 40 });
    const key = await ageKeygen(ws.root);
    const created = await runCli(
      ["create", "--database", ws.database, "--dir", ws.dir, "--format", "json"],
    );
    assert.equal(created.code, 0, created.stderr);
    const id = JSON.parse(created.stdout).id;
    const plain = join(ws.dir, `${id}.sql.gz`);
    const encrypted = `${plain}.age`;
    await tool("age", ["-r", key.recipient, "-o", encrypted, plain]);
    await Deno.remove(plain);
    const bytes = await Deno.readFile(encrypted);
    const sidecar = join(ws.dir, `${id}.meta.json`);
    await Deno.writeFile(
      sidecar,
      resealSidecar(await Deno.readFile(sidecar), id, (m) => ({
        ...m,
        file: {
          ...m.file,
          name: `${id}.sql.gz.age`,
          sha256: sha256(bytes),
          encryption: { format: "age", recipients: [recipientFingerprint(key.recipient)] },
        },
        sizes: { ...m.sizes, compressed: bytes.length },
      })),
    );

    const verified = await runCli(["verify", id, "--dir", ws.dir, "--identity", key.identityFile]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /\n {2}ok {3}decrypt and gzip: \d+ bytes of SQL\n/);
    const target = join(ws.root, "restored.db");
    const restored = await runCli(
      ["restore", id, "--dir", ws.dir, "--to", target, "--identity", key.identityFile],
    );
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual(compareDatabases(ws.database, target), []);
  });
});

Deno.test("an encrypted PostgreSQL backup restores with --create --identity, and with age -d | gunzip | psql", async () => {
  const cluster = await startCluster();
  const source = uniqueName("app");
  const ours = uniqueName("ours");
  const theirs = uniqueName("psql");
  try {
    const sourceUrl = await createDatabase(cluster.url, source);
    await psql(
      sourceUrl,
      `CREATE TABLE notes (id int PRIMARY KEY, body text, at timestamptz);
       INSERT INTO notes SELECT g, 'note ' || g || E'\\n\\\\', now() FROM generate_series(1, 300) g;
       CREATE SEQUENCE tickets START 41; SELECT nextval('tickets');`,
    );
    await withWorkspace(async (ws) => {
      const key = await ageKeygen(ws.root);
      const env = { BACKUP_AGE_RECIPIENTS: key.recipient };
      const common = ["--database", sourceUrl, "--dir", ws.dir];
      const created = await runCli(["create", ...common, "--format", "json"], { env });
      assert.equal(created.code, 0, created.stderr);
      const meta = JSON.parse(created.stdout);
      assert.equal(meta.file.name, `${meta.id}.sql.gz.age`);

      const restored = await runCli(
        ["restore", meta.id, ...common, "--to", ours, "--create", "--identity", key.identityFile],
        { env },
      );
      assert.equal(restored.code, 0, restored.stderr);
      const expected = await dataDigests(sourceUrl);
      assert.deepEqual(await dataDigests(databaseUrl(cluster.url, ours)), expected);

      const theirsUrl = await createDatabase(cluster.url, theirs);
      await pipeline(
        `age -d -i ${sh(key.identityFile)} ${sh(join(ws.dir, meta.file.name))} | gunzip` +
          ` | ${sh(join(PG_BIN, "psql"))} -X -q -v ON_ERROR_STOP=1 --single-transaction` +
          ` -d ${sh(theirsUrl)}`,
      );
      assert.deepEqual(await dataDigests(theirsUrl), expected);
    });
  } finally {
    for (const name of [ours, theirs, source]) {
      await dropDatabase(cluster.url, name).catch(() => {});
    }
    await cluster.stop();
  }
});

Deno.test("encrypted backups in an S3 bucket verify with the key and restore on another machine", async () => {
  await withBucket((bucket) =>
    withWorkspace(async (ws) => {
      makeDatabase(ws.database, { accounts: 30, events: 30 });
      const key = await ageKeygen(ws.root);
      const clock = new FakeClock();
      const url = bucket.url("secret/app");
      const env = s3Env(bucket.server, ws.root, { BACKUP_AGE_RECIPIENTS: key.recipient });
      const created = await runCli(
        ["create", "--database", ws.database, "--dir", url, "--format", "json"],
        { env, clock },
      );
      assert.equal(created.code, 0, created.stderr);
      const meta = JSON.parse(created.stdout);
      const stored = await bucket.read(`secret/app/${meta.id}.sql.gz.age`);
      assert.equal(new TextDecoder().decode(stored.subarray(0, 22)), "age-encryption.org/v1\n");
      assert.equal(sha256(stored), meta.file.sha256);
      assert.ok(
        (await bucket.keys("secret/app/")).every((k) => !k.endsWith(".sql.gz")),
        "no plaintext object",
      );

      const listed = await runCli(["list", "--dir", url], { env, clock });
      assert.match(listed.stdout, new RegExp(`^${meta.id}\\s.*\\sok, encrypted\\s*$`, "m"));
      const verified = await runCli(
        ["verify", meta.id, "--dir", url, "--identity", key.identityFile, "--restore-test"],
        { env, clock },
      );
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
      assert.match(verified.stdout, /\n {2}ok {3}decrypt and gzip: \d+ bytes of SQL\n/);

      // another machine: only the bucket, the AWS variables and the identity file
      const machine = await Deno.makeTempDir({ prefix: "backup-manager-new-machine-" });
      try {
        const target = join(machine, "restored.db");
        const restored = await runCli(["restore", meta.id, "--dir", url, "--to", target], {
          env: s3Env(bucket.server, machine, { BACKUP_AGE_IDENTITY_FILE: key.identityFile }),
          clock,
          cwd: machine,
        });
        assert.equal(restored.code, 0, restored.stderr);
        assert.deepEqual(compareDatabases(ws.database, target), []);
      } finally {
        await Deno.remove(machine, { recursive: true });
      }
    })
  );
});
