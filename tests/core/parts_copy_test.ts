/**
 * Copies of multi-part backups: every part goes before the sidecar, each checked on the way;
 * already-there compares every part; a copy that fails midway leaves nothing at the
 * destination; a destination with a part missing is damaged and copied again. Local stores and
 * a real S3 bucket (radosgw).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalStorage } from "../../src/storage/local.ts";
import { SqliteEngine } from "../../src/engines/sqlite/sqlite_engine.ts";
import type { ServiceContext } from "../../src/core/context.ts";
import { type BackupMeta, metaKey, storedFiles } from "../../src/core/backup_file.ts";
import { copyBackup, syncDestination } from "../../src/core/copy.ts";
import { verifyBackup } from "../../src/core/verify.ts";
import { writeMeta } from "../../src/core/catalog.ts";
import { IntegrityError, RefusedError } from "../../src/core/errors.ts";
import { FakeClock } from "../helpers/cli.ts";
import { ageKeygen, s3Cli, withS3Run } from "../helpers/s3_cli.ts";
import { createPartsBackup, tarOf } from "../helpers/parts_backup.ts";
import { listNames, makeDatabase, withWorkspace, type Workspace } from "../helpers/workspace.ts";

function contextOf(
  ws: Workspace,
  dir = ws.dir,
  extra: Partial<ServiceContext> = {},
): ServiceContext {
  return {
    storage: new LocalStorage(dir),
    engine: new SqliteEngine(),
    database: ws.database,
    clock: new FakeClock(),
    ...extra,
  };
}

async function partsBackup(ws: Workspace, context: ServiceContext): Promise<BackupMeta> {
  makeDatabase(ws.database);
  makeDatabase(join(ws.root, "a.db"), { accounts: 10 });
  makeDatabase(join(ws.root, "b.db"), { accounts: 20 });
  const uploads = join(ws.root, "uploads");
  await Deno.mkdir(uploads);
  await Deno.writeTextFile(join(uploads, "config.json"), "{}");
  return await createPartsBackup(context, {
    databases: { a: join(ws.root, "a.db"), "b b": join(ws.root, "b.db") },
    files: await tarOf(uploads),
  });
}

const keysOf = (
  meta: BackupMeta,
) => [metaKey(meta.id), ...storedFiles(meta).map((f) => f.file.name)];

Deno.test("copyBackup() copies every part and the sidecar byte for byte; a second copy is a no-op", async () => {
  await withWorkspace(async (ws) => {
    const context = contextOf(ws);
    const meta = await partsBackup(ws, context);
    const there = join(ws.root, "there");
    const progress: number[] = [];
    const result = await copyBackup(context.storage, new LocalStorage(there), meta.id, {
      onProgress: (bytes) => progress.push(bytes),
    });
    const total = storedFiles(meta).reduce((sum, f) => sum + f.size, 0);
    assert.equal(result.bytes, total);
    assert.equal(progress.at(-1), total);
    assert.deepEqual((await listNames(there)).sort(), keysOf(meta).sort());
    for (const key of keysOf(meta)) {
      assert.deepEqual(
        await Deno.readFile(join(there, key)),
        await Deno.readFile(join(ws.dir, key)),
      );
    }
    assert.ok(meta.parts!.some((p) => p.file.name === `${meta.id}.db-b%20b.sql.gz`));
    const verified = await verifyBackup(contextOf(ws, there), meta.id, {
      restoreTest: true,
      jobs: 1,
    });
    assert.equal(verified.ok, true, JSON.stringify(verified.checks));
    const again = await copyBackup(context.storage, new LocalStorage(there), meta.id);
    assert.deepEqual([again.alreadyThere, again.bytes], [true, 0]);
  });
});

Deno.test("copyBackup() of a backup with a missing part is refused naming the part, and leaves nothing at the destination", async () => {
  await withWorkspace(async (ws) => {
    const context = contextOf(ws);
    const meta = await partsBackup(ws, context);
    const part = meta.parts![1].file.name;
    await Deno.remove(join(ws.dir, part));
    const there = join(ws.root, "there");
    await assert.rejects(
      () => copyBackup(context.storage, new LocalStorage(there), meta.id),
      (error) => {
        assert.ok(error instanceof IntegrityError);
        assert.equal(
          error.message,
          `Cannot copy backup "${meta.id}": its data file "${part}" is missing; restore another backup`,
        );
        return true;
      },
    );
    // the main file and the first part were committed, then taken back
    assert.deepEqual(await listNames(there).catch(() => []), []);
  });
});

Deno.test("copyBackup() of a backup with a damaged last part leaves nothing at the destination", async () => {
  await withWorkspace(async (ws) => {
    const context = contextOf(ws);
    const meta = await partsBackup(ws, context);
    const last = storedFiles(meta).at(-1)!.file.name;
    const bytes = await Deno.readFile(join(ws.dir, last));
    bytes[bytes.length - 10] ^= 1;
    await Deno.writeFile(join(ws.dir, last), bytes);
    const there = join(ws.root, "there");
    await assert.rejects(
      () => copyBackup(context.storage, new LocalStorage(there), meta.id),
      new RegExp(
        `^IntegrityError: Cannot copy backup "${meta.id}": its data file "${
          last.replaceAll(".", "\\.")
        }" is damaged`,
      ),
    );
    assert.deepEqual(await listNames(there), []);
  });
});

Deno.test("copyBackup() replaces a copy with a part missing, and refuses one whose part differs", async () => {
  await withWorkspace(async (ws) => {
    const context = contextOf(ws);
    const meta = await partsBackup(ws, context);
    const there = join(ws.root, "there");
    const to = new LocalStorage(there);
    await copyBackup(context.storage, to, meta.id);
    await Deno.remove(join(there, meta.parts![0].file.name));
    const again = await copyBackup(context.storage, to, meta.id);
    assert.equal(again.alreadyThere, false);
    assert.deepEqual((await listNames(there)).sort(), keysOf(meta).sort());
    // the same id there with another part (same size, so no listing tells): refused
    const parts = meta.parts!.map((p, i) =>
      i === 0 ? { ...p, file: { ...p.file, sha256: "0".repeat(64) } } : p
    );
    await writeMeta(to, { ...meta, parts }, true);
    await assert.rejects(
      () => copyBackup(context.storage, to, meta.id),
      (error) =>
        error instanceof RefusedError &&
        /holds a different backup of the same id/.test(error.message),
    );
  });
});

Deno.test("syncDestination() copies a multi-part backup the destination lacks, and again once a part is lost there", async () => {
  await withWorkspace(async (ws) => {
    const context = contextOf(ws);
    const meta = await partsBackup(ws, context);
    const there = join(ws.root, "there");
    const destination = { storage: new LocalStorage(there), policy: {} };
    const first = await syncDestination(context, destination);
    assert.deepEqual(first.copied.map((c) => c.id), [meta.id]);
    const second = await syncDestination(context, destination);
    assert.deepEqual(second.copied, []);
    await Deno.remove(join(there, storedFiles(meta).at(-1)!.file.name));
    const third = await syncDestination(context, destination);
    assert.deepEqual(third.copied.map((c) => [c.id, c.alreadyThere]), [[meta.id, false]]);
    assert.deepEqual(
      (await listNames(there)).filter((n) => n.startsWith("full_")).sort(),
      keysOf(meta).sort(),
    );
  });
});

Deno.test("copy --to s3:// and --from carry every encrypted part of a backup, and verify passes there", async () => {
  await withS3Run(async (run) => {
    const key = await ageKeygen(run.ws.root);
    const encryption = { recipients: [key.recipient], identityFile: key.identityFile };
    const context = contextOf(run.ws, run.ws.dir, { encryption, clock: run.clock });
    await Deno.remove(run.ws.database);
    const meta = await partsBackup(run.ws, context);
    assert.ok(storedFiles(meta).every((f) => f.file.name.endsWith(".age")));
    const url = run.bucket.url("offsite");
    const up = await s3Cli(run, ["copy", meta.id, "--to", url, "--dir", run.ws.dir]);
    assert.equal(up.code, 0, up.stderr);
    assert.deepEqual(
      await run.bucket.keys("offsite/"),
      keysOf(meta).map((k) => `offsite/${k}`).sort(),
    );
    for (const file of storedFiles(meta)) {
      assert.deepEqual(
        await run.bucket.read(`offsite/${file.file.name}`),
        await Deno.readFile(join(run.ws.dir, file.file.name)),
      );
    }
    const again = await s3Cli(run, ["copy", meta.id, "--to", url, "--dir", run.ws.dir]);
    assert.equal(again.stdout, `${url} already holds ${meta.id}: nothing was copied\n`);
    const verified = await s3Cli(run, [
      "verify",
      meta.id,
      "--dir",
      url,
      "--identity",
      key.identityFile,
    ]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /ok {3}database "b b" decrypt and gzip: /);
    assert.match(verified.stdout, /ok {3}files archive: 2 entries, every header read/);
    // a part lost in the bucket: the copy there is damaged, and copying down is refused
    await run.bucket.remove(`offsite/${meta.parts![0].file.name}`);
    const listed = await s3Cli(run, ["list", "--dir", url]);
    assert.match(listed.stdout, /DAMAGED/);
    const elsewhere = join(run.ws.root, "elsewhere");
    const down = await s3Cli(run, ["copy", meta.id, "--from", url, "--dir", elsewhere]);
    assert.notEqual(down.code, 0);
    assert.match(
      down.stderr,
      new RegExp(`its data file "${meta.parts![0].file.name.replaceAll(".", "\\.")}" is missing`),
    );
    assert.deepEqual(
      (await listNames(elsewhere).catch(() => [])).filter((n) => n.startsWith("full_")),
      [],
    );
  });
});
