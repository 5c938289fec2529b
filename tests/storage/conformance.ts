import assert from "node:assert/strict";
import { type Storage, StorageNotFoundError } from "../../src/storage/storage.ts";

/** A fresh, empty store and a way to dispose of it. */
export interface StorageFixture {
  storage: Storage;
  dispose(): Promise<void>;
}

const bytes = (text: string) => new TextEncoder().encode(text);

async function readText(storage: Storage, key: string): Promise<string> {
  return await new Response(await storage.read(key)).text();
}

/** The contract of `Storage`, run against every implementation with the same expectations. */
export function storageConformance(name: string, open: () => Promise<StorageFixture>): void {
  const test = (title: string, body: (storage: Storage) => Promise<void>) =>
    Deno.test(`${name}: ${title}`, async () => {
      const fixture = await open();
      try {
        await body(fixture.storage);
      } finally {
        await fixture.dispose();
      }
    });

  test("a committed write can be read back, listed and stat'ed", async (storage) => {
    const writer = await storage.create("a.sql.gz");
    await writer.write(bytes("hello "));
    await writer.write(bytes("world"));
    await writer.commit();
    assert.equal(await readText(storage, "a.sql.gz"), "hello world");
    assert.deepEqual((await storage.list()).map((e) => [e.key, e.size]), [["a.sql.gz", 11]]);
    assert.equal((await storage.stat("a.sql.gz")).size, 11);
  });

  test("nothing is visible under the key before commit, and the write is listed as incomplete", async (storage) => {
    const writer = await storage.create("b");
    await writer.write(bytes("partial"));
    assert.deepEqual(await storage.list(), []);
    assert.equal((await storage.listIncomplete()).length, 1);
    await assert.rejects(() => storage.read("b"), StorageNotFoundError);
    await writer.commit();
    assert.deepEqual(await storage.listIncomplete(), []);
  });

  test("an aborted write leaves nothing", async (storage) => {
    const writer = await storage.create("c");
    await writer.write(bytes("x"));
    await writer.abort();
    assert.deepEqual(await storage.list(), []);
    assert.deepEqual(await storage.listIncomplete(), []);
  });

  test("reading or stat'ing a missing key throws StorageNotFoundError", async (storage) => {
    await assert.rejects(() => storage.read("missing"), StorageNotFoundError);
    await assert.rejects(() => storage.stat("missing"), StorageNotFoundError);
  });

  test("append creates a key, adds to its end, and the key is listed", async (storage) => {
    await storage.append("log.jsonl", bytes("one\n"));
    await storage.append("log.jsonl", bytes("two\n"));
    assert.equal(await readText(storage, "log.jsonl"), "one\ntwo\n");
    assert.deepEqual((await storage.list()).map((e) => [e.key, e.size]), [["log.jsonl", 8]]);
    assert.deepEqual(await storage.listIncomplete(), []);
  });

  test("remove is idempotent", async (storage) => {
    const writer = await storage.create("d");
    await writer.commit();
    await storage.remove("d");
    await storage.remove("d");
    assert.deepEqual(await storage.list(), []);
  });

  test("a commit does not replace an existing key unless asked to", async (storage) => {
    const first = await storage.create("e");
    await first.write(bytes("one"));
    await first.commit();
    const second = await storage.create("e");
    await second.write(bytes("two"));
    await assert.rejects(() => second.commit());
    assert.equal(await readText(storage, "e"), "one");
    const third = await storage.create("e", { overwrite: true });
    await third.write(bytes("three"));
    await third.commit();
    assert.equal(await readText(storage, "e"), "three");
  });

  test("keys with a path separator are refused", async (storage) => {
    await assert.rejects(() => storage.create("../escape"));
    await assert.rejects(() => storage.read("a/b"));
  });
}
