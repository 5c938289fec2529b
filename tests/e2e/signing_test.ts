/**
 * Signed backups through the real command line on real files: `keygen`, `create` with
 * `signing.key`, and `restore`, `restore --dry-run`, `verify` and `copy` with `signing.trusted`
 * against forgeries an attacker with write access to the store can make.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash, createPrivateKey, createPublicKey } from "node:crypto";
import { join } from "node:path";
import { type BackupMeta, parseMeta, serializeMeta } from "../../src/core/backup_file.ts";
import { ExitCode } from "../../src/core/errors.ts";
import { type CliResult, FakeClock, runCli } from "../helpers/cli.ts";
import {
  countRows,
  execSql,
  makeDatabase,
  sha256File,
  snapshotDir,
  withoutAudit,
  withWorkspace,
  type Workspace,
} from "../helpers/workspace.ts";

interface Keys {
  /** Path of the private key file. */
  file: string;
  publicKey: string;
  keyId: string;
}

async function keygen(ws: Workspace, name: string): Promise<Keys & { result: CliResult }> {
  const file = join(ws.root, name);
  const result = await runCli(["keygen", "--out", file, "--format", "json"]);
  assert.equal(result.code, 0, result.stderr);
  const { publicKey, keyId } = JSON.parse(result.stdout);
  return { file, publicKey, keyId, result };
}

/** Signing and trust settings as a deployment gives them: the environment. */
function env(signWith?: Keys, trust: Keys[] = []): Record<string, string> {
  return {
    ...(signWith ? { BACKUP_SIGNING_KEY: signWith.file } : {}),
    ...(trust.length ? { BACKUP_SIGNING_TRUSTED: trust.map((k) => k.publicKey).join(",") } : {}),
  };
}

async function create(ws: Workspace, clock: FakeClock, signWith?: Keys): Promise<string> {
  const result = await runCli(
    ["create", "--database", ws.database, "--dir", ws.dir, "--format", "json"],
    { clock, env: env(signWith) },
  );
  assert.equal(result.code, 0, result.stderr);
  clock.advance();
  return JSON.parse(result.stdout).id;
}

const sidecarPath = (ws: Workspace, id: string) => join(ws.dir, `${id}.meta.json`);

async function readSidecar(ws: Workspace, id: string): Promise<BackupMeta> {
  return parseMeta(await Deno.readFile(sidecarPath(ws, id)), id);
}

/** Rewrites a sidecar as a forger would: edited, with a fresh self-checksum, signature kept. */
async function forgeSidecar(ws: Workspace, id: string, edit: (meta: BackupMeta) => BackupMeta) {
  const meta = await readSidecar(ws, id);
  await Deno.writeFile(sidecarPath(ws, id), serializeMeta(edit(meta)));
}

/**
 * `restore --force`, `restore --dry-run` and `verify` of `id` with `trusted`: each refused with
 * exit 5 and `says`, the database and the store untouched (no safety backup).
 */
async function assertRefused(
  ws: Workspace,
  clock: FakeClock,
  id: string,
  trusted: Keys[],
  says: (action: string) => string,
): Promise<void> {
  const dbBefore = await sha256File(ws.database);
  const storeBefore = withoutAudit(await snapshotDir(ws.dir));
  for (const flags of [["--force"], ["--dry-run"]]) {
    const result = await runCli(
      ["restore", id, ...flags, "--database", ws.database, "--dir", ws.dir],
      { clock, env: env(undefined, trusted) },
    );
    assert.equal(result.stderr, `Error: ${says("restore")}\n`, flags[0]);
    assert.equal(result.code, ExitCode.Integrity, flags[0]);
    assert.equal(result.stdout, "", flags[0]);
  }
  const verified = await runCli(["verify", id, "--dir", ws.dir], {
    clock,
    env: env(undefined, trusted),
  });
  assert.equal(verified.code, ExitCode.Integrity);
  assert.equal(
    verified.stdout,
    `FAIL ${id}\n  ok   sidecar: schema and self-checksum valid\n  FAIL signature: ${
      says("verify")
    }\n`,
  );
  assert.equal(await sha256File(ws.database), dbBefore, "database untouched");
  assert.deepEqual(withoutAudit(await snapshotDir(ws.dir)), storeBefore, "nothing written");
}

