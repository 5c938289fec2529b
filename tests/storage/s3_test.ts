/**
 * S3Storage against a real S3 server (Ceph's radosgw, `tests/helpers/s3_server.ts`): the shared
 * conformance suite, then what only an object store has: multipart parts, abandoned uploads,
 * prefixes sharing a bucket, and the messages for wrong keys, missing buckets and dead servers.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { StorageError, UsageError } from "../../src/core/errors.ts";
import { parseS3Url, S3Storage } from "../../src/storage/s3.ts";
import { PART_SIZE } from "../../src/storage/_s3_writer.ts";
import { type S3Server, s3Server, startS3Server } from "../helpers/s3_server.ts";
import { storageConformance } from "./conformance.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const WRONG_SECRET = "wrong-secret-Zq9vX2mN7bL4kP1";
const EXTERNAL_SERVER = Boolean(Deno.env.get("TEST_S3_ENDPOINT"));

storageConformance("S3Storage", async () => {
  const server = await s3Server();
  const storage = storageOn(server, `s3://${await server.createBucket()}/backups`);
  return { storage, dispose: () => Promise.resolve(storage.close()) };
});

function storageOn(
  server: S3Server,
  url: string,
  env: Record<string, string> = server.env,
): S3Storage {
  return new S3Storage(url, { endpoint: server.endpoint, env });
}

/** Runs `body` with storages that it opens through `open`, all closed afterwards. */
async function withStorages(
  body: (open: (url: string, env?: Record<string, string>) => S3Storage) => Promise<void>,
  server?: S3Server,
): Promise<void> {
  const target = server ?? await s3Server();
  const opened: S3Storage[] = [];
  try {
    await body((url, env) => {
      const storage = storageOn(target, url, env);
      opened.push(storage);
      return storage;
    });
  } finally {
    for (const storage of opened) storage.close();
  }
}

async function readAll(storage: S3Storage, key: string): Promise<Uint8Array> {
  return new Uint8Array(await new Response(await storage.read(key)).arrayBuffer());
}

async function readText(storage: S3Storage, key: string): Promise<string> {
  return new TextDecoder().decode(await readAll(storage, key));
}

