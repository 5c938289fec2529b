/**
 * Encrypted SQLite backups through the command line, beside `encryption_test.ts`: what the sidecar
 * and files reveal, damage found by verify, restore tests without a key, and bad recipients.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { FakeClock, runCli } from "../helpers/cli.ts";
import { makeDatabase, sha256File, withWorkspace, type Workspace } from "../helpers/workspace.ts";
import { compareDatabases } from "../helpers/sqlite_compare.ts";
import { type AgeKey, ageKeygen, lines, resealSidecar } from "../helpers/s3_cli.ts";
import { ExitCode } from "../../src/core/errors.ts";
import { recipientFingerprint } from "../../src/core/crypto/age.ts";

interface Setup {
  ws: Workspace;
  key: AgeKey;
  clock: FakeClock;
  env: Record<string, string>;
  /** Runs the CLI with the recipients set, on the workspace's database and store. */
  cli(args: string[], env?: Record<string, string>): ReturnType<typeof runCli>;
  /** Creates an encrypted backup and returns its id. */
  create(): Promise<string>;
}

async function withKeys(fn: (s: Setup) => Promise<void>): Promise<void> {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 50, events: 200 });
    const key = await ageKeygen(ws.root);
    const clock = new FakeClock();
    const env = { BACKUP_AGE_RECIPIENTS: key.recipient };
    const cli = (args: string[], extra: Record<string, string> = {}) =>
      runCli([...args, "--dir", ws.dir], { env: { ...env, ...extra }, clock });
    const create = async () => {
      const result = await cli(["create", "--database", ws.database, "--format", "json"]);
      assert.equal(result.code, 0, result.stderr);
      clock.advance();
      return JSON.parse(result.stdout).id as string;
    };
    await fn({ ws, key, clock, env, cli, create });
  });
}

Deno.test("an encrypted backup is .sql.gz.age, names its key by fingerprint only, and restores with --identity", async () => {
  await withKeys(async ({ ws, key, cli, create }) => {
    const id = await create();
    const names = [...Deno.readDirSync(ws.dir)].map((e) => e.name).sort();
    assert.deepEqual(names, ["audit.jsonl", `${id}.meta.json`, `${id}.sql.gz.age`]);
    const sidecar = await Deno.readTextFile(join(ws.dir, `${id}.meta.json`));
    const meta = JSON.parse(sidecar);
    assert.deepEqual(meta.file.encryption, {
      format: "age",
      recipients: [recipientFingerprint(key.recipient)],
    });
    assert.ok(!sidecar.includes(key.recipient), "the public key itself is not in the sidecar");
    assert.equal(meta.file.sha256, await sha256File(join(ws.dir, `${id}.sql.gz.age`)));
    assert.equal((await Deno.stat(join(ws.dir, `${id}.sql.gz.age`))).mode! & 0o777, 0o600);

    const target = join(ws.root, "restored.db");
    const restored = await cli(["restore", id, "--to", target, "--identity", key.identityFile]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual(compareDatabases(ws.database, target), []);
  });
});

Deno.test("tampered ciphertext with a re-sealed sidecar fails the restore and leaves the target as it was", async () => {
  await withKeys(async ({ ws, key, cli, create }) => {
    const id = await create();
    const data = join(ws.dir, `${id}.sql.gz.age`);
    const bytes = await Deno.readFile(data);
    bytes[bytes.length - 40] ^= 0x01;
    await Deno.writeFile(data, bytes);
    const sidecar = join(ws.dir, `${id}.meta.json`);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    await Deno.writeFile(
      sidecar,
      resealSidecar(
        await Deno.readFile(sidecar),
        id,
        (m) => ({ ...m, file: { ...m.file, sha256 } }),
      ),
    );
    const target = join(ws.root, "target.db");
    makeDatabase(target, { accounts: 1, events: 1 });
    const before = await sha256File(target);
    const restored = await cli(["restore", id, "--to", target, "--force"], {
      BACKUP_AGE_IDENTITY_FILE: key.identityFile,
    });
    assert.equal(restored.code, ExitCode.Integrity, restored.stderr);
    assert.match(restored.stderr, /the encrypted data is damaged or was altered/);
    assert.equal(await sha256File(target), before);

    const verified = await cli(["verify", id, "--identity", key.identityFile]);
    assert.equal(verified.code, ExitCode.Integrity);
    assert.match(verified.stdout, /FAIL decrypt and gzip: Cannot decrypt backup/);
  });
});

Deno.test("verify without an identity checks the stored bytes; with one it decrypts and restore-tests", async () => {
  await withKeys(async ({ ws, key, cli, create }) => {
    const id = await create();
    const plain = await cli(["verify", id]);
    assert.equal(plain.code, 0, plain.stdout);
    assert.match(plain.stdout, /\n {2}ok {3}checksum: sha256 [0-9a-f]{64}\n/);
    assert.match(
      plain.stdout,
      /\n {2}ok {3}gzip: not checked: encrypted, and no identity file was given/,
    );
    const restoreTest = await cli(["verify", id, "--restore-test", "--database", ws.database]);
    assert.equal(restoreTest.code, ExitCode.Usage, restoreTest.stdout);
    const missingKey = await cli(["verify", id, "--identity", join(ws.root, "no-such-key.txt")]);
    assert.equal(missingKey.code, ExitCode.Usage, missingKey.stdout);
    assert.match(missingKey.stderr, /^Error: Cannot read identity file ".+no-such-key\.txt"/);
    const other = await ageKeygen(ws.root, "other");
    const otherKey = await cli(["verify", id, "--identity", other.identityFile]);
    assert.equal(otherKey.code, 0, otherKey.stdout);
    assert.match(
      otherKey.stdout,
      /gzip: not checked: Cannot decrypt backup .+ none of the identities/,
    );
    const full = await cli([
      "verify",
      id,
      "--restore-test",
      "--database",
      ws.database,
      "--identity",
      key.identityFile,
    ]);
    assert.equal(full.code, 0, full.stdout);
    assert.match(full.stdout, /ok {3}decrypt and gzip: \d+ bytes of SQL\n/);
    assert.match(full.stdout, /ok {3}restore test: restored 2 tables, row counts match/);
  });
});

Deno.test("a recipient that is not an age public key is one line that never echoes a secret key", async () => {
  await withKeys(async ({ ws, key, cli }) => {
    const secret = (await Deno.readTextFile(key.identityFile)).match(/AGE-SECRET-KEY-1\S+/)![0];
    for (const value of ["age1notakey", secret]) {
      const result = await cli(["create", "--database", ws.database], {
        BACKUP_AGE_RECIPIENTS: value,
      });
      assert.equal(result.code, ExitCode.Usage, result.stderr);
      assert.equal(lines(result.stderr).length, 1, result.stderr);
      assert.ok(!result.stderr.includes(secret));
    }
    await assert.rejects(() => Deno.stat(ws.dir), Deno.errors.NotFound);
  });
});
