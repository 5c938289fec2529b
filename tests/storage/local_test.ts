import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalStorage } from "../../src/storage/local.ts";
import { storageConformance } from "./conformance.ts";

storageConformance("LocalStorage", async () => {
  const directory = await Deno.makeTempDir();
  return {
    storage: new LocalStorage(join(directory, "backups")),
    dispose: () => Deno.remove(directory, { recursive: true }),
  };
});

Deno.test("LocalStorage writes files readable by their owner only", async () => {
  const directory = await Deno.makeTempDir();
  try {
    const storage = new LocalStorage(directory);
    const writer = await storage.create("secret.sql.gz");
    await writer.write(new Uint8Array([1, 2, 3]));
    await writer.commit();
    assert.equal((await Deno.stat(join(directory, "secret.sql.gz"))).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("LocalStorage lists a missing directory as empty and creates it on first write", async () => {
  const directory = await Deno.makeTempDir();
  try {
    const storage = new LocalStorage(join(directory, "not-yet"));
    assert.deepEqual(await storage.list(), []);
    await (await storage.create("k")).commit();
    assert.equal((await storage.list()).length, 1);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});