/** Deterministic bytes that do not compress or repeat at part boundaries. */
function noise(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

Deno.test("parseS3Url() splits bucket and prefix and refuses unusable buckets", () => {
  const cases: [string, { bucket: string; prefix: string } | undefined][] = [
    ["s3://backups", { bucket: "backups", prefix: "" }],
    ["s3://backups/", { bucket: "backups", prefix: "" }],
    ["s3://backups/db/prod/", { bucket: "backups", prefix: "db/prod" }],
    ["s3://backups//db//prod", { bucket: "backups", prefix: "db/prod" }],
    ["/var/backups", undefined],
    ["backups", undefined],
    ["https://backups.example.com/db", undefined],
  ];
  for (const [url, expected] of cases) assert.deepEqual(parseS3Url(url), expected, url);
  const refused: [string, string][] = [
    ["s3://", "the bucket name is empty"],
    ["s3:///prefix", "the bucket name is empty"],
    ["s3://ab/prefix", "a bucket name has 3 to 63 characters"],
    ["s3://Backups", "a bucket name has only lowercase letters, digits, dots and hyphens"],
    ["s3://my_bucket", "a bucket name has only lowercase letters, digits, dots and hyphens"],
  ];
  for (const [url, why] of refused) {
    assert.throws(() => parseS3Url(url), {
      name: "UsageError",
      message: `Cannot use "${url}" as an S3 location: ${why} (use s3://BUCKET/PREFIX)`,
    });
    assert.throws(() => parseS3Url(url), UsageError);
  }
});

Deno.test("S3Storage writes 20 MiB in several parts and reads it back byte-identical", async () => {
  await withStorages(async (open) => {
    const server = await s3Server();
    const bucket = await server.createBucket();
    const storage = open(`s3://${bucket}/big`);
    const data = noise(20 * 1024 * 1024 + 12_345, 42);
    const writer = await storage.create("big.sql.gz");
    // odd chunk sizes, so parts are cut in the middle of chunks
    for (let offset = 0; offset < data.length; offset += 777_777) {
      await writer.write(data.subarray(offset, offset + 777_777));
    }
    await writer.commit();
    assert.equal((await storage.stat("big.sql.gz")).size, data.length);
    assert.equal(sha256(await readAll(storage, "big.sql.gz")), sha256(data));
    const parts = Math.ceil(data.length / PART_SIZE);
    const client = new S3Client({
      endpoint: server.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    });
    try {
      const head = await client.send(
        new HeadObjectCommand({ Bucket: bucket, Key: "big/big.sql.gz" }),
      );
      assert.match(head.ETag ?? "", new RegExp(`-${parts}"$`));
    } finally {
      client.destroy();
    }
  });
});

Deno.test("S3Storage lists an abandoned upload as incomplete, and removing that entry aborts it", async () => {
  await withStorages(async (open) => {
    const storage = open(`s3://${await (await s3Server()).createBucket()}/p`);
    const writer = await storage.create("abandoned.sql.gz");
    await writer.write(bytes("never committed"));
    assert.deepEqual(await storage.list(), []);
    const incomplete = await storage.listIncomplete();
    assert.equal(incomplete.length, 1);
    assert.match(incomplete[0].key, /^abandoned\.sql\.gz\.partial~[^/]+$/);
    assert.ok(Date.now() - incomplete[0].modifiedAt.getTime() < 60_000);
    await storage.remove(incomplete[0].key);
    await storage.remove(incomplete[0].key); // idempotent
    assert.deepEqual(await storage.listIncomplete(), []);
    await assert.rejects(() => writer.commit(), StorageError);
    assert.deepEqual(await storage.list(), []);
  });
});

Deno.test("S3Storage counts an incomplete upload's uploaded parts in its size", async () => {
  await withStorages(async (open) => {
    const storage = open(`s3://${await (await s3Server()).createBucket()}`);
    const writer = await storage.create("half");
    await writer.write(noise(PART_SIZE, 7));
    // the full part is on its way; wait until the server has it
    let size = 0;
    for (let i = 0; i < 100 && size === 0; i++) {
      size = (await storage.listIncomplete())[0]?.size ?? 0;
      if (size === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(size, PART_SIZE);
    await writer.abort();
    await writer.abort(); // twice is fine
    assert.deepEqual(await storage.listIncomplete(), []);
  });
});

Deno.test("S3Storage never touches another prefix of the same bucket", async () => {
  await withStorages(async (open) => {
    const bucket = await (await s3Server()).createBucket();
    const root = open(`s3://${bucket}`);
    const prefix = open(`s3://${bucket}/prefix`);
    const prefix2 = open(`s3://${bucket}/prefix2`);
    const nested = open(`s3://${bucket}/prefix/sub`);
    for (const [storage, text] of [[root, "root"], [prefix, "one"], [prefix2, "two"]] as const) {
      const writer = await storage.create("k");
      await writer.write(bytes(text));
      await writer.commit();
    }
    await prefix.append("audit.jsonl", bytes("{}\n"));
    const open2 = await prefix2.create("open");
    assert.deepEqual((await root.list()).map((e) => [e.key, e.size]), [["k", 4]]);
    assert.deepEqual(
      (await prefix.list()).map((e) => [e.key, e.size]).sort(),
      [["audit.jsonl", 3], ["k", 3]],
    );
    assert.deepEqual((await prefix2.list()).map((e) => [e.key, e.size]), [["k", 3]]);
    assert.deepEqual(await nested.list(), []);
    assert.deepEqual(await prefix.listIncomplete(), []);
    assert.deepEqual(await root.listIncomplete(), []);
    assert.equal((await prefix2.listIncomplete()).length, 1);
    await prefix2.remove("k");
    await prefix2.remove("audit.jsonl");
    assert.equal(await readText(prefix, "k"), "one");
    assert.equal(await readText(prefix, "audit.jsonl"), "{}\n");
    assert.equal(await readText(root, "k"), "root");
    await open2.abort();
  });
});

Deno.test("S3Storage says the key is wrong, naming endpoint and bucket but never the secret", async () => {
  await withStorages(async (open) => {
    const server = await s3Server();
    const bucket = await server.createBucket();
    const storage = open(`s3://${bucket}/p`, {
      ...server.env,
      AWS_SECRET_ACCESS_KEY: WRONG_SECRET,
    });
    const host = new URL(server.endpoint).host;
    const why =
      "the access key or secret is wrong (check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the profile)";
    for (
      const [call, action] of [
        [() => storage.list(), "list"],
        [() => storage.create("x"), 'start writing "x" to'],
        [() => storage.read("x"), 'read "x" from'],
      ] as const
    ) {
      const error = await (call() as Promise<unknown>).then(() => undefined, (e) => e);
      assert.ok(error instanceof StorageError, String(error));
      assert.equal(error.message, `Cannot ${action} "s3://${bucket}/p" at ${host}: ${why}`);
      assert.ok(
        !error.message.includes(WRONG_SECRET) && !error.message.includes(server.secretAccessKey),
      );
      assert.ok(error.cause !== undefined);
    }
    assert.ok(!storage.location.includes(WRONG_SECRET));
  });
});

Deno.test("S3Storage says a missing bucket does not exist", async () => {
  await withStorages(async (open) => {
    const server = await s3Server();
    const bucket = `missing-${crypto.randomUUID().slice(0, 8)}`;
    const storage = open(`s3://${bucket}/p`);
    const host = new URL(server.endpoint).host;
    const why = `the bucket "${bucket}" does not exist (create it first)`;
    await assert.rejects(() => storage.list(), {
      name: "StorageError",
      message: `Cannot list "s3://${bucket}/p" at ${host}: ${why}`,
    });
    await assert.rejects(() => storage.create("x"), {
      name: "StorageError",
      message: `Cannot start writing "x" to "s3://${bucket}/p" at ${host}: ${why}`,
    });
    await assert.rejects(() => storage.stat("x"), {
      name: "StorageError",
      message: `Cannot list "s3://${bucket}/p" at ${host}: ${why}`,
    });
  });
});

Deno.test("S3Storage says it cannot connect, without the endpoint's user info", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close(); // nothing listens there now
  const storage = new S3Storage("s3://nowhere/p", {
    endpoint: `http://someone:endpoint-password@127.0.0.1:${port}`,
    env: { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: WRONG_SECRET },
  });
  try {
    const started = performance.now();
    await assert.rejects(() => storage.list(), {
      name: "StorageError",
      message:
        `Cannot list "s3://nowhere/p" at 127.0.0.1:${port}: cannot connect to 127.0.0.1:${port} (is the server running?)`,
    });
    assert.ok(performance.now() - started < 20_000);
    assert.equal(storage.location, "s3://nowhere/p");
  } finally {
    storage.close();
  }
});

Deno.test({
  name:
    "S3Storage fails a write within seconds when the server dies mid-upload, and nothing is complete",
  // kills or pauses its own server: not possible with TEST_S3_ENDPOINT
  ignore: EXTERNAL_SERVER,
}, async () => {
  const server = await startS3Server();
  try {
    await withStorages(async (open) => {
      const storage = open(`s3://${await server.createBucket()}/p`);
      const writer = await storage.create("dies.sql.gz");
      const data = noise(PART_SIZE * 3, 9);
      await writer.write(data.subarray(0, PART_SIZE + 1000));
      await server.kill();
      const started = performance.now();
      const failure = (async () => {
        for (let offset = PART_SIZE + 1000; offset < data.length; offset += 1 << 20) {
          await writer.write(data.subarray(offset, offset + (1 << 20)));
        }
        await writer.commit();
      })();
      const error = await failure.then(() => undefined, (e) => e);
      const elapsed = performance.now() - started;
      assert.ok(error instanceof StorageError, String(error));
      assert.match(
        error.message,
        /cannot connect to 127\.0\.0\.1:\d+ \(is the server running\?\)$/,
      );
      // a hang guard, not a speed check: the SDK gives up after its timeouts and retries
      assert.ok(elapsed < 120_000, `took ${elapsed} ms`);
      await writer.abort(); // the server is gone: best effort, no throw
      await server.restart();
      assert.deepEqual(await storage.list(), []);
      await assert.rejects(() => storage.stat("dies.sql.gz"));
      for (const entry of await storage.listIncomplete()) await storage.remove(entry.key);
      assert.deepEqual(await storage.listIncomplete(), []);
    }, server);
  } finally {
    await server.stop();
  }
});

Deno.test({
  name: "S3Storage.write() waits while two parts are in flight, and goes on when they land",
  // kills or pauses its own server: not possible with TEST_S3_ENDPOINT
  ignore: EXTERNAL_SERVER,
}, async () => {
  const server = await startS3Server();
  try {
    await withStorages(async (open) => {
      const storage = open(`s3://${await server.createBucket()}/p`);
      const writer = await storage.create("paced");
      const data = noise(PART_SIZE * 3 + 10, 3);
      await server.pause();
      let resumed = false;
      try {
        // two parts go out and hang on the paused server; write() still returns at once
        await writer.write(data.subarray(0, PART_SIZE));
        await writer.write(data.subarray(PART_SIZE, 2 * PART_SIZE));
        const third = writer.write(data.subarray(2 * PART_SIZE));
        const early = await Promise.race([
          third.then(() => "resolved"),
          new Promise((resolve) => setTimeout(() => resolve("waiting"), 1_000)),
        ]);
        assert.equal(early, "waiting");
        await server.resume();
        resumed = true;
        await third;
      } finally {
        if (!resumed) await server.resume();
      }
      await writer.commit();
      assert.equal(sha256(await readAll(storage, "paced")), sha256(data));
    }, server);
  } finally {
    await server.stop();
  }
});

Deno.test("S3Storage applies the storage class, and names it when the server refuses it", async () => {
  const server = await s3Server();
  const bucket = await server.createBucket();
  const host = new URL(server.endpoint).host;
  const standard = new S3Storage(`s3://${bucket}/a`, {
    endpoint: server.endpoint,
    env: server.env,
    storageClass: "STANDARD",
  });
  const unknown = new S3Storage(`s3://${bucket}/b`, {
    endpoint: server.endpoint,
    env: server.env,
    storageClass: "NO_SUCH_CLASS",
  });
  try {
    const writer = await standard.create("k");
    await writer.write(bytes("x"));
    await writer.commit();
    await standard.append("log", bytes("x"));
    assert.deepEqual((await standard.list()).map((e) => e.key).sort(), ["k", "log"]);
    await assert.rejects(() => unknown.create("k"), {
      name: "StorageError",
      message: `Cannot start writing "k" to "s3://${bucket}/b" at ${host}: the server refused ` +
        `storage class "NO_SUCH_CLASS" with 400 InvalidArgument (check that setting; the server may not support it)`,
    });
  } finally {
    standard.close();
    unknown.close();
  }
});

Deno.test("S3Storage refuses an unknown server-side encryption before any request", () => {
  assert.throws(() => new S3Storage("s3://bucket", { serverSideEncryption: "rot13" }), {
    name: "UsageError",
    message: `Cannot use "rot13" as server-side encryption: use "AES256" or "aws:kms"`,
  });
});

Deno.test("S3Storage location is s3://bucket/prefix, never a credential", async () => {
  await withStorages(async (open) => {
    const server = await s3Server();
    const storage = open("s3://some-bucket/db//prod/");
    assert.equal(storage.location, "s3://some-bucket/db/prod");
    for (const secret of [server.accessKeyId, server.secretAccessKey]) {
      assert.ok(!storage.location.includes(secret));
    }
    assert.equal(open("s3://some-bucket").location, "s3://some-bucket");
  });
});

Deno.test("S3Storage writes an empty object and refuses to replace it by default", async () => {
  await withStorages(async (open) => {
    const storage = open(`s3://${await (await s3Server()).createBucket()}/p`);
    await (await storage.create("empty")).commit();
    assert.deepEqual((await storage.list()).map((e) => [e.key, e.size]), [["empty", 0]]);
    assert.equal((await readAll(storage, "empty")).length, 0);
    assert.deepEqual(await storage.listIncomplete(), []);
    const again = await storage.create("empty");
    await assert.rejects(() => again.commit(), {
      name: "StorageError",
      message:
        `Cannot write "empty" to "${storage.location}": it already exists (remove it first, or overwrite)`,
    });
    assert.deepEqual(await storage.listIncomplete(), []);
  });
});
