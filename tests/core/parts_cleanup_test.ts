/**
 * Retention, pins, orphans and the sweep treat a multi-part backup as one unit: deleting it
 * removes every part, a backup with a part missing is not good (so never the "last good" one
 * kept), a part without its sidecar is an orphan, and a dead writer's parts go with its sidecar
 * partial.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalStorage } from "../../src/storage/local.ts";
import { SqliteEngine } from "../../src/engines/sqlite/sqlite_engine.ts";
import type { ServiceContext } from "../../src/core/context.ts";
import { type BackupMeta, metaKey, storedFiles } from "../../src/core/backup_file.ts";
import { isGood, listBackups } from "../../src/core/catalog.ts";
import { storeLeftovers } from "../../src/core/scratch_sweep.ts";
import { currentOwner } from "../../src/core/scratch_names.ts";
import { localFileLiveness } from "../../src/core/scratch_names.ts";
import { partialName } from "../../src/storage/partial_name.ts";
import { FakeClock, runCli } from "../helpers/cli.ts";
import { createPartsBackup } from "../helpers/parts_backup.ts";
import { listNames, makeDatabase, withWorkspace, type Workspace } from "../helpers/workspace.ts";

/** A multi-part backup (two databases and a files part) made at `at`. */
async function partsBackupAt(ws: Workspace, at: string): Promise<BackupMeta> {
  const context: ServiceContext = {
    storage: new LocalStorage(ws.dir),
    engine: new SqliteEngine(),
    database: ws.database,
    clock: new FakeClock(at),
  };
  for (const name of ["a", "b"]) {
    const path = join(ws.root, `${name}.db`);
    await Deno.remove(path).catch(() => {});
    makeDatabase(path, { accounts: name === "a" ? 4 : 6 });
  }
  return await createPartsBackup(context, {
    databases: { a: join(ws.root, "a.db"), b: join(ws.root, "b.db") },
    files: { bytes: new Uint8Array(2048).fill(1), entries: 3 },
  });
}

const keysOf = (
  meta: BackupMeta,
) => [metaKey(meta.id), ...storedFiles(meta).map((f) => f.file.name)];
/** An hour after the files were written: leftovers with no owner are stale by then. */
const later = () => new FakeClock(new Date(Date.now() + 3600_000));

async function cleanupJson(
  ws: Workspace,
  args: string[],
  clock = new FakeClock("2026-11-24T12:00:00Z"),
) {
  const result = await runCli(["cleanup", "--dir", ws.dir, "--format", "json", ...args], { clock });
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

Deno.test("listBackups() sizes a multi-part backup by all its files and calls one with a missing part damaged", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const meta = await partsBackupAt(ws, "2026-11-23T10:00:00Z");
    const storage = new LocalStorage(ws.dir);
    const [entry] = await listBackups(storage);
    assert.equal(isGood(entry), true);
    assert.equal(entry.dataSize, meta.sizes.compressed);
    assert.equal(entry.storedSize, storedFiles(meta).reduce((sum, f) => sum + f.size, 0));
    const part = meta.parts![1].file.name;
    await Deno.remove(join(ws.dir, part));
    const [damaged] = await listBackups(storage);
    assert.equal(isGood(damaged), false);
    assert.equal(damaged.problem, `Backup "${meta.id}": its data file "${part}" is missing`);
    const bytes = await Deno.readFile(join(ws.dir, meta.parts![2].file.name));
    await Deno.writeFile(join(ws.dir, part), new Uint8Array(10));
    await Deno.writeFile(join(ws.dir, meta.parts![2].file.name), bytes.subarray(0, 5));
    const [cut] = await listBackups(storage);
    assert.match(cut.problem!, new RegExp(`its data file "${part.replaceAll(".", "\\.")}" `));
  });
});

Deno.test("cleanup deletes a multi-part backup with every part, and keeps the newest whole", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const old = await partsBackupAt(ws, "2026-11-21T10:00:00Z");
    const newest = await partsBackupAt(ws, "2026-11-23T10:00:00Z");
    const report = await cleanupJson(ws, ["--keep-last", "1"]);
    const deleted = report.decisions.filter((d: { action: string }) => d.action === "delete");
    assert.deepEqual(deleted.map((d: { id: string }) => d.id), [old.id]);
    // the plan's size counts every part
    const size = deleted[0].size;
    assert.ok(size > storedFiles(old).reduce((sum, f) => sum + f.size, 0), String(size));
    const names = (await listNames(ws.dir)).filter((n) => !n.startsWith("."));
    assert.deepEqual(names.filter((n) => n.startsWith(old.id)), []);
    assert.deepEqual(names.filter((n) => n.startsWith(newest.id)).sort(), keysOf(newest).sort());
  });
});

