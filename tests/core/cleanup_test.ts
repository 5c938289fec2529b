import assert from "node:assert/strict";
import { cleanup } from "../../src/core/cleanup.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { SqliteEngine } from "../../src/engines/sqlite/sqlite_engine.ts";
import type { Storage } from "../../src/storage/storage.ts";
import { FakeClock, runCli } from "../helpers/cli.ts";
import { listNames, makeDatabase, withWorkspace } from "../helpers/workspace.ts";

/** A real local store whose first `failures` removals of each key fail, like a busy file. */
function flaky(storage: Storage, failures: number): Storage & { attempts: Map<string, number> } {
  const attempts = new Map<string, number>();
  return {
    attempts,
    location: storage.location,
    create: (key, options) => storage.create(key, options),
    read: (key) => storage.read(key),
    stat: (key) => storage.stat(key),
    list: () => storage.list(),
    listIncomplete: () => storage.listIncomplete(),
    freeBytes: () => storage.freeBytes(),
    append: (key, bytes) => storage.append(key, bytes),
    remove(key: string) {
      const n = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, n);
      if (n <= failures) return Promise.reject(new Error(`busy (attempt ${n})`));
      return storage.remove(key);
    },
  };
}

Deno.test("cleanup() retries a failed delete and succeeds when the store recovers", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock();
    for (let i = 0; i < 2; i++) {
      const created = await runCli(["create", "--database", ws.database, "--dir", ws.dir], {
        clock,
      });
      assert.equal(created.code, 0, created.stderr);
      clock.advance();
    }
    const storage = flaky(new LocalStorage(ws.dir), 2);
    const context = { storage, engine: new SqliteEngine(), database: ws.database, clock };
    const report = await cleanup(context, { keepLast: 1 });
    assert.deepEqual(report.failures, []);
    assert.deepEqual([...storage.attempts.values()], [3, 3]);
    assert.deepEqual((await listNames(ws.dir)).filter((n) => n.endsWith(".sql.gz")).length, 1);

    clock.advance();
    const created = await runCli(["create", "--database", ws.database, "--dir", ws.dir], { clock });
    assert.equal(created.code, 0, created.stderr);
    const stuck = flaky(new LocalStorage(ws.dir), 5);
    const failed = await cleanup({ ...context, storage: stuck }, { keepLast: 1 });
    assert.equal(failed.failures.length, 2);
    assert.match(failed.failures[0].error, /^busy \(attempt 3\)$/);
  });
});
