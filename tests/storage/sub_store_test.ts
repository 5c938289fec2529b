/**
 * Sub-stores: the prefix one series of several databases lives under (`subStoreUrl`), on a
 * directory and on a real S3 server (radosgw, `tests/helpers/s3_server.ts`). What a sub-store
 * holds never shows in its parent's listing, and the parent lists its sub-stores.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openStorage, subStoreUrl } from "../../src/storage/open_storage.ts";
import type { Storage } from "../../src/storage/storage.ts";
import { S3Storage } from "../../src/storage/s3.ts";
import { s3Server } from "../helpers/s3_server.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

async function put(storage: Storage, key: string, text: string): Promise<void> {
  const writer = await storage.create(key);
  await writer.write(bytes(text));
  await writer.commit();
}

async function text(storage: Storage, key: string): Promise<string> {
  return await new Response(await storage.read(key)).text();
}

const keys = async (storage: Storage) => (await storage.list()).map((e) => e.key).sort();

/** The same expectations for every kind of store. */
async function subStoreBehaviour(root: Storage, open: (name: string) => Storage): Promise<void> {
  assert.deepEqual(await root.subStores!(), []);
  await put(root, "root.meta.json", "root");
  const app = open("app");
  const billing = open("billing");
  await put(app, "full_1.meta.json", "app");
  await put(billing, "full_1.meta.json", "billing");
  await app.append("audit.log", bytes("one\n"));
  assert.deepEqual(await keys(root), ["root.meta.json"]);
  assert.deepEqual(await keys(app), ["audit.log", "full_1.meta.json"]);
  assert.deepEqual(await keys(billing), ["full_1.meta.json"]);
  assert.equal(await text(app, "full_1.meta.json"), "app");
  assert.equal(await text(billing, "full_1.meta.json"), "billing");
  assert.deepEqual((await root.subStores!()).sort(), ["app", "billing"]);
  // an incomplete write in a sub-store is its own, not the parent's
  const writer = await app.create("full_2.sql.gz");
  await writer.write(bytes("half"));
  assert.deepEqual(await root.listIncomplete(), []);
  assert.equal((await app.listIncomplete()).length, 1);
  await writer.abort();
  await app.remove("full_1.meta.json");
  assert.deepEqual(await keys(app), ["audit.log"]);
  assert.deepEqual(await keys(billing), ["full_1.meta.json"]);
}

Deno.test("subStoreUrl() appends one path segment to a directory or a bucket's prefix", () => {
  const cases: [string, string, string][] = [
    ["./backups", "app", "backups/app"],
    ["/var/backups/", "app", "/var/backups/app"],
    ["s3://acme-backups", "app", "s3://acme-backups/app"],
    ["s3://acme-backups/db/", "app", "s3://acme-backups/db/app"],
    ["s3://acme-backups/db", "app-1a2b3c4d", "s3://acme-backups/db/app-1a2b3c4d"],
  ];
  for (const [url, name, expected] of cases) assert.equal(subStoreUrl(url, name), expected);
  for (const bad of ["", ".", "..", "a/b", "a\\b"]) {
    assert.throws(() => subStoreUrl("./backups", bad), TypeError, bad);
  }
});

Deno.test("a local sub-store is a directory of its own, listed by its parent", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const url = join(dir, "backups");
    await subStoreBehaviour(openStorage(url), (name) => openStorage(subStoreUrl(url, name)));
    assert.equal((await Deno.stat(join(url, "app", "audit.log"))).mode! & 0o777, 0o600);
    // the parent's hidden directories are its own bookkeeping, not series
    await Deno.mkdir(join(url, ".locks"));
    assert.deepEqual((await openStorage(url).subStores!()).sort(), ["app", "billing"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an S3 sub-store is a prefix of its own, listed by its parent", async () => {
  const server = await s3Server();
  const bucket = await server.createBucket();
  const opened: S3Storage[] = [];
  const open = (url: string) => {
    const storage = new S3Storage(url, { endpoint: server.endpoint, env: server.env });
    opened.push(storage);
    return storage;
  };
  try {
    const url = `s3://${bucket}/backups`;
    await subStoreBehaviour(open(url), (name) => open(subStoreUrl(url, name)));
    // through openStorage (the lazy store) too
    const lazy = openStorage(url, { s3: { endpoint: server.endpoint }, env: server.env });
    assert.deepEqual((await lazy.subStores!()).sort(), ["app", "billing"]);
  } finally {
    for (const storage of opened) storage.close();
  }
});
