import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalStorage } from "../../src/storage/local.ts";
import { SqliteEngine } from "../../src/engines/sqlite/sqlite_engine.ts";
import type { ServiceContext } from "../../src/core/context.ts";
import { metaKey, parseMeta, storedFiles } from "../../src/core/backup_file.ts";
import { readAll, writeMeta } from "../../src/core/catalog.ts";
import { verifyBackup } from "../../src/core/verify.ts";
import { FakeClock } from "../helpers/cli.ts";
import { ageKeygen } from "../helpers/s3_cli.ts";
import { createPartsBackup, tarOf } from "../helpers/parts_backup.ts";
import { makeDatabase, withWorkspace, type Workspace } from "../helpers/workspace.ts";

function contextOf(ws: Workspace, extra: Partial<ServiceContext> = {}): ServiceContext {
  return {
    storage: new LocalStorage(ws.dir),
    engine: new SqliteEngine(),
    database: ws.database,
    clock: new FakeClock(),
    ...extra,
  };
}

/** Databases `a` and `b` beside the main one, and a directory to tar. */
async function sources(ws: Workspace) {
  makeDatabase(ws.database);
  makeDatabase(join(ws.root, "a.db"), { accounts: 10 });
  makeDatabase(join(ws.root, "b.db"), { accounts: 20, events: 7 });
  const uploads = join(ws.root, "uploads");
  await Deno.mkdir(join(uploads, "img"), { recursive: true });
  await Deno.writeTextFile(join(uploads, "settings.json"), '{"theme":"dark"}');
  await Deno.writeFile(join(uploads, "img", "logo.png"), new Uint8Array(3000).fill(7));
  return {
    databases: { a: join(ws.root, "a.db"), b: join(ws.root, "b.db") },
    files: await tarOf(uploads),
  };
}

const names = (checks: { name: string; ok: boolean }[]) =>
  checks.map((c) => `${c.ok ? "ok" : "FAIL"} ${c.name}`);

Deno.test("verifyBackup() checks every part of a backup and restore-tests each database in it", async () => {
  await withWorkspace(async (ws) => {
    const context = contextOf(ws);
    const meta = await createPartsBackup(context, await sources(ws));
    const result = await verifyBackup(context, meta.id, { restoreTest: true, jobs: 1 });
    assert.deepEqual(names(result.checks), [
      "ok sidecar",
      "ok size",
      "ok checksum",
      "ok gzip",
      'ok database "a" size',
      'ok database "a" checksum',
      'ok database "a" gzip',
      'ok database "b" size',
      'ok database "b" checksum',
      'ok database "b" gzip',
      "ok files size",
      "ok files checksum",
      "ok files gzip",
      "ok files archive",
      "ok restore test",
      'ok database "a" restore test',
      'ok database "b" restore test',
    ]);
    assert.equal(result.ok, true);
    const archive = result.checks.find((c) => c.name === "files archive")!;
    assert.equal(archive.detail, `${meta.parts![2].entries} entries, every header read`);
    const after = parseMeta(await readAll(context.storage, metaKey(meta.id)), meta.id);
    assert.equal(after.verification?.outcome, "passed");
  });
});

Deno.test("verifyBackup() of a server backup checks its globals but restore-tests only its databases", async () => {
  await withWorkspace(async (ws) => {
    const context = contextOf(ws);
    const { databases } = await sources(ws);
    const meta = await createPartsBackup(context, { databases, server: true });
    const result = await verifyBackup(context, meta.id, { restoreTest: true, jobs: 1 });
    assert.equal(result.ok, true);
    const tests = result.checks.filter((c) => c.name.endsWith("restore test")).map((c) => c.name);
    assert.deepEqual(tests, ['database "a" restore test', 'database "b" restore test']);
    assert.deepEqual(
      result.checks.filter((c) => c.name.startsWith("globals")).map((c) => c.name),
      ["globals size", "globals checksum", "globals gzip"],
    );
  });
});

