import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { createBackup } from "../../src/core/create.ts";
import { verifyBackup } from "../../src/core/verify.ts";
import { restoreBackup } from "../../src/core/restore.ts";
import { metaKey } from "../../src/core/backup_file.ts";
import type { ServiceContext } from "../../src/core/context.ts";
import type { Compression } from "../../src/core/compression.ts";
import { IntegrityError } from "../../src/core/errors.ts";
import { SqliteEngine } from "../../src/engines/sqlite/sqlite_engine.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { FakeClock } from "../helpers/cli.ts";
import { makeDatabase, withWorkspace, type Workspace } from "../helpers/workspace.ts";
import { type RecordingEngine, recordingEngine } from "../helpers/recording_engine.ts";
import { resealSidecar } from "../helpers/s3_cli.ts";

function contextIn(
  ws: Workspace,
  settings: Pick<ServiceContext, "compression" | "jobs"> = {},
): ServiceContext & { engine: RecordingEngine } {
  return {
    storage: new LocalStorage(ws.dir),
    engine: recordingEngine(new SqliteEngine()),
    database: ws.database,
    clock: new FakeClock(),
    ...settings,
  };
}

const checkName: Record<Compression, string> = { gzip: "gzip", zstd: "zstd", none: "sql" };

for (const format of ["gzip", "zstd", "none"] as Compression[]) {
  Deno.test(`verifyBackup() of a ${format} backup decompresses it to the recorded size and restore-tests it with the jobs`, async () => {
    await withWorkspace(async (ws) => {
      makeDatabase(ws.database, { accounts: 20, events: 200 });
      const context = contextIn(ws, { compression: { format }, jobs: 3 });
      const meta = await createBackup(context);
      const result = await verifyBackup(context, meta.id, { restoreTest: true, jobs: 2 });
      assert.ok(result.ok, JSON.stringify(result.checks));
      assert.deepEqual(result.checks.map((c) => c.name), [
        "sidecar",
        "size",
        "checksum",
        checkName[format],
        "restore test",
      ]);
      assert.equal(result.checks[3].detail, `${meta.sizes.raw} bytes of SQL`);
      assert.deepEqual(
        context.engine.restores.map((r) => [r.compression, r.jobs]),
        [[format, 2]],
      );
    });
  });
}

/** Replaces the backup's data file by `bytes` and seals a sidecar that vouches for them. */
async function forge(ws: Workspace, id: string, name: string, bytes: Uint8Array): Promise<void> {
  await Deno.writeFile(join(ws.dir, name), bytes);
  const sidecar = join(ws.dir, metaKey(id));
  await Deno.writeFile(
    sidecar,
    resealSidecar(await Deno.readFile(sidecar), id, (m) => ({
      ...m,
      sizes: { ...m.sizes, compressed: bytes.length },
      file: { ...m.file, sha256: createHash("sha256").update(bytes).digest("hex") },
    })),
  );
}

Deno.test("a zstd backup with a changed byte but a matching sidecar fails verify and restore, touching nothing", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 20, events: 2000 });
    const context = contextIn(ws, { compression: { format: "zstd" } });
    const meta = await createBackup(context);
    const bytes = new Uint8Array(await Deno.readFile(join(ws.dir, meta.file.name)));
    bytes[Math.floor(bytes.length / 2)] ^= 0x55;
    await forge(ws, meta.id, meta.file.name, bytes);

    const result = await verifyBackup(context, meta.id);
    assert.equal(result.ok, false);
    const check = result.checks.find((c) => c.name === "zstd")!;
    assert.equal(check.ok, false);
    assert.match(check.detail, /^the zstd stream is damaged \(.+\)$/);

    const target = join(ws.root, "target.db");
    makeDatabase(target);
    const before = await Deno.readFile(target);
    await assert.rejects(
      restoreBackup(context, meta.id, { to: target, force: true }),
      (error) =>
        error instanceof IntegrityError &&
        /^Cannot restore: the backup is not a valid zstd stream \(.+\)$/.test(error.message),
    );
    assert.deepEqual(await Deno.readFile(target), before);
  });
});

Deno.test("a zstd backup cut short but with a matching sidecar fails verify, saying so", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 20, events: 2000 });
    const context = contextIn(ws, { compression: { format: "zstd" } });
    const meta = await createBackup(context);
    const bytes = await Deno.readFile(join(ws.dir, meta.file.name));
    await forge(ws, meta.id, meta.file.name, bytes.subarray(0, bytes.length - 7));
    const result = await verifyBackup(context, meta.id);
    assert.deepEqual(result.checks.find((c) => c.name === "zstd"), {
      name: "zstd",
      ok: false,
      detail: "the zstd stream is damaged (unexpected end of file inside a frame)",
    });
  });
});