Deno.test("keygen writes the private key to a 0600 file and prints only the public key", async () => {
  await withWorkspace(async (ws) => {
    await Deno.mkdir(ws.root, { recursive: true });
    const file = join(ws.root, "signing.pem");
    const text = await runCli(["keygen", "--out", file]);
    assert.equal(text.code, 0, text.stderr);
    const pem = await Deno.readTextFile(file);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    const key = createPrivateKey(pem);
    assert.equal(key.asymmetricKeyType, "ed25519");
    const raw = Buffer.from(createPublicKey(key).export({ format: "jwk" }).x!, "base64url");
    const publicKey = `ed25519:${raw.toString("base64")}`;
    const keyId = "SHA256:" +
      createHash("sha256").update(raw).digest("base64").replace(/=+$/, "");
    assert.equal(
      text.stdout,
      `Private key written to "${file}" (mode 0600): set "signing.key" to this file.\n` +
        `Key id: ${keyId}\n\n` +
        `Public key, for "signing.trusted" where backups are restored or verified:\n` +
        `  ${publicKey}\n`,
    );
    assert.doesNotMatch(text.stdout + text.stderr, /PRIVATE KEY/);
    for (const line of pem.split("\n").filter((l) => l && !l.startsWith("-----"))) {
      assert.ok(!text.stdout.includes(line), "no private key material on stdout");
    }

    const again = await runCli(["keygen", "--out", file]);
    assert.equal(again.code, ExitCode.Usage);
    assert.equal(
      again.stderr,
      `Error: Cannot write the signing key to "${file}": the file exists (use --force to replace it)\n`,
    );
    assert.equal(await Deno.readTextFile(file), pem, "the existing key is kept");
    const replaced = await runCli(["keygen", "--out", file, "--force", "--format", "json"]);
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.notEqual(await Deno.readTextFile(file), pem);
    assert.deepEqual(Object.keys(JSON.parse(replaced.stdout)), [
      "keyId",
      "publicKey",
      "privateKeyFile",
    ]);

    const none = await runCli(["keygen"]);
    assert.equal(none.code, ExitCode.Usage);
    assert.equal(
      none.stderr,
      "Error: Cannot make a signing key: give --out FILE for the private key (it is never printed)\n",
    );
  });
});

Deno.test("a signed backup whose key is trusted verifies, restores, shows as signed, and survives pin and verify", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 20, events: 100 });
    const clock = new FakeClock();
    const ours = await keygen(ws, "ours.pem");
    const id = await create(ws, clock, ours);
    const meta = await readSidecar(ws, id);
    assert.equal(meta.signature?.keyId, ours.keyId);

    const trusted = env(undefined, [ours]);
    for (const args of [["pin", id, "--reason", "before the migration"], ["verify", id]]) {
      const result = await runCli([...args, "--dir", ws.dir], { clock, env: trusted });
      assert.equal(result.code, 0, result.stdout + result.stderr);
    }
    const verified = await runCli(["verify", id, "--dir", ws.dir], { clock, env: trusted });
    assert.equal(verified.code, 0, verified.stdout);
    assert.match(
      verified.stdout,
      new RegExp(
        `\n {2}ok {3}signature: signed by trusted key "${ours.keyId.replace(/[+/]/g, "\\$&")}"\n`,
      ),
    );

    const target = join(ws.root, "restored.db");
    const restored = await runCli(
      ["restore", id, "--to", target, "--database", ws.database, "--dir", ws.dir],
      { clock, env: trusted },
    );
    assert.equal(restored.code, 0, restored.stderr);
    assert.equal(countRows(target, "events"), 100);

    const table = await runCli(["list", "--dir", ws.dir]);
    assert.match(table.stdout, new RegExp(`\n${id} .+ verified, signed, pinned `));
    const [listed] = JSON.parse(
      (await runCli(["list", "--dir", ws.dir, "--format", "json"])).stdout,
    );
    assert.deepEqual([listed.signed, listed.signedBy], [true, ours.keyId]);
    const status = JSON.parse(
      (await runCli(["status", "--dir", ws.dir, "--database", ws.database, "--format", "json"], {
        clock,
      })).stdout,
    );
    assert.deepEqual([status.signedBackups, status.lastBackupSignedBy], [1, ours.keyId]);
  });
});