Deno.test("cleanup never deletes the last good backup when the newest has a part missing", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const good = await partsBackupAt(ws, "2026-11-21T10:00:00Z");
    const broken = await partsBackupAt(ws, "2026-11-23T10:00:00Z");
    await Deno.remove(join(ws.dir, broken.parts![0].file.name));
    const report = await cleanupJson(ws, ["--keep-last", "1"]);
    const kept = report.decisions.find((d: { id: string }) => d.id === good.id);
    assert.equal(kept.action, "keep");
    const names = await listNames(ws.dir);
    for (const key of keysOf(good)) assert.ok(names.includes(key), key);
  });
});

Deno.test("a pinned multi-part backup survives retention with every part; unpinned it goes whole", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const old = await partsBackupAt(ws, "2026-11-20T10:00:00Z");
    await partsBackupAt(ws, "2026-11-23T10:00:00Z");
    const pinned = await runCli(["pin", old.id, "--dir", ws.dir, "--reason", "audit"]);
    assert.equal(pinned.code, 0, pinned.stderr);
    const report = await cleanupJson(ws, ["--keep-last", "1"]);
    assert.equal(report.decisions.find((d: { id: string }) => d.id === old.id).action, "keep");
    const names = await listNames(ws.dir);
    for (const key of keysOf(old)) assert.ok(names.includes(key), key);
    // the pin rewrote the sidecar with its parts, and the backup is still whole
    const listed = (await listBackups(new LocalStorage(ws.dir))).find((b) => b.id === old.id)!;
    assert.equal(isGood(listed), true);
    assert.deepEqual(listed.meta!.parts, old.parts);
    assert.equal((await runCli(["unpin", old.id, "--dir", ws.dir])).code, 0);
    await cleanupJson(ws, ["--keep-last", "1"]);
    assert.deepEqual((await listNames(ws.dir)).filter((n) => n.startsWith(old.id)), []);
  });
});

Deno.test("parts without a sidecar, and a part its sidecar does not name, are orphans that list shows and cleanup removes", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const kept = await partsBackupAt(ws, "2026-11-22T10:00:00Z");
    const lost = await partsBackupAt(ws, "2026-11-23T10:00:00Z");
    await Deno.remove(join(ws.dir, metaKey(lost.id)));
    const extra = `${kept.id}.db-extra.sql.gz`;
    await Deno.writeFile(join(ws.dir, extra), new Uint8Array(40));
    const listed = await runCli(["list", "--dir", ws.dir]);
    assert.equal(listed.code, 0, listed.stderr);
    for (const key of [...storedFiles(lost).map((f) => f.file.name), extra]) {
      assert.ok(listed.stdout.includes(`! Data file "${key}" has no sidecar`), listed.stdout);
    }
    // young, they may belong to a run in progress; an hour later they are removed
    const young = await cleanupJson(ws, ["--keep-last", "5", "--dry-run"], new FakeClock());
    assert.ok(young.incomplete.every((i: { action: string }) => i.action === "keep"));
    const report = await cleanupJson(ws, ["--keep-last", "5"], later());
    assert.deepEqual(
      report.incomplete.map((i: { key: string }) => i.key).sort(),
      [...storedFiles(lost).map((f) => f.file.name), extra].sort(),
    );
    const names = (await listNames(ws.dir)).filter((n) => /^full_/.test(n));
    assert.deepEqual(names.sort(), keysOf(kept).sort());
  });
});

Deno.test("storeLeftovers() places every committed part of a dead writer's backup with its sidecar partial", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const meta = await partsBackupAt(ws, "2026-11-23T10:00:00Z");
    const sidecar = await Deno.readFile(join(ws.dir, metaKey(meta.id)));
    await Deno.remove(join(ws.dir, metaKey(meta.id)));
    const child = new Deno.Command("true").spawn();
    await child.status;
    const partial = partialName(metaKey(meta.id), { ...currentOwner(new Date()), pid: child.pid });
    await Deno.writeFile(join(ws.dir, partial), sidecar);
    const leftovers = await storeLeftovers(new LocalStorage(ws.dir), localFileLiveness(new Date()));
    assert.deepEqual(
      leftovers.filter((l) => l.kind === "orphan").map((l) => l.name).sort(),
      storedFiles(meta).map((f) => f.file.name).sort(),
    );
    assert.ok(leftovers.every((l) => l.stale));
    // the orphans come first: a sweep cut short still finds the partial that places them
    assert.equal(leftovers.at(-1)!.name, partial);
  });
});
