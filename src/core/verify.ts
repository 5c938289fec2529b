import { createHash } from "node:crypto";
import { type BackupMeta, metaKey, parseMeta } from "./backup_file.ts";
import { findBackup, readAll, writeMeta } from "./catalog.ts";
import { messageOf, UsageError } from "./errors.ts";
import { decryptStream, readIdentityFile } from "./crypto/age.ts";
import { identitiesFor, readCompressedSql } from "./stored_data.ts";
import { Decompressor } from "./decompressor.ts";
import { contentCheck, dataFileCheck } from "./data_diagnosis.ts";
import { SignatureError } from "./signing.ts";
import { admitBackup } from "./trust.ts";
import { StorageNotFoundError } from "../storage/storage.ts";
import type { Compression } from "./compression.ts";
import { defaultJobs } from "../engines/engine.ts";
import { expectedContent } from "./restore.ts";
import { isRefusal, recordAction } from "./audit.ts";
import { DEFAULT_STALL_TIMEOUT_MS, type ServiceContext } from "./context.ts";
import { type Phase, type Watchdog, watched, watchedStorage } from "./watchdog.ts";

/** Options of {@linkcode verifyBackup}. */
export interface VerifyOptions {
  /** Also restore into a scratch database and compare row counts with the sidecar. */
  restoreTest?: boolean;
  /**
   * The restore test's threads or connections (`RestoreOptions.jobs`). Default the context's
   * `jobs`, else the cores.
   */
  jobs?: number;
  /** Abandons the check when aborted; nothing is recorded in the sidecar. */
  signal?: AbortSignal;
}

/** The outcome of verifying one backup. */
export interface VerifyResult {
  id: string;
  ok: boolean;
  checks: { name: string; ok: boolean; detail: string }[];
}

/**
 * Checks a backup: sidecar (schema, self-checksum), data file size and SHA-256, and that the gzip
 * (zstd) stream decompresses to the recorded size (uncompressed: that the SQL has it); with
 * `restoreTest`, restores into a scratch database and compares tables and row counts. The result is recorded in the sidecar (never in one that
 * fails its own checks, which would hide the edit).
 */
export async function verifyBackup(
  context: ServiceContext,
  query: string,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  let result: VerifyResult;
  try {
    result = await watched({
      timeoutMs: context.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
      phase: readingPhase(context, query),
      parent: options.signal,
    }, (dog) =>
      checkBackup(
        { ...context, storage: watchedStorage(context.storage, dog) },
        query,
        options,
        dog,
      ));
  } catch (error) {
    if (!isRefusal(error)) {
      await recordAction(context, {
        action: "verify",
        target: query,
        outcome: "failed",
        error: messageOf(error),
      }, error);
    }
    throw error;
  }
  const failed = result.checks.filter((c) => !c.ok);
  await recordAction(context, {
    action: "verify",
    target: result.id,
    outcome: result.ok ? "ok" : "failed",
    ...(result.ok ? {} : { error: failed.map((c) => `${c.name}: ${c.detail}`).join("; ") }),
    details: { restoreTest: options.restoreTest ?? false },
  });
  return result;
}

/** Reading the backup from the store, for the stall line. */
function readingPhase(context: ServiceContext, backup: string): Phase {
  return {
    doing: "reading the backup",
    what: `backup "${backup}" in "${context.storage.location}"`,
    check: "check the store (a hung S3 endpoint or network mount); nothing was recorded",
  };
}

async function checkBackup(
  context: ServiceContext,
  query: string,
  options: VerifyOptions,
  dog: Watchdog,
): Promise<VerifyResult> {
  const { storage, clock } = context;
  const reading = readingPhase(context, query);
  const entry = await dog.wait(reading, findBackup(storage, query));
  const checks: VerifyResult["checks"] = [];
  const fail = (name: string, detail: string) => checks.push({ name, ok: false, detail });
  let meta: BackupMeta | undefined;
  try {
    meta = parseMeta(await dog.wait(reading, readAll(storage, metaKey(entry.id))), entry.id);
    checks.push({ name: "sidecar", ok: true, detail: "schema and self-checksum valid" });
  } catch (error) {
    fail("sidecar", messageOf(error));
  }
  if (meta && context.signing?.trusted.length) {
    // a backup the trusted keys do not vouch for is not looked at further, nor written to
    try {
      const keyId = admitBackup(context, meta, "verify", false);
      checks.push({ name: "signature", ok: true, detail: `signed by trusted key "${keyId}"` });
    } catch (error) {
      if (!(error instanceof SignatureError)) throw error;
      fail("signature", error.message);
      return { id: entry.id, ok: false, checks };
    }
  }
  if (meta) {
    // a restore test this machine cannot decrypt is a usage mistake, not a damaged backup
    if (options.restoreTest && meta.file.encryption) {
      await identitiesFor(meta, context.encryption, "restore-test");
    }
    // nor is one into the other engine: refused in one line, nothing recorded
    if (options.restoreTest) admitBackup(context, meta, "restore-test");
    dog.enter({ ...reading, what: `backup "${entry.id}" in "${storage.location}"` });
    const dataOk = await checkData(context, meta, checks, dog);
    if (dataOk && options.restoreTest) {
      await restoreTest(context, meta, checks, options.jobs ?? context.jobs ?? defaultJobs(), dog);
    }
    // a stalled check says nothing about the backup: record no verdict
    if (dog.signal.aborted) throw dog.stalled ?? dog.signal.reason;
    const ok = checks.every((c) => c.ok);
    await writeMeta(storage, {
      ...meta,
      verification: {
        verifiedAt: clock.now().toISOString(),
        outcome: ok ? "passed" : "failed",
        restoreTest: options.restoreTest ?? false,
        detail: ok
          ? checks.map((c) => c.name).join(", ") + " passed"
          : checks.filter((c) => !c.ok).map((c) => c.detail).join("; "),
      },
    }, true);
  }
  return { id: entry.id, ok: checks.every((c) => c.ok), checks };
}