Deno.test("a forged sidecar (edited, self-checksum sealed again) is refused before anything is touched", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 20, events: 100 });
    const clock = new FakeClock();
    const ours = await keygen(ws, "ours.pem");
    const id = await create(ws, clock, ours);
    await forgeSidecar(ws, id, (m) => ({ ...m, description: "looks legitimate" }));
    await assertRefused(
      ws,
      clock,
      id,
      [ours],
      (action) =>
        `Cannot ${action} backup "${id}": its signature does not match its sidecar (edited or forged); use another backup`,
    );
  });
});

Deno.test("a data file replaced by another database's dump, with a sidecar forged to match, is refused", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 20, events: 100 });
    const clock = new FakeClock();
    const ours = await keygen(ws, "ours.pem");
    const id = await create(ws, clock, ours);
    // the attacker's own dump, of a database it chose, under our backup's name
    const evil = join(ws.root, "evil.db");
    makeDatabase(evil, { accounts: 1, events: 1 });
    execSql(evil, "CREATE TABLE backdoor (x); INSERT INTO backdoor VALUES ('owned')");
    const evilDir = join(ws.root, "evil-store");
    const made = await runCli(
      ["create", "--database", evil, "--dir", evilDir, "--format", "json"],
      { clock },
    );
    const evilMeta = JSON.parse(made.stdout) as BackupMeta;
    const bytes = await Deno.readFile(join(evilDir, evilMeta.file.name));
    await Deno.writeFile(join(ws.dir, `${id}.sql.gz`), bytes);
    await forgeSidecar(ws, id, (m) => ({
      ...m,
      tables: evilMeta.tables,
      totals: evilMeta.totals,
      sizes: evilMeta.sizes,
      file: { ...m.file, sha256: createHash("sha256").update(bytes).digest("hex") },
    }));
    // without trusted keys the forgery passes every check: that is what signatures are for
    const unguarded = await runCli(["verify", id, "--dir", ws.dir], { clock });
    assert.equal(unguarded.code, 0, unguarded.stdout);
    await assertRefused(
      ws,
      clock,
      id,
      [ours],
      (action) =>
        `Cannot ${action} backup "${id}": its signature does not match its sidecar (edited or forged); use another backup`,
    );
  });
});

Deno.test("a backup validly signed by a key that is not trusted is refused", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 20, events: 100 });
    const clock = new FakeClock();
    const ours = await keygen(ws, "ours.pem");
    const theirs = await keygen(ws, "theirs.pem");
    await create(ws, clock, ours);
    const id = await create(ws, clock, theirs); // the newest, as an attacker would place it
    await assertRefused(
      ws,
      clock,
      id,
      [ours],
      (action) =>
        `Cannot ${action} backup "${id}": it is signed by key "${theirs.keyId}", which is not in signing.trusted (add its public key there if you trust it; use another backup)`,
    );
    // trusting both keys (a key rotation) accepts it
    const both = await runCli(["verify", id, "--dir", ws.dir], {
      clock,
      env: env(undefined, [ours, theirs]),
    });
    assert.equal(both.code, 0, both.stdout);
  });
});

Deno.test("an unsigned backup is refused once trusted keys are set, and copy does not carry it", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 20, events: 100 });
    const clock = new FakeClock();
    const ours = await keygen(ws, "ours.pem");
    const id = await create(ws, clock);
    await assertRefused(
      ws,
      clock,
      id,
      [ours],
      (action) =>
        `Cannot ${action} backup "${id}": it is not signed, and signing.trusted requires a signature (sign new backups with signing.key; use a signed backup)`,
    );
    const offsite = join(ws.root, "offsite");
    const copied = await runCli(["copy", id, "--to", offsite, "--dir", ws.dir], {
      clock,
      env: env(undefined, [ours]),
    });
    assert.equal(copied.code, ExitCode.Integrity, copied.stderr);
    assert.equal(
      copied.stderr,
      `Error: Cannot copy backup "${id}": it is not signed, and signing.trusted requires a signature (sign new backups with signing.key; use a signed backup)\n`,
    );
    assert.deepEqual(await snapshotDir(offsite), null, "nothing was written there");
  });
});

Deno.test("a signed backup copied to another store stays signed and verifies there", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 20, events: 100 });
    const clock = new FakeClock();
    const ours = await keygen(ws, "ours.pem");
    const id = await create(ws, clock, ours);
    const offsite = join(ws.root, "offsite");
    const copied = await runCli(["copy", id, "--to", offsite, "--dir", ws.dir], {
      clock,
      env: env(ours, [ours]),
    });
    assert.equal(copied.code, 0, copied.stderr);
    const there = await runCli(["verify", id, "--dir", offsite], {
      clock,
      env: env(undefined, [ours]),
    });
    assert.equal(there.code, 0, there.stdout);
  });
});