/** Damage of the part `db-b` (or the files part) and the failed check it makes. */
const DAMAGES: [string, (ws: Workspace, keys: string[]) => Promise<void>, string, RegExp][] = [
  [
    "a missing database part",
    (ws, keys) => Deno.remove(join(ws.dir, keys[2])),
    'database "b" data file',
    /^its data file "full_\d{8}T\d{9}Z\.db-b\.sql\.gz" is missing$/,
  ],
  [
    "a database part cut short",
    async (ws, keys) => {
      const bytes = await Deno.readFile(join(ws.dir, keys[2]));
      await Deno.writeFile(join(ws.dir, keys[2]), bytes.subarray(0, bytes.length - 9));
    },
    'database "b" data file',
    /^its data file "full_\d{8}T\d{9}Z\.db-b\.sql\.gz" is truncated \(\d+ of \d+ bytes\)$/,
  ],
  [
    "a files part with a changed byte",
    async (ws, keys) => {
      const bytes = await Deno.readFile(join(ws.dir, keys[3]));
      bytes[Math.floor(bytes.length / 2)] ^= 0xff;
      await Deno.writeFile(join(ws.dir, keys[3]), bytes);
    },
    "files data file",
    /^its data file "full_\d{8}T\d{9}Z\.files\.tar\.gz" is damaged \(bytes changed/,
  ],
];

for (const [name, damage, check, says] of DAMAGES) {
  Deno.test(`verifyBackup() fails a backup with ${name}, naming the part's file`, async () => {
    await withWorkspace(async (ws) => {
      const context = contextOf(ws);
      const meta = await createPartsBackup(context, await sources(ws));
      await damage(ws, storedFiles(meta).map((f) => f.file.name));
      const result = await verifyBackup(context, meta.id, { restoreTest: true, jobs: 1 });
      assert.equal(result.ok, false);
      const failed = result.checks.filter((c) => !c.ok);
      assert.equal(failed[0].name, check);
      assert.match(failed[0].detail, says);
      // the other files were checked all the same, and no restore test ran on a damaged backup
      assert.ok(result.checks.some((c) => c.name === 'database "a" checksum' && c.ok));
      assert.ok(!result.checks.some((c) => c.name.endsWith("restore test")));
      const after = parseMeta(await readAll(context.storage, metaKey(meta.id)), meta.id);
      assert.equal(after.verification?.outcome, "failed");
    });
  });
}

Deno.test("verifyBackup() fails a files part that is not a tar, though its checksum matches", async () => {
  await withWorkspace(async (ws) => {
    const context = contextOf(ws);
    makeDatabase(ws.database);
    const meta = await createPartsBackup(context, {
      files: { bytes: new Uint8Array(700).fill(65), entries: 1 },
    });
    const result = await verifyBackup(context, meta.id);
    assert.equal(result.ok, false);
    const archive = result.checks.find((c) => c.name === "files archive")!;
    assert.equal(archive.ok, false);
    assert.match(archive.detail, /^the tar is damaged \(.+\)$/);
    assert.ok(result.checks.find((c) => c.name === "files checksum")?.ok);
  });
});

Deno.test("verifyBackup() restore test of a part fails when its rows differ from the part's sidecar entry", async () => {
  await withWorkspace(async (ws) => {
    const context = contextOf(ws);
    const { databases } = await sources(ws);
    const meta = await createPartsBackup(context, { databases });
    const parts = meta.parts!.map((p) =>
      p.name === "a"
        ? { ...p, tables: p.tables!.map((t) => t.name === "accounts" ? { ...t, rows: 11 } : t) }
        : p
    );
    await writeMeta(context.storage, { ...meta, parts }, true);
    const result = await verifyBackup(context, meta.id, { restoreTest: true, jobs: 1 });
    assert.equal(result.ok, false);
    const test = result.checks.find((c) => c.name === 'database "a" restore test')!;
    assert.equal(test.ok, false);
    assert.equal(test.detail, 'table "accounts" has 10 rows, expected 11');
    assert.ok(result.checks.find((c) => c.name === 'database "b" restore test')?.ok);
  });
});

Deno.test("verifyBackup() decrypts every encrypted part with the identity, and checks stored bytes without one", async () => {
  await withWorkspace(async (ws) => {
    const key = await ageKeygen(ws.root);
    const encryption = { recipients: [key.recipient], identityFile: key.identityFile };
    const context = contextOf(ws, { encryption });
    const meta = await createPartsBackup(context, await sources(ws));
    const result = await verifyBackup(context, meta.id, { restoreTest: true, jobs: 1 });
    assert.equal(result.ok, true, JSON.stringify(result.checks));
    assert.ok(result.checks.some((c) => c.name === 'database "b" decrypt and gzip' && c.ok));
    assert.ok(result.checks.some((c) => c.name === "files archive" && c.ok));
    const blind = await verifyBackup(
      contextOf(ws, { encryption: { recipients: [] } }),
      meta.id,
    );
    assert.equal(blind.ok, true);
    const gzip = blind.checks.find((c) => c.name === 'database "a" decrypt and gzip') ??
      blind.checks.find((c) => c.name === 'database "a" gzip')!;
    assert.match(gzip.detail, /^not checked: encrypted, and no identity file was given/);
  });
});
