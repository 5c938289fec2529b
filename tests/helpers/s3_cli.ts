/**
 * Helpers for end-to-end tests of the command line against a real S3 server (radosgw, see
 * `s3_server.ts`) and with age encryption: a bucket with direct object access for damaging and
 * inspecting what the tool stored, the environment a CLI run needs, age keys from the real
 * `age-keygen`, re-sealed sidecars, a TCP relay that cuts an upload after N bytes, and running
 * the CLI against a bucket with a workspace, an environment and a clock.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { join } from "node:path";
import { type CliResult, FakeClock, runCli } from "./cli.ts";
import { makeDatabase, withWorkspace, type Workspace } from "./workspace.ts";
import { parseMeta, serializeMeta, type UnsealedMeta } from "../../src/core/backup_file.ts";
import { run, type S3Server, s3Server } from "./s3_server.ts";

/** One test's bucket on a server, with direct access to its objects. */
export interface TestBucket {
  server: S3Server;
  name: string;
  /** `s3://NAME` or `s3://NAME/PREFIX`. */
  url(prefix?: string): string;
  /** Every object key in the bucket (recursively), sorted. */
  keys(prefix?: string): Promise<string[]>;
  read(key: string): Promise<Uint8Array>;
  write(key: string, bytes: Uint8Array): Promise<void>;
  remove(key: string): Promise<void>;
  /** Multipart uploads started and never completed or aborted. */
  incompleteUploads(): Promise<string[]>;
}

/**
 * Runs `fn` with a new bucket on `server` (default: the process's shared one). The bucket stays
 * on the server (a throwaway one); the client is closed afterwards.
 */
export async function withBucket<T>(
  fn: (bucket: TestBucket) => Promise<T>,
  server?: S3Server,
): Promise<T> {
  const s3 = server ?? await s3Server();
  const name = await s3.createBucket();
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  const bucket: TestBucket = {
    server: s3,
    name,
    url: (prefix) => `s3://${name}${prefix ? `/${prefix}` : ""}`,
    keys: async (prefix = "") => {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page: ListObjectsV2CommandOutput = await client.send(
          new ListObjectsV2Command({ Bucket: name, Prefix: prefix, ContinuationToken: token }),
        );
        keys.push(...(page.Contents ?? []).map((o) => o.Key!));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys.sort();
    },
    read: async (key) => {
      const { Body } = await client.send(new GetObjectCommand({ Bucket: name, Key: key }));
      return await Body!.transformToByteArray();
    },
    write: async (key, bytes) => {
      await client.send(new PutObjectCommand({ Bucket: name, Key: key, Body: bytes }));
    },
    remove: async (key) => {
      await client.send(new DeleteObjectCommand({ Bucket: name, Key: key }));
    },
    incompleteUploads: async () => {
      const page = await client.send(new ListMultipartUploadsCommand({ Bucket: name }));
      return (page.Uploads ?? []).map((u) => u.Key!).sort();
    },
  };
  try {
    return await fn(bucket);
  } finally {
    client.destroy();
  }
}

/**
 * The environment a CLI run against `server` sees: the AWS variables, and `XDG_STATE_HOME` in the
 * test's own directory (an S3 store's run lock is a local file under it).
 */
export function s3Env(
  server: S3Server,
  stateDir: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return { ...server.env, XDG_STATE_HOME: join(stateDir, "state"), ...extra };
}

/** What a test of the command line against a bucket works with. */
export interface S3Run {
  ws: Workspace;
  bucket: TestBucket;
  /** {@linkcode s3Env} of the bucket's server. */
  env: Record<string, string>;
  clock: FakeClock;
}

/**
 * Runs `fn` with a workspace holding a small database (`makeDatabase`), a new bucket on the
 * shared server, the CLI's environment and `clock` (default a fresh {@linkcode FakeClock}).
 */
export function withS3Run(
  fn: (run: S3Run) => Promise<void>,
  clock: FakeClock = new FakeClock(),
): Promise<void> {
  return withBucket((bucket) =>
    withWorkspace(async (ws) => {
      makeDatabase(ws.database);
      await fn({ ws, bucket, env: s3Env(bucket.server, ws.root), clock });
    })
  );
}

/** Runs the command line in-process with the run's environment and clock. */
export async function s3Cli(run: S3Run, args: string[], cwd?: string): Promise<CliResult> {
  return await runCli(args, { env: run.env, clock: run.clock, cwd });
}

/** `create --format json` of the run's database into `dir`; returns the new backup's id. */
export async function createIn(run: S3Run, dir: string, extra: string[] = []): Promise<string> {
  const args = ["create", "--database", run.ws.database, "--dir", dir, "--format", "json"];
  const result = await s3Cli(run, [...args, ...extra]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout).id;
}

