/**
 * age-encrypted SQLite backups through the command line, with keys made by the real
 * `age-keygen`: the round trip, a restore without the key or with another key, a tampered
 * ciphertext whose sidecar was re-sealed to match, what `verify` can check with and without the
 * key, and encrypted backups listed beside plain ones. Every refusal leaves the target as it was.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { recipientFingerprint } from "../../src/core/crypto/age.ts";
import { ExitCode } from "../../src/core/errors.ts";
import { FakeClock, runCli } from "../helpers/cli.ts";
import {
  execSql,
  listNames,
  makeDatabase,
  sha256File,
  withWorkspace,
  type Workspace,
} from "../helpers/workspace.ts";
import { compareDatabases } from "../helpers/sqlite_compare.ts";
import { type AgeKey, ageKeygen, lines, resealSidecar } from "../helpers/s3_cli.ts";

interface Keyed {
  ws: Workspace;
  key: AgeKey;
  /** `BACKUP_AGE_RECIPIENTS` set to `key`'s public key. */
  env: Record<string, string>;
  clock: FakeClock;
}

function withKey(fn: (k: Keyed) => Promise<void>): Promise<void> {
  return withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 40, events: 60 });
    const key = await ageKeygen(ws.root);
    await fn({ ws, key, env: { BACKUP_AGE_RECIPIENTS: key.recipient }, clock: new FakeClock() });
  });
}

async function cli(k: Keyed, args: string[], env: Record<string, string> = k.env) {
  const result = await runCli(args, { env, clock: k.clock });
  k.clock.advance();
  return result;
}