/** Checksum, size and gzip (zstd) integrity in one pass; returns whether all passed. */
async function checkData(
  context: ServiceContext,
  meta: BackupMeta,
  checks: VerifyResult["checks"],
  dog: Watchdog,
): Promise<boolean> {
  const { storage } = context;
  const reading = readingPhase(context, meta.id);
  let stream: ReadableStream<Uint8Array>;
  try {
    stream = await dog.wait(reading, storage.read(meta.file.name));
  } catch (error) {
    if (dog.stalled) throw dog.stalled;
    checks.push({
      name: "data file",
      ok: false,
      detail: error instanceof StorageNotFoundError
        ? `its data file "${meta.file.name}" is missing`
        : `cannot read "${meta.file.name}": ${messageOf(error)}`,
    });
    return false;
  }
  // without an identity, an encrypted backup's stored bytes are still checked
  let identities: string[] | undefined;
  let noIdentity: string | undefined;
  if (meta.file.encryption) {
    // an identity file that was given but cannot be read is the user's mistake: say so (exit 2)
    const file = context.encryption?.identityFile;
    if (file) await readIdentityFile(file);
    try {
      identities = await identitiesFor(meta, context.encryption, "decrypt");
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      noIdentity = context.encryption?.identityFile
        ? error.message
        : "encrypted, and no identity file was given (--identity FILE or BACKUP_AGE_IDENTITY_FILE)";
    }
  }
  let stored = hashing(stream, dog);
  const content = !meta.file.encryption
    ? stored
    : identities
    ? decryptStream(stored, identities, `backup "${meta.id}"`)
    : undefined;
  const format = meta.file.compression;
  const sql = content ? await decompressedSize(content, format) : undefined;
  if (!stored.complete) {
    // decryption stopped early (damage): hash the whole file on its own
    stored = hashing(await dog.wait(reading, storage.read(meta.file.name)), dog);
    await drain(stored);
  }
  const sha = stored.hash.digest("hex");
  const compressed = stored.size;
  const sizeOk = compressed === meta.sizes.compressed;
  const shaOk = sha === meta.file.sha256;
  if (sizeOk && shaOk) {
    checks.push({ name: "size", ok: true, detail: `${compressed} bytes` });
    checks.push({ name: "checksum", ok: true, detail: `sha256 ${sha}` });
  } else checks.push(await dataFileCheck(storage, meta, { size: compressed, sha256: sha }));
  // the check is named by the format: "gzip", "zstd", or "sql" for an uncompressed file
  const name = format === "none" ? "sql" : format;
  if (!sql) {
    // an encrypted backup this machine cannot read: the stored bytes are all it can vouch for
    checks.push({ name, ok: true, detail: `not checked: ${noIdentity}` });
    return sizeOk && shaOk;
  }
  const foreign = sizeOk && shaOk ? contentCheck(meta, sql.head) : undefined;
  if (foreign) {
    checks.push(foreign);
    return false;
  }
  const sqlOk = sql.error === undefined && sql.raw === meta.sizes.raw;
  checks.push({
    name: meta.file.encryption ? `decrypt and ${name}` : name,
    ok: sqlOk,
    detail: sql.error
      ? sql.error
      : sqlOk
      ? `${sql.raw} bytes of SQL`
      : `${
        format === "none" ? "holds" : "decompresses to"
      } ${sql.raw} bytes, the sidecar records ${meta.sizes.raw}`,
  });
  return sizeOk && shaOk && sqlOk;
}