Deno.test("no key material reaches the output, the audit log or a sidecar", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 5, events: 5 });
    const clock = new FakeClock();
    const ours = await keygen(ws, "ours.pem");
    const outputs: string[] = [ours.result.stdout + ours.result.stderr];
    const signed = env(ours, [ours]);
    const made = await runCli(["create", "--database", ws.database, "--dir", ws.dir], {
      clock,
      env: signed,
    });
    outputs.push(made.stdout + made.stderr);
    for (
      const args of [
        ["list"],
        ["list", "--format", "json"],
        ["verify", "--all"],
        ["verify", "--all", "--format", "json"],
        ["status", "--database", ws.database],
        ["status", "--database", ws.database, "--format", "json"],
      ]
    ) {
      const result = await runCli([...args, "--dir", ws.dir], { clock, env: signed });
      assert.equal(result.code, 0, result.stdout + result.stderr);
      outputs.push(result.stdout + result.stderr);
    }
    // a mistake in the key's path names the setting, not the key
    const broken = await runCli(["list", "--dir", ws.dir], {
      env: { BACKUP_SIGNING_KEY: join(ws.root, "absent.pem") },
    });
    assert.equal(broken.code, ExitCode.Usage);
    outputs.push(broken.stderr);

    const pem = await Deno.readTextFile(ours.file);
    const secret = pem.split("\n").filter((l) => l && !l.startsWith("-----"));
    const stored = Object.values((await snapshotDir(ws.dir))!).join("\n");
    const files = await Promise.all(
      [...Deno.readDirSync(ws.dir)].map((e) => Deno.readFile(join(ws.dir, e.name))),
    );
    const texts = files.map((b) => new TextDecoder().decode(b));
    for (const text of [...outputs, ...texts, stored]) {
      assert.doesNotMatch(text, /PRIVATE KEY/);
      for (const line of secret) assert.ok(!text.includes(line), "private key material leaked");
    }
    // sidecars name the key by its id, never the key itself
    for (const text of texts.filter((t) => t.includes('"sidecarSha256"'))) {
      assert.ok(text.includes(ours.keyId));
      assert.ok(!text.includes(ours.publicKey.slice("ed25519:".length)));
    }
    assert.ok(texts.some((t) => t.includes('"action":"create"')), "the audit log was read");
  });
});

Deno.test("with trusted keys, list marks what restore would refuse and status counts it as damaged", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 20, events: 100 });
    const clock = new FakeClock();
    const ours = await keygen(ws, "ours.pem");
    const signed = await create(ws, clock, ours);
    const unsigned = await create(ws, clock); // the newest
    const trusted = env(undefined, [ours]);
    const table = await runCli(["list", "--dir", ws.dir], { env: trusted });
    assert.match(table.stdout, new RegExp(`\n${unsigned} .+ UNTRUSTED\n`));
    assert.match(table.stdout, new RegExp(`\n${signed} .+ ok, signed\n`));
    assert.ok(
      table.stdout.endsWith(
        `\n! Cannot use backup "${unsigned}": it is not signed, and signing.trusted requires a signature (sign new backups with signing.key; use a signed backup)\n`,
      ),
      table.stdout,
    );
    const json = JSON.parse(
      (await runCli(["list", "--dir", ws.dir, "--format", "json"], { env: trusted })).stdout,
    );
    assert.deepEqual(json.map((b: { trusted: boolean }) => b.trusted), [false, true]);
    const statusArgs = ["status", "--dir", ws.dir, "--database", ws.database, "--format", "json"];
    const status = JSON.parse((await runCli(statusArgs, { clock, env: trusted })).stdout);
    assert.deepEqual(
      [status.untrustedBackups, status.goodBackups, status.systemHealth],
      [1, 1, "critical"],
    );
    assert.deepEqual(status.reasons[0], {
      level: "critical",
      rule: "integrity",
      message: "the newest backup fails its integrity checks",
    });
    // without trusted keys nothing is required, and nothing is marked
    const plain = JSON.parse((await runCli(statusArgs, { clock })).stdout);
    assert.deepEqual([plain.untrustedBackups, plain.goodBackups], [0, 2]);
  });
});