/** An encrypted `create` (a plain one with `env` `{}`); returns the sidecar as JSON. */
async function createEncrypted(k: Keyed, env = k.env) {
  const result = await cli(k, [
    "create",
    "--database",
    k.ws.database,
    "--dir",
    k.ws.dir,
    "--format",
    "json",
  ], env);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

Deno.test("a backup made with BACKUP_AGE_RECIPIENTS is an .sql.gz.age file that restores with --identity", async () => {
  await withKey(async (k) => {
    const meta = await createEncrypted(k);
    assert.deepEqual(meta.file.encryption, {
      format: "age",
      recipients: [recipientFingerprint(k.key.recipient)],
    });
    assert.equal(meta.file.name, `${meta.id}.sql.gz.age`);
    assert.deepEqual(await listNames(k.ws.dir), [
      "audit.jsonl",
      `${meta.id}.meta.json`,
      `${meta.id}.sql.gz.age`,
    ]);
    const stored = await Deno.readFile(join(k.ws.dir, meta.file.name));
    assert.equal(new TextDecoder().decode(stored.subarray(0, 22)), "age-encryption.org/v1\n");
    assert.equal(meta.file.sha256, sha256(stored));
    assert.equal(meta.sizes.compressed, stored.length);
    const sidecar = await Deno.readTextFile(join(k.ws.dir, `${meta.id}.meta.json`));
    assert.ok(!sidecar.includes(k.key.recipient), "the sidecar names a fingerprint, not the key");

    const target = join(k.ws.root, "restored.db");
    const restored = await cli(k, [
      "restore",
      meta.id,
      "--dir",
      k.ws.dir,
      "--to",
      target,
      "--identity",
      k.key.identityFile,
    ]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual(compareDatabases(k.ws.database, target), []);

    // the identity file may come from the environment instead
    const second = join(k.ws.root, "second.db");
    const fromEnv = await cli(k, ["restore", meta.id, "--dir", k.ws.dir, "--to", second], {
      BACKUP_AGE_IDENTITY_FILE: k.key.identityFile,
    });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    assert.deepEqual(compareDatabases(k.ws.database, second), []);
  });
});

Deno.test("restoring an encrypted backup without an identity is exit 2, one line naming --identity, and touches nothing", async () => {
  await withKey(async (k) => {
    const meta = await createEncrypted(k);
    execSql(k.ws.database, "DELETE FROM events");
    const before = await sha256File(k.ws.database);
    const files = await listNames(k.ws.dir);
    const newTarget = join(k.ws.root, "new.db");
    for (
      const args of [
        ["restore", meta.id, "--dir", k.ws.dir, "--database", k.ws.database, "--force"],
        ["restore", meta.id, "--dir", k.ws.dir, "--to", newTarget],
      ]
    ) {
      const result = await cli(k, args);
      assert.equal(result.code, ExitCode.Usage, result.stderr);
      assert.deepEqual(lines(result.stderr), [
        `Error: Cannot restore backup "${meta.id}": it is encrypted (age, for ${
          recipientFingerprint(k.key.recipient)
        }) and no identity file was given (use --identity FILE or BACKUP_AGE_IDENTITY_FILE)`,
      ]);
      assert.equal(result.stdout, "");
    }
    assert.equal(await sha256File(k.ws.database), before);
    await assert.rejects(Deno.stat(newTarget), Deno.errors.NotFound);
    assert.deepEqual(await listNames(k.ws.dir), files, "no safety backup, no audit line");
  });
});

Deno.test("restoring with another key's identity is refused with one line naming the file, and touches nothing", async () => {
  await withKey(async (k) => {
    const meta = await createEncrypted(k);
    const other = await ageKeygen(k.ws.root, "other");
    execSql(k.ws.database, "DELETE FROM accounts");
    const before = await sha256File(k.ws.database);
    const files = await listNames(k.ws.dir);
    const result = await cli(k, [
      "restore",
      meta.id,
      "--dir",
      k.ws.dir,
      "--database",
      k.ws.database,
      "--force",
      "--identity",
      other.identityFile,
    ]);
    assert.equal(result.code, ExitCode.Usage, result.stderr);
    assert.deepEqual(lines(result.stderr), [
      `Error: Cannot restore backup "${meta.id}": none of the identities in "${other.identityFile}" matches its recipients (${
        recipientFingerprint(k.key.recipient)
      }); use the identity file of one of them`,
    ]);
    assert.equal(await sha256File(k.ws.database), before);
    assert.deepEqual(await listNames(k.ws.dir), files);
    const secret = (await Deno.readTextFile(other.identityFile)).match(/AGE-SECRET-KEY-\S+/)![0];
    assert.ok(!result.stderr.includes(secret));
  });
});

Deno.test("a tampered ciphertext under a re-sealed sidecar passes the checksum but fails restore with exit 5, target untouched", async () => {
  await withKey(async (k) => {
    const meta = await createEncrypted(k);
    const dataPath = join(k.ws.dir, meta.file.name);
    const bytes = await Deno.readFile(dataPath);
    bytes[bytes.length - 100] ^= 0x01; // inside the last encrypted chunk
    await Deno.writeFile(dataPath, bytes);
    const sidecarPath = join(k.ws.dir, `${meta.id}.meta.json`);
    await Deno.writeFile(
      sidecarPath,
      resealSidecar(await Deno.readFile(sidecarPath), meta.id, (m) => ({
        ...m,
        file: { ...m.file, sha256: sha256(bytes) },
      })),
    );
    execSql(k.ws.database, "INSERT INTO accounts (name, balance) VALUES ('after', 1)");
    const before = await sha256File(k.ws.database);

    const plain = await cli(k, ["verify", meta.id, "--dir", k.ws.dir]);
    assert.equal(plain.code, 0, "without the key only size and checksum can be checked");
    const result = await cli(k, [
      "restore",
      meta.id,
      "--dir",
      k.ws.dir,
      "--database",
      k.ws.database,
      "--force",
      "--identity",
      k.key.identityFile,
    ]);
    assert.equal(result.code, ExitCode.Integrity, result.stderr);
    assert.equal(lines(result.stderr).length, 1, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(
        `^Error: Cannot decrypt backup "${meta.id}": the encrypted data is damaged or was altered \\(.+\\)\n$`,
      ),
    );
    assert.equal(await sha256File(k.ws.database), before);

    const verified = await cli(k, [
      "verify",
      meta.id,
      "--dir",
      k.ws.dir,
      "--identity",
      k.key.identityFile,
    ]);
    assert.equal(verified.code, ExitCode.Integrity, verified.stdout);
    assert.match(verified.stdout, /\n {2}ok {3}checksum: sha256 [0-9a-f]{64}\n/);
    assert.match(verified.stdout, /\n {2}FAIL decrypt and gzip: Cannot decrypt backup .*altered/);
  });
});

Deno.test("verify without an identity checks size and checksum and says the gzip was not checked; with one it decrypts", async () => {
  await withKey(async (k) => {
    const meta = await createEncrypted(k);
    const plain = await cli(k, ["verify", meta.id, "--dir", k.ws.dir]);
    assert.equal(plain.code, 0, plain.stdout + plain.stderr);
    assert.equal(
      plain.stdout,
      `PASS ${meta.id}\n` +
        "  ok   sidecar: schema and self-checksum valid\n" +
        `  ok   size: ${meta.sizes.compressed} bytes\n` +
        `  ok   checksum: sha256 ${meta.file.sha256}\n` +
        "  ok   gzip: not checked: encrypted, and no identity file was given (--identity FILE or BACKUP_AGE_IDENTITY_FILE)\n",
    );
    const keyed = await cli(k, [
      "verify",
      meta.id,
      "--dir",
      k.ws.dir,
      "--identity",
      k.key.identityFile,
      "--restore-test",
    ]);
    assert.equal(keyed.code, 0, keyed.stdout + keyed.stderr);
    assert.match(
      keyed.stdout,
      new RegExp(`\n {2}ok {3}decrypt and gzip: ${meta.sizes.raw} bytes of SQL\n`),
    );
    assert.match(keyed.stdout, /\n {2}ok {3}restore test: restored 2 tables, row counts match/);

    const test = await cli(k, ["verify", meta.id, "--dir", k.ws.dir, "--restore-test"]);
    assert.equal(test.code, ExitCode.Usage, "a restore test needs the key");
    assert.match(test.stderr, /no identity file was given \(use --identity FILE/);
  });
});

Deno.test("list shows which backups are encrypted, beside plain ones", async () => {
  await withKey(async (k) => {
    const plainId = (await createEncrypted(k, {})).id;
    const encrypted = await createEncrypted(k);
    const table = await cli(k, ["list", "--dir", k.ws.dir]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, new RegExp(`^${encrypted.id}\\s.*\\sok, encrypted\\s*$`, "m"));
    assert.match(table.stdout, new RegExp(`^${plainId}\\s.*\\sok\\s*$`, "m"));
    const json = JSON.parse((await cli(k, ["list", "--dir", k.ws.dir, "--format", "json"])).stdout);
    assert.deepEqual(
      json.map((b: { id: string; encrypted: boolean; recipients: string[] | null }) => [
        b.id,
        b.encrypted,
        b.recipients,
      ]),
      [
        [encrypted.id, true, [recipientFingerprint(k.key.recipient)]],
        [plainId, false, null],
      ],
    );
    assert.deepEqual(await listNames(k.ws.dir), [
      "audit.jsonl",
      `${plainId}.meta.json`,
      `${plainId}.sql.gz`,
      `${encrypted.id}.meta.json`,
      `${encrypted.id}.sql.gz.age`,
    ]);
    const all = await cli(k, ["verify", "--all", "--dir", k.ws.dir]);
    assert.equal(all.code, 0, all.stdout);
  });
});
