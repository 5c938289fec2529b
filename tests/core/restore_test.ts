import assert from "node:assert/strict";
import { join } from "node:path";
import { createBackup } from "../../src/core/create.ts";
import { restoreBackup } from "../../src/core/restore.ts";
import { metaKey, serializeMeta, type UnsealedMeta } from "../../src/core/backup_file.ts";
import type { ServiceContext } from "../../src/core/context.ts";
import type { Compression } from "../../src/core/compression.ts";
import { SqliteEngine } from "../../src/engines/sqlite/sqlite_engine.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { FakeClock } from "../helpers/cli.ts";
import { makeDatabase, withWorkspace, type Workspace } from "../helpers/workspace.ts";
import { type RecordingEngine, recordingEngine } from "../helpers/recording_engine.ts";
import { compareDatabases } from "../helpers/sqlite_compare.ts";

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

for (const format of ["gzip", "zstd", "none"] as Compression[]) {
  Deno.test(`restoreBackup() of a ${format} backup tells the engine the sidecar's compression and the jobs`, async () => {
    await withWorkspace(async (ws) => {
      makeDatabase(ws.database, { accounts: 40, events: 300 });
      const context = contextIn(ws, { compression: { format }, jobs: 3 });
      const meta = await createBackup(context);
      // the setting changed since: the restore follows the sidecar, not the setting
      const later = { ...context, compression: { format: "gzip" as const } };
      const target = join(ws.root, "restored.db");
      await restoreBackup(later, meta.id, { to: target, jobs: 2 });
      // the run's signal goes down too (the stall watchdog's, `watchdog.ts`)
      const restores = context.engine.restores.map(({ signal, ...options }) => {
        assert.ok(signal instanceof AbortSignal);
        return options;
      });
      assert.deepEqual(restores, [{
        replace: true,
        clean: undefined,
        create: undefined,
        noOwner: undefined,
        noPrivileges: undefined,
        onProgress: undefined,
        jobs: 2,
        compression: format,
        // what the engine checks the restored database against and bounds its reading by
        expected: { tables: meta.tables, rawBytes: meta.sizes.raw },
      }]);
      assert.deepEqual(compareDatabases(ws.database, target), []);
    });
  });
}

Deno.test("restoreBackup() takes the safety backup with the context's compression and the restore's jobs", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { events: 100 });
    const context = contextIn(ws, { compression: { format: "zstd", level: 1 }, jobs: 4 });
    const meta = await createBackup(context);
    const result = await restoreBackup(context, meta.id, { force: true, jobs: 1 });
    assert.ok(result.safetyBackup);
    assert.deepEqual(context.engine.dumps.map((d) => d.jobs), [4, 1]);
    assert.deepEqual(context.engine.restores.map((r) => r.jobs), [1]);
    const names = [...Deno.readDirSync(ws.dir)].map((e) => e.name);
    assert.ok(names.includes(`${result.safetyBackup}.sql.zst`), names.join(", "));
  });
});

Deno.test("restoreBackup() restores a gzip backup whose sidecar predates the compression field", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 10, events: 50 });
    const context = contextIn(ws);
    const meta = await createBackup(context);
    const { sidecarSha256: _, ...rest } = meta;
    const { compression: _c, compressionLevel: _l, ...file } = rest.file;
    const old = { ...rest, file } as unknown as UnsealedMeta;
    await Deno.writeFile(join(ws.dir, metaKey(meta.id)), serializeMeta(old));
    assert.doesNotMatch(await Deno.readTextFile(join(ws.dir, metaKey(meta.id))), /compression/);
    const target = join(ws.root, "restored.db");
    await restoreBackup(context, meta.id, { to: target });
    assert.equal(context.engine.restores[0].compression, "gzip");
    assert.deepEqual(compareDatabases(ws.database, target), []);
  });
});