/** The ids `list --format json` shows in `dir`, newest first. */
export async function listIds(run: S3Run, dir: string): Promise<string[]> {
  const result = await s3Cli(run, ["list", "--dir", dir, "--format", "json", "--limit", "100"]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout).map((b: { id: string }) => b.id);
}

/** The non-empty lines of a command's output. */
export function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

/** An age key pair made by the real `age-keygen`. */
export interface AgeKey {
  /** The identity file (`AGE-SECRET-KEY-1…` with comments), as age-keygen writes it. */
  identityFile: string;
  /** The public key, `age1…`. */
  recipient: string;
}

/** Runs `age-keygen -o DIR/NAME.txt` and reads the public key back with `age-keygen -y`. */
export async function ageKeygen(dir: string, name = "key"): Promise<AgeKey> {
  const identityFile = join(dir, `${name}.txt`);
  await tool("age-keygen", ["-o", identityFile]);
  const recipient = (await tool("age-keygen", ["-y", identityFile])).trim();
  return { identityFile, recipient };
}

/** Runs a command to completion; throws with its stderr unless it exits 0. Returns stdout. */
export const tool = run;

/** Runs a shell pipeline (`bash -o pipefail -c`); throws with its stderr unless it exits 0. */
export async function pipeline(script: string, cwd?: string): Promise<string> {
  return await tool("bash", ["-o", "pipefail", "-c", script], cwd);
}

/**
 * Rewrites the sidecar `bytes` of backup `id` with `edit` and seals it again (a fresh
 * self-checksum), as a tool that means to fool the checks would.
 */
export function resealSidecar(
  bytes: Uint8Array,
  id: string,
  edit: (meta: UnsealedMeta) => UnsealedMeta,
): Uint8Array {
  return serializeMeta(edit(parseMeta(bytes, id)));
}

/** A TCP relay in front of a server that stops forwarding after a number of bytes. */
export interface CuttingRelay {
  /** `http://127.0.0.1:PORT`: give this to the client instead of the server's endpoint. */
  endpoint: string;
  /** Resolves once the cut happened (after `onCut` finished). */
  cut: Promise<void>;
  /** Closes the listener and every connection. Idempotent. */
  close(): void;
}

/**
 * Relays connections to `target` (`http://host:port`) until `cutAfterBytes` client-to-server
 * bytes have gone through. The byte that crosses the limit is held back, `onCut` runs (say,
 * killing the server), and then the relay closes everything, its listener included: the request
 * in flight dies mid-body and later connections are refused, as if the server had gone away.
 */
export function cuttingRelay(
  target: string,
  cutAfterBytes: number,
  onCut: () => Promise<void>,
): CuttingRelay {
  const upstream = new URL(target);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  let forwarded = 0;
  let closed = false;
  let cutting: Promise<void> | undefined;
  let cutDone!: () => void;
  const cut = new Promise<void>((resolve) => cutDone = resolve);
  const close = () => {
    if (closed) return;
    closed = true;
    for (const resource of [listener, ...conns]) {
      try {
        resource.close();
      } catch {
        // already closed
      }
    }
    conns.clear();
  };
  const startCut = () =>
    cutting ??= onCut().finally(() => {
      close();
      cutDone();
    });
  const pump = async (from: Deno.Conn, to: Deno.Conn, counted: boolean) => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buffer);
        if (n === null || closed) return;
        let chunk = buffer.subarray(0, n);
        if (counted) {
          if (cutting) return await cutting;
          const room = cutAfterBytes - forwarded;
          if (room <= n) {
            chunk = chunk.subarray(0, Math.max(0, room - 1));
            forwarded += chunk.length;
            for (let o = 0; o < chunk.length;) o += await to.write(chunk.subarray(o));
            return await startCut();
          }
          forwarded += n;
        }
        for (let offset = 0; offset < chunk.length;) {
          offset += await to.write(chunk.subarray(offset));
        }
      }
    } catch {
      // a side closed: the other pump ends too
    } finally {
      // half-close towards the reader; a side that is gone already is fine
      await Promise.resolve().then(() => to.closeWrite()).catch(() => {});
    }
  };
  (async () => {
    for await (const client of listener) {
      let server: Deno.Conn;
      try {
        server = await Deno.connect({
          hostname: upstream.hostname,
          port: Number(upstream.port),
        });
      } catch {
        client.close();
        continue;
      }
      conns.add(client);
      conns.add(server);
      Promise.all([pump(client, server, true), pump(server, client, false)]).finally(() => {
        for (const conn of [client, server]) {
          if (!conns.delete(conn)) continue;
          try {
            conn.close();
          } catch {
            // already closed
          }
        }
      });
    }
  })().catch(() => {});
  const port = (listener.addr as Deno.NetAddr).port;
  return { endpoint: `http://127.0.0.1:${port}`, cut, close };
}
