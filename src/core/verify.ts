import { type BackupMeta, metaKey, parseMeta, storedFiles } from "./backup_file.ts";
import { findBackup, readAll, writeMeta } from "./catalog.ts";
import { messageOf } from "./errors.ts";
import { identitiesFor } from "./stored_data.ts";
import { SignatureError } from "./signing.ts";
import { admitBackup } from "./trust.ts";
import { defaultJobs } from "../engines/engine.ts";
import { checkStoredFile } from "./verify_file.ts";
import { restorableFiles, restoreTestAll } from "./verify_restore.ts";
import { isRefusal, recordAction } from "./audit.ts";
import { backupFacts, withHooks } from "./hooks.ts";
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
 * Checks a backup: sidecar (schema, self-checksum), then each of its files (the main file and
 * every part: size and SHA-256, and that the gzip (zstd) stream decompresses to the recorded
 * size; the files part's tar read to its end); with `restoreTest`, restores each dump (the main
 * file, each database of a server backup, never its globals) into a scratch database and
 * compares tables and row counts. The result is recorded in the sidecar (never in one that
 * fails its own checks, which would hide the edit).
 */
export async function verifyBackup(
  context: ServiceContext,
  query: string,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  return await withHooks(context, {
    operation: "verify",
    what: `verify backup "${query}"`,
    facts: async () => {
      const entry = await findBackup(context.storage, query);
      return entry.meta ? backupFacts(context.storage, entry.meta) : { id: entry.id };
    },
    failureOf: (result) =>
      result.ok
        ? undefined
        : `backup "${result.id}" failed verification: ${
          result.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join("; ")
        }`,
    signal: options.signal,
  }, () => verifyUnhooked(context, query, options));
}

async function verifyUnhooked(
  context: ServiceContext,
  query: string,
  options: VerifyOptions,
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
    if (options.restoreTest) {
      for (const file of restorableFiles(meta).filter((f) => f.file.encryption)) {
        await identitiesFor(meta, context.encryption, "restore-test", file.file);
      }
    }
    // nor is one into the other engine: refused in one line, nothing recorded
    if (options.restoreTest) admitBackup(context, meta, "restore-test");
    dog.enter({ ...reading, what: `backup "${entry.id}" in "${storage.location}"` });
    const dataOk = await checkData(context, meta, checks, dog);
    if (dataOk && options.restoreTest) {
      const jobs = options.jobs ?? context.jobs ?? defaultJobs();
      checks.push(...await restoreTestAll(context, meta, jobs, dog));
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

/**
 * Checks every file of the backup (main file first, then each part), each in one pass:
 * checksum, size, decompression (and the tar of the files beside); returns whether all passed.
 * A missing or damaged part fails the backup, its check naming the part's file.
 */
async function checkData(
  context: ServiceContext,
  meta: BackupMeta,
  checks: VerifyResult["checks"],
  dog: Watchdog,
): Promise<boolean> {
  let ok = true;
  for (const entry of storedFiles(meta)) {
    const file = await checkStoredFile(context.storage, meta, entry, {
      encryption: context.encryption,
      dog,
      reading: readingPhase(context, meta.id),
    });
    checks.push(...file.checks);
    ok &&= file.ok;
  }
  return ok;
}