/** A stream's chunks, hashed and counted as they pass; `complete` once it ended by itself. */
interface Hashing extends AsyncIterable<Uint8Array> {
  hash: ReturnType<typeof createHash>;
  size: number;
  complete: boolean;
}

/**
 * Hashes and counts `stream`'s chunks as a reader takes them; each is a tick of `dog`, and a
 * stall ends the stream with the {@linkcode StalledError}.
 */
function hashing(stream: ReadableStream<Uint8Array>, dog: Watchdog): Hashing {
  const state: Hashing = {
    hash: createHash("sha256"),
    size: 0,
    complete: false,
    [Symbol.asyncIterator]: async function* () {
      for await (const chunk of stream) {
        if (dog.stalled) throw dog.stalled;
        dog.tick();
        state.hash.update(chunk);
        state.size += chunk.length;
        yield chunk;
      }
      state.complete = true;
    },
  };
  return state;
}

async function drain(stream: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _ of stream) {
    // hashed on the way
  }
}

/** Decompresses `source` and counts the SQL bytes; a damaged stream is an error message. */
async function decompressedSize(
  source: AsyncIterable<Uint8Array>,
  format: Compression,
): Promise<{ raw: number; error?: string; head?: string }> {
  const decompressor = new Decompressor({ format });
  let raw = 0;
  let error: string | undefined;
  // the first lines of the SQL, to tell ours from anything else
  let head = "";
  decompressor.on("data", (chunk: Uint8Array) => {
    if (head.length < 512) head += new TextDecoder().decode(chunk.subarray(0, 512));
    raw += chunk.length;
  });
  const ended = new Promise<void>((resolve) => {
    decompressor.on("end", resolve);
    decompressor.on("error", (e: Error) => {
      error ??= `the ${format} stream is damaged (${e.message})`;
      resolve();
    });
  });
  try {
    for await (const chunk of source) {
      if (error) break;
      if (!decompressor.write(chunk)) await drained(decompressor);
    }
  } catch (e) {
    error = messageOf(e);
    decompressor.destroy();
    return { raw, error };
  }
  if (!error) decompressor.end();
  await ended;
  return { raw, ...(error ? { error } : {}), ...(head ? { head } : {}) };
}

/** Waits for a stream's "drain", or for its "error" (reported elsewhere), without leaking listeners. */
function drained(stream: Decompressor): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      stream.off("drain", done);
      stream.off("error", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("error", done);
  });
}

async function restoreTest(
  context: ServiceContext,
  meta: BackupMeta,
  checks: VerifyResult["checks"],
  jobs: number,
  dog: Watchdog,
): Promise<void> {
  const { engine, storage } = context;
  const loading: Phase = {
    doing: "running the restore test",
    what: `backup "${meta.id}" into a scratch database`,
    check: "check the database server (a hung server, a full disk); nothing was recorded",
  };
  dog.enter(loading);
  const scratch = await engine.createScratch();
  try {
    const sql = await readCompressedSql(storage, meta, context.encryption, "restore-test");
    await engine.restore(scratch.location, ticking(sql, dog), {
      compression: meta.file.compression,
      jobs,
      signal: dog.signal,
      // reading bounded by the sidecar (a gzip bomb, an endless statement); compared below
      expected: { ...expectedContent(meta), compare: false },
    });
    const info = await engine.describe(scratch.location);
    const restored = new Map(info.tables.map((t) => [t.name, t.rows]));
    const expected = new Map(meta.tables.map((t) => [t.name, meta.type === "schema" ? 0 : t.rows]));
    const differences: string[] = [];
    for (const [name, rows] of expected) {
      const got = restored.get(name);
      if (got === undefined) differences.push(`table "${name}" is missing`);
      else if (got !== rows) differences.push(`table "${name}" has ${got} rows, expected ${rows}`);
    }
    for (const name of restored.keys()) {
      if (!expected.has(name)) differences.push(`table "${name}" is not in the sidecar`);
    }
    checks.push({
      name: "restore test",
      ok: differences.length === 0,
      detail: differences.length === 0
        ? `restored ${expected.size} tables, row counts match, ${
          meta.engine === "sqlite" ? "integrity_check ok" : "every statement and COPY loaded"
        }`
        : differences.slice(0, 5).join("; "),
    });
  } catch (error) {
    if (dog.stalled) throw dog.stalled;
    checks.push({ name: "restore test", ok: false, detail: messageOf(error) });
  } finally {
    await scratch.drop();
  }
}

/** `stream`, each chunk a tick of `dog`. */
async function* ticking(
  stream: AsyncIterable<Uint8Array>,
  dog: Watchdog,
): AsyncIterable<Uint8Array> {
  for await (const chunk of stream) {
    if (dog.stalled) throw dog.stalled;
    dog.tick();
    yield chunk;
  }
}
