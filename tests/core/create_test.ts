import assert from "node:assert/strict";
import { join } from "node:path";
import { createBackup } from "../../src/core/create.ts";
import type { ServiceContext } from "../../src/core/context.ts";
import { SqliteEngine } from "../../src/engines/sqlite/sqlite_engine.ts";
import { defaultJobs } from "../../src/engines/engine.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { FakeClock } from "../helpers/cli.ts";
import { makeDatabase, withWorkspace, type Workspace } from "../helpers/workspace.ts";
import { type RecordingEngine, recordingEngine } from "../helpers/recording_engine.ts";
import { tool } from "../helpers/s3_cli.ts";

/** A context on the workspace's database and store, with a recording engine. */
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

Deno.test("createBackup() writes <id>.sql.zst as the context's compression says, records it, and hands the engine its jobs", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { events: 500 });
    const context = contextIn(ws, { compression: { format: "zstd", level: 5 }, jobs: 3 });
    const meta = await createBackup(context);
    assert.equal(meta.file.name, `${meta.id}.sql.zst`);
    assert.equal(meta.file.compression, "zstd");
    assert.equal(meta.file.compressionLevel, 5);
    assert.equal(context.engine.dumps[0].jobs, 3);
    const sql = await tool("zstd", ["-dc", join(ws.dir, meta.file.name)]);
    assert.equal(sql.length, meta.sizes.raw);
    assert.match(sql, /^-- /);
  });
});

Deno.test("createBackup() options win over the context's compression and jobs; none stores the SQL itself", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { events: 500 });
    const context = contextIn(ws, { compression: { format: "zstd", level: 5 }, jobs: 3 });
    const meta = await createBackup(context, { compression: { format: "none" }, jobs: 1 });
    assert.equal(meta.file.name, `${meta.id}.sql`);
    assert.equal(meta.file.compression, "none");
    assert.equal(meta.file.compressionLevel, undefined);
    assert.equal(meta.sizes.raw, meta.sizes.compressed);
    assert.equal(context.engine.dumps[0].jobs, 1);
    const text = await Deno.readTextFile(join(ws.dir, meta.file.name));
    assert.equal(new TextEncoder().encode(text).length, meta.sizes.raw);
    assert.match(text, /^-- .*\nCOMMIT;\n/s);
  });
});

Deno.test("createBackup() defaults to gzip level 6 and a job per core", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const context = contextIn(ws);
    const meta = await createBackup(context);
    assert.equal(meta.file.name, `${meta.id}.sql.gz`);
    assert.deepEqual([meta.file.compression, meta.file.compressionLevel], ["gzip", 6]);
    assert.equal(context.engine.dumps[0].jobs, defaultJobs());
    assert.equal(context.engine.dumps[0].jobs, navigator.hardwareConcurrency);
  });
});
