/**
 * `withSignal()` of the S3 store (as `openStorage` makes it, SDK loaded on first use): a request
 * to an endpoint that accepts the connection and never answers is given up when the run's signal
 * aborts, not after the client's own timeouts and retries (20 s for a download's headers).
 */
import assert from "node:assert/strict";
import { openStorage } from "../../src/storage/open_storage.ts";
import { S3Storage } from "../../src/storage/s3.ts";
import { StorageError } from "../../src/core/errors.ts";
import { s3Server } from "../helpers/s3_server.ts";
import { storageConformance } from "./conformance.ts";

// Until its signal aborts, a store under a signal is the store: the whole contract, on radosgw.
storageConformance("S3Storage.withSignal()", async () => {
  const server = await s3Server();
  const base = new S3Storage(`s3://${await server.createBucket()}/backups`, {
    endpoint: server.endpoint,
    env: server.env,
  });
  const storage = base.withSignal(new AbortController().signal);
  return { storage, dispose: () => Promise.resolve(base.close()) };
});

/** A TCP server on 127.0.0.1 that accepts every connection and never sends a byte. */
function silentServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connections: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const connection of listener) connections.push(connection);
    } catch {
      // closed
    }
  })();
  return {
    endpoint: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    async close() {
      listener.close();
      for (const connection of connections) {
        try {
          connection.close();
        } catch {
          // already closed by the client
        }
      }
      await accepting;
    },
  };
}

Deno.test({
  name: "an S3 store's withSignal() gives up a request a silent server never answers",
  // the SDK's idle sockets close on their own timeouts, after the test
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const server = silentServer();
    try {
      const storage = openStorage("s3://silent/db", {
        env: {
          AWS_ENDPOINT_URL: server.endpoint,
          AWS_ACCESS_KEY_ID: "test",
          AWS_SECRET_ACCESS_KEY: "test-secret",
          AWS_REGION: "us-east-1",
        },
      });
      for (
        const [name, call] of [
          ["read", (s: typeof storage) => s.read("full_20261123T101500000Z.meta.json")],
          ["list", (s: typeof storage) => s.list()],
          ["create", (s: typeof storage) => s.create("full_20261123T101500000Z.sql.gz")],
        ] as const
      ) {
        const controller = new AbortController();
        const stalled = new Error("stalled");
        setTimeout(() => controller.abort(stalled), 300);
        const started = performance.now();
        const error = await (call(storage.withSignal!(controller.signal)) as Promise<unknown>)
          .then(() => undefined, (e) => e);
        const took = performance.now() - started;
        assert.ok(error instanceof StorageError, `${name}: ${error}`);
        assert.ok(took < 4_000, `${name} took ${took} ms (the client alone takes 15-20 s)`);
      }
    } finally {
      await server.close();
    }
  },
});
