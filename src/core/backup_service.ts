import { createGunzip } from "node:zlib";
import { createHash } from "node:crypto";
import type { DumpProgress, Engine } from "../engines/engine.ts";
import { type Storage, type StorageEntry, StorageNotFoundError } from "../storage/storage.ts";
import {
  backupId,
  type BackupMeta,
  type BackupType,
  DATA_SUFFIX,
  dataKey,
  FORMAT_VERSION,
  metaKey,
  parseMeta,
  serializeMeta,
  TOOL,
  type UnsealedMeta,
} from "./backup_file.ts";
import { type CatalogEntry, findBackup, isGood, listBackups, readAll } from "./catalog.ts";
import { GzipCompressor } from "./compressor.ts";
import {
  DatabaseNotFoundError,
  IntegrityError,
  InterruptedError,
  messageOf,
  RefusedError,
} from "./errors.ts";
import { type Actor, type AuditEntry, isRefusal, readAudit, recordAction } from "./audit.ts";
import type { EventListener } from "./events.ts";
import {
  applyRetention,
  type RetentionDecision,
  type RetentionOptions,
  type RetentionPolicy,
} from "./retention.ts";

import type { Clock } from "./clock.ts";

export { type Clock, systemClock } from "./clock.ts";

/** What every service function works on. */
export interface ServiceContext {
  storage: Storage;
  engine: Engine;
  /** The database location (path or URL) this context backs up. */
  database: string;
  clock: Clock;
  /** Who acts, for the audit log. Default `cli`. */
  actor?: Actor;
  /** Receives every audited action, and warnings that did not fail the action. */
  onEvent?: EventListener;
}

/** Incomplete writes older than this are left by dead runs and may be removed. */
export const STALE_AFTER_MS = 15 * 60 * 1000;

/** Options of {@linkcode createBackup}. */
export interface CreateBackupOptions {
  /** Default `full`. */
  type?: BackupType;
  description?: string;
  /** Pin the new backup, so no retention policy deletes it. */
  pin?: { reason?: string };
  /** Database to back up; default the context's. */
  database?: string;
  /** Only tables matching these patterns (see `DumpOptions.tables`). */
  tables?: string[];
  /** Leave out tables matching these patterns. */
  excludeTables?: string[];
  onProgress?: (progress: DumpProgress) => void;
  /** Abandons the backup (nothing is kept) and throws {@linkcode InterruptedError} when aborted. */
  signal?: AbortSignal;
}

/**
 * Dumps the database to `<id>.sql.gz` (gzip on a worker, SHA-256 while writing) and then writes
 * the sidecar. Both are written under temporary names and renamed into place, the sidecar last,
 * so a run that dies at any moment leaves nothing that lists as a backup.
 */
export async function createBackup(
  context: ServiceContext,
  options: CreateBackupOptions = {},
): Promise<BackupMeta> {
  const database = options.database ?? context.database;
  return await audited(context, "create", context.engine.redact(database), async () => {
    const meta = await writeBackup(context, database, options);
    return {
      result: meta,
      target: meta.id,
      details: {
        type: meta.type,
        tables: meta.totals.tables,
        rows: meta.totals.rows,
        bytes: meta.sizes.compressed,
        durationMs: meta.durationMs,
      },
    };
  });
}

/**
 * Throws {@linkcode DatabaseNotFoundError} unless the database exists. Front ends call it before
 * taking the lock, so a mistyped path touches nothing, not even the backup directory.
 */
export async function checkDatabase(
  context: ServiceContext,
  database: string = context.database,
): Promise<void> {
  if (!(await context.engine.exists(database))) {
    throw new DatabaseNotFoundError(
      `Cannot back up "${
        context.engine.redact(database)
      }": the database does not exist (check --database or DATABASE_URL)`,
    );
  }
}

/**
 * Runs an action and records it in the audit log: success with what `fn` reports, failure with
 * its one-line message. Refusals are not recorded ({@linkcode isRefusal}).
 */
export async function audited<T>(
  context: ServiceContext,
  action: AuditEntry["action"],
  target: string,
  fn: () => Promise<{ result: T; target?: string; details?: Record<string, unknown> }>,
): Promise<T> {
  let done;
  try {
    done = await fn();
  } catch (error) {
    if (!isRefusal(error)) {
      await recordAction(context, { action, target, outcome: "failed", error: messageOf(error) });
    }
    throw error;
  }
  await recordAction(context, {
    action,
    target: done.target ?? target,
    outcome: "ok",
    ...(done.details ? { details: done.details } : {}),
  });
  return done.result;
}

async function writeBackup(
  context: ServiceContext,
  database: string,
  options: CreateBackupOptions,
): Promise<BackupMeta> {
  const { storage, engine, clock } = context;
  const type = options.type ?? "full";
  const interrupted = () =>
    new InterruptedError(
      `Stopped backing up "${engine.redact(database)}": interrupted, nothing was kept`,
    );
  if (options.signal?.aborted) throw interrupted();
  await checkDatabase(context, database);
  const started = clock.now();
  const id = await freeId(storage, type, started);
  const writer = await storage.create(dataKey(id));
  const hash = createHash("sha256");
  let compressed = 0;
  const compressor = new GzipCompressor(6, async (chunk) => {
    hash.update(chunk);
    compressed += chunk.length;
    await writer.write(chunk);
  });
  let raw = 0;
  try {
    const summary = await engine.dump(database, (chunk) => {
      if (options.signal?.aborted) throw interrupted();
      raw += chunk.length;
      return compressor.write(chunk);
    }, {
      type: type === "schema" ? "schema" : "full",
      tables: options.tables,
      excludeTables: options.excludeTables,
      onProgress: options.onProgress,
    });
    await compressor.end();
    const finished = clock.now();
    const meta: UnsealedMeta = {
      formatVersion: FORMAT_VERSION,
      id,
      type,
      engine: engine.kind,
      ...(options.description ? { description: options.description } : {}),
      database: summary.database,
      createdAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      durationMs: Math.max(0, finished.getTime() - started.getTime()),
      tool: { ...TOOL },
      engineVersion: summary.engineVersion,
      runtime: `deno ${Deno.version.deno}`,
      settings: summary.settings,
      tables: summary.tables,
      totals: {
        tables: summary.tables.length,
        rows: summary.tables.reduce((sum, t) => sum + t.rows, 0),
      },
      sizes: { raw, compressed },
      file: { name: dataKey(id), compression: "gzip", sha256: hash.digest("hex") },
      ...(summary.migration ? { migration: summary.migration } : {}),
      ...(options.pin
        ? {
          pinned: true,
          pinnedAt: finished.toISOString(),
          ...(options.pin.reason ? { pinReason: options.pin.reason } : {}),
        }
        : {}),
    };
    await writer.commit();
    try {
      await writeMeta(storage, meta, false);
    } catch (error) {
      await storage.remove(dataKey(id)).catch(() => {});
      throw error;
    }
    return parseMeta(serializeMeta(meta), id);
  } catch (error) {
    compressor.abort();
    await writer.abort();
    throw error;
  }
}

/** An id not yet used in the store (two backups in the same millisecond get distinct ids). */
async function freeId(storage: Storage, type: BackupType, at: Date): Promise<string> {
  const keys = new Set((await storage.list()).map((e) => e.key));
  for (let offset = 0;; offset++) {
    const id = backupId(type, new Date(at.getTime() + offset));
    if (!keys.has(metaKey(id)) && !keys.has(dataKey(id))) return id;
  }
}

/**
 * Writes a sidecar atomically (temporary name, fsync, rename) with a fresh self-checksum;
 * `overwrite` replaces an existing one (verify, pin).
 */
export async function writeMeta(
  storage: Storage,
  meta: UnsealedMeta,
  overwrite: boolean,
): Promise<void> {
  const writer = await storage.create(metaKey(meta.id), { overwrite });
  try {
    await writer.write(serializeMeta(meta));
    await writer.commit();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/** Options of {@linkcode verifyBackup}. */
export interface VerifyOptions {
  /** Also restore into a scratch database and compare row counts with the sidecar. */
  restoreTest?: boolean;
}

/** The outcome of verifying one backup. */
export interface VerifyResult {
  id: string;
  ok: boolean;
  checks: { name: string; ok: boolean; detail: string }[];
}

/**
 * Checks a backup: sidecar (schema, self-checksum), data file size and SHA-256, and that the gzip
 * stream decompresses to the recorded size; with `restoreTest`, restores into a scratch database
 * and compares tables and row counts. The result is recorded in the sidecar (never in one that
 * fails its own checks, which would hide the edit).
 */
export async function verifyBackup(
  context: ServiceContext,
  query: string,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  let result: VerifyResult;
  try {
    result = await checkBackup(context, query, options);
  } catch (error) {
    if (!isRefusal(error)) {
      await recordAction(context, {
        action: "verify",
        target: query,
        outcome: "failed",
        error: messageOf(error),
      });
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

async function checkBackup(
  context: ServiceContext,
  query: string,
  options: VerifyOptions,
): Promise<VerifyResult> {
  const { storage, clock } = context;
  const entry = await findBackup(storage, query);
  const checks: VerifyResult["checks"] = [];
  const fail = (name: string, detail: string) => checks.push({ name, ok: false, detail });
  let meta: BackupMeta | undefined;
  try {
    meta = parseMeta(await readAll(storage, metaKey(entry.id)), entry.id);
    checks.push({ name: "sidecar", ok: true, detail: "schema and self-checksum valid" });
  } catch (error) {
    fail("sidecar", messageOf(error));
  }
  if (meta) {
    const dataOk = await checkData(storage, meta, checks);
    if (dataOk && options.restoreTest) await restoreTest(context, meta, checks);
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

/** Checksum, size and gzip integrity in one pass; returns whether all passed. */
async function checkData(
  storage: Storage,
  meta: BackupMeta,
  checks: VerifyResult["checks"],
): Promise<boolean> {
  let stream: ReadableStream<Uint8Array>;
  try {
    stream = await storage.read(meta.file.name);
  } catch (error) {
    checks.push({
      name: "data file",
      ok: false,
      detail: `cannot read "${meta.file.name}": ${messageOf(error)}`,
    });
    return false;
  }
  const hash = createHash("sha256");
  const gunzip = createGunzip();
  let compressed = 0;
  let raw = 0;
  let gzipError: string | undefined;
  gunzip.on("data", (chunk: Uint8Array) => raw += chunk.length);
  const ended = new Promise<void>((resolve) => {
    gunzip.on("end", resolve);
    gunzip.on("error", (error: Error) => {
      gzipError = error.message;
      resolve();
    });
  });
  for await (const chunk of stream) {
    hash.update(chunk);
    compressed += chunk.length;
    if (!gzipError && !gunzip.write(chunk)) await drained(gunzip);
  }
  if (!gzipError) gunzip.end();
  await ended;
  const sha = hash.digest("hex");
  const sizeOk = compressed === meta.sizes.compressed;
  checks.push({
    name: "size",
    ok: sizeOk,
    detail: sizeOk
      ? `${compressed} bytes`
      : `data file has ${compressed} bytes, the sidecar records ${meta.sizes.compressed}`,
  });
  const shaOk = sha === meta.file.sha256;
  checks.push({
    name: "checksum",
    ok: shaOk,
    detail: shaOk ? `sha256 ${sha}` : `sha256 is ${sha}, the sidecar records ${meta.file.sha256}`,
  });
  const gzipOk = gzipError === undefined && raw === meta.sizes.raw;
  checks.push({
    name: "gzip",
    ok: gzipOk,
    detail: gzipError
      ? `the gzip stream is damaged (${gzipError})`
      : gzipOk
      ? `${raw} bytes of SQL`
      : `decompresses to ${raw} bytes, the sidecar records ${meta.sizes.raw}`,
  });
  return sizeOk && shaOk && gzipOk;
}

/** Waits for a stream's "drain", or for its "error" (reported elsewhere), without leaking listeners. */
function drained(stream: ReturnType<typeof createGunzip>): Promise<void> {
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
): Promise<void> {
  const { engine, storage } = context;
  const scratch = await engine.createScratch();
  try {
    await engine.restore(scratch.location, await storage.read(meta.file.name));
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
    checks.push({ name: "restore test", ok: false, detail: messageOf(error) });
  } finally {
    await scratch.drop();
  }
}

/** Options of {@linkcode restoreBackup} and {@linkcode planRestore}. */
export interface RestoreBackupOptions {
  /** Target database; default the context's database. */
  to?: string;
  /** Replace an existing target without asking (callers ask first on a terminal). */
  force?: boolean;
  /** PostgreSQL: drop the backup's objects in the target first (see `RestoreOptions.clean`). */
  clean?: boolean;
  /** PostgreSQL: create the target database if it does not exist. */
  create?: boolean;
  /** PostgreSQL: skip ownership statements. */
  noOwner?: boolean;
  /** PostgreSQL: skip GRANT/REVOKE statements. */
  noPrivileges?: boolean;
  onProgress?: (bytes: number) => void;
  /** Abandons the restore (the target stays as it was) and throws when aborted. */
  signal?: AbortSignal;
  /**
   * {@linkcode planRestore} only: also check the data file's size and SHA-256, as the restore
   * itself will, so a dry run or a confirmation prompt never offers a damaged backup. Default
   * `false` (a restore that follows checks anyway).
   */
  checkData?: boolean;
}

/** What a restore would do: `restore --dry-run`. */
export interface RestorePlan {
  id: string;
  target: string;
  targetExists: boolean;
  /** Whether the restore changes an existing database (it needs --force or confirmation). */
  replaces: boolean;
  /** A non-empty PostgreSQL target without `clean`: the restore would be refused. */
  needsClean: boolean;
  meta: BackupMeta;
  migration: { backup?: string; current?: string };
  tables: { name: string; backupRows: number | null; currentRows: number | null }[];
}

/** Reads the backup and the target and compares them; changes nothing. */
export async function planRestore(
  context: ServiceContext,
  query: string,
  options: RestoreBackupOptions = {},
): Promise<RestorePlan> {
  const { storage, engine } = context;
  const entry = await findBackup(storage, query);
  const meta = parseMeta(await readAll(storage, metaKey(entry.id)), entry.id);
  if (options.checkData) await checkChecksum(storage, meta);
  const target = options.to ?? context.database;
  const targetExists = await engine.exists(target);
  const empty = targetExists ? await engine.isEmpty?.(target) : undefined;
  const replaces = targetExists && empty !== true;
  const current = targetExists ? await engine.describe(target) : undefined;
  const names = [
    ...new Set([...meta.tables.map((t) => t.name), ...(current?.tables ?? []).map((t) => t.name)]),
  ];
  return {
    id: entry.id,
    target: engine.redact(target),
    targetExists,
    replaces,
    needsClean: empty === false && !options.clean,
    meta,
    migration: {
      backup: meta.migration ? `${meta.migration.version} (${meta.migration.table})` : undefined,
      current: current?.migration
        ? `${current.migration.version} (${current.migration.table})`
        : undefined,
    },
    tables: names.map((name) => ({
      name,
      backupRows: meta.tables.find((t) => t.name === name)?.rows ?? null,
      currentRows: current?.tables.find((t) => t.name === name)?.rows ?? null,
    })),
  };
}

/** What a restore did. */
export interface RestoreResult {
  id: string;
  target: string;
  safetyBackup?: string;
  bytes: number;
}

/**
 * Restores a backup: checks sidecar, size and checksum first (a mismatch refuses and touches
 * nothing), takes a `pre-restore` safety backup of an existing target, then lets the engine load
 * it all-or-nothing.
 */
export async function restoreBackup(
  context: ServiceContext,
  query: string,
  options: RestoreBackupOptions = {},
): Promise<RestoreResult> {
  return await audited(context, "restore", query, async () => {
    const result = await restoreInto(context, query, options);
    return {
      result,
      target: result.id,
      details: {
        to: result.target,
        ...(result.safetyBackup ? { safetyBackup: result.safetyBackup } : {}),
      },
    };
  });
}

async function restoreInto(
  context: ServiceContext,
  query: string,
  options: RestoreBackupOptions,
): Promise<RestoreResult> {
  const { storage, engine } = context;
  const entry = await findBackup(storage, query);
  const meta = parseMeta(await readAll(storage, metaKey(entry.id)), entry.id);
  if (meta.engine !== engine.kind) {
    throw new RefusedError(
      `Cannot restore backup "${entry.id}": it is a ${meta.engine} backup and the target is ${engine.kind}`,
    );
  }
  await checkChecksum(storage, meta);
  const target = options.to ?? context.database;
  const targetExists = await engine.exists(target);
  const empty = targetExists ? await engine.isEmpty?.(target) : undefined;
  if (empty === false && !options.clean) {
    throw new RefusedError(
      `Cannot restore backup "${entry.id}": "${
        engine.redact(target)
      }" is not empty (use --clean to replace the objects the backup contains, or --to NAME --create)`,
    );
  }
  const replaces = targetExists && empty !== true;
  if (replaces && !options.force) {
    throw new RefusedError(
      `Cannot restore backup "${entry.id}": "${
        engine.redact(target)
      }" exists and would be replaced (use --force)`,
    );
  }
  let safetyBackup: string | undefined;
  if (replaces) {
    const safety = await createBackup(context, {
      type: "pre-restore",
      database: target,
      description: `Safety copy taken before restoring ${entry.id}`,
    });
    safetyBackup = safety.id;
  }
  const source = abortable(
    await storage.read(meta.file.name),
    options.signal,
    () =>
      new InterruptedError(
        `Stopped restoring backup "${entry.id}": interrupted, "${
          engine.redact(target)
        }" was left as it was`,
      ),
  );
  const summary = await engine.restore(target, source, {
    replace: true,
    clean: options.clean,
    create: options.create,
    noOwner: options.noOwner,
    noPrivileges: options.noPrivileges,
    onProgress: options.onProgress,
  });
  return { id: entry.id, target: engine.redact(target), safetyBackup, bytes: summary.bytes };
}

/** `stream`, failing with `interrupted()` once `signal` aborts (the engine then rolls back). */
async function* abortable(
  stream: AsyncIterable<Uint8Array>,
  signal: AbortSignal | undefined,
  interrupted: () => Error,
): AsyncIterable<Uint8Array> {
  for await (const chunk of stream) {
    if (signal?.aborted) throw interrupted();
    yield chunk;
  }
}

async function checkChecksum(storage: Storage, meta: BackupMeta): Promise<void> {
  let stream: ReadableStream<Uint8Array>;
  try {
    stream = await storage.read(meta.file.name);
  } catch (error) {
    if (!(error instanceof StorageNotFoundError)) throw error;
    throw new IntegrityError(
      `Cannot restore backup "${meta.id}": its data file "${meta.file.name}" is missing; restore another backup`,
      { cause: error },
    );
  }
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    size += chunk.length;
  }
  const sha = hash.digest("hex");
  if (size !== meta.sizes.compressed || sha !== meta.file.sha256) {
    throw new IntegrityError(
      `Cannot restore backup "${meta.id}": its checksum does not match the sidecar ` +
        `(${size} bytes, sha256 ${sha.slice(0, 16)}…, expected ${meta.sizes.compressed} bytes, ` +
        `${meta.file.sha256.slice(0, 16)}…); the file is damaged, restore another backup`,
    );
  }
}

/** What cleanup decided, and for a real run, what it did. */
export interface CleanupReport {
  policy: RetentionPolicy;
  timeZone: string;
  decisions: (RetentionDecision & { size: number })[];
  /** Why nothing is deleted on principle (empty policy, failed newest run), if so. */
  hold?: string;
  incomplete: { key: string; size: number; action: "delete" | "keep"; reason: string }[];
  failures: { key: string; error: string }[];
  dryRun: boolean;
}

/** Options of {@linkcode cleanup}. */
export interface CleanupOptions {
  /** Decide and report only. Default `false`. */
  dryRun?: boolean;
  /** IANA zone that days, weeks, months and years are counted in. Default `UTC`. */
  timeZone?: string;
  /**
   * The newest backup attempt: a failed one holds all deletes. Default: the newest `create` in
   * the audit log.
   */
  lastAttempt?: RetentionOptions["lastAttempt"];
}

/**
 * Applies the retention policy to what is in the store now (no state file), deleting what it
 * decides unless `dryRun`, so a real run does exactly what its dry run showed. Incomplete files
 * older than {@linkcode STALE_AFTER_MS} are removed (younger ones may belong to a run in
 * progress). A sidecar goes before its data file, so a half-deleted backup never lists. Failed
 * deletes are retried and reported.
 */
export async function cleanup(
  context: ServiceContext,
  policy: RetentionPolicy,
  options: CleanupOptions = {},
): Promise<CleanupReport> {
  const { storage, clock } = context;
  const dryRun = options.dryRun ?? false;
  const timeZone = options.timeZone ?? "UTC";
  const now = clock.now();
  const backups = await listBackups(storage);
  const plan = applyRetention(
    backups.map((b) => ({
      id: b.id,
      type: b.type,
      createdAt: b.createdAt,
      good: isGood(b),
      pinned: b.meta?.pinned === true,
      pinReason: b.meta?.pinReason,
    })),
    policy,
    now,
    timeZone,
    { lastAttempt: options.lastAttempt ?? await lastCreateAttempt(storage) },
  );
  const decisions = plan.decisions.map((d) => ({
    ...d,
    size: sizeOf(backups.find((b) => b.id === d.id)!),
  }));
  const incomplete = (await leftovers(storage, backups)).map((e) => {
    const stale = now.getTime() - e.modifiedAt.getTime() > STALE_AFTER_MS;
    return {
      key: e.key,
      size: e.size,
      action: stale ? "delete" as const : "keep" as const,
      reason: stale ? "left by an interrupted run" : "recent: may belong to a run in progress",
    };
  });
  const failures: CleanupReport["failures"] = [];
  if (!dryRun) {
    for (const decision of decisions.filter((d) => d.action === "delete")) {
      const failed = await removeKeys(storage, [metaKey(decision.id), dataKey(decision.id)]);
      failures.push(...failed);
      await recordAction(context, {
        action: "delete",
        target: decision.id,
        outcome: failed.length ? "failed" : "ok",
        ...(failed.length ? { error: failed.map((f) => f.error).join("; ") } : {}),
        details: { reasons: decision.reasons },
      });
    }
    failures.push(
      ...await removeKeys(
        storage,
        incomplete.filter((i) => i.action === "delete").map((i) => i.key),
      ),
    );
  }
  return {
    policy,
    timeZone,
    decisions,
    ...(plan.hold ? { hold: plan.hold } : {}),
    incomplete,
    failures,
    dryRun,
  };
}

/** The newest `create` in the audit log, as retention's `lastAttempt`. */
async function lastCreateAttempt(storage: Storage): Promise<RetentionOptions["lastAttempt"]> {
  const [entry] = await readAudit(storage, { limit: 1, actions: ["create"] });
  return entry && { at: new Date(entry.time), ok: entry.outcome === "ok", error: entry.error };
}

/** Files left by interrupted runs: incomplete writes, and data files whose sidecar never arrived. */
export async function leftovers(
  storage: Storage,
  backups: CatalogEntry[],
): Promise<StorageEntry[]> {
  const known = new Set(backups.flatMap((b) => [dataKey(b.id), metaKey(b.id)]));
  return [
    ...await storage.listIncomplete(),
    // the run died between the two renames
    ...(await storage.list()).filter((e) => e.key.endsWith(DATA_SUFFIX) && !known.has(e.key)),
  ];
}

/** Removes each key (with retries); returns those that could not be removed. */
async function removeKeys(storage: Storage, keys: string[]): Promise<CleanupReport["failures"]> {
  const failures: CleanupReport["failures"] = [];
  for (const key of keys) {
    try {
      await removeWithRetry(storage, key);
    } catch (error) {
      failures.push({ key, error: messageOf(error) });
    }
  }
  return failures;
}

/** Waits before each retry of a failed delete (a file briefly held open, a flaky mount). */
const REMOVE_RETRY_DELAYS_MS = [100, 400];

async function removeWithRetry(storage: Storage, key: string): Promise<void> {
  for (let attempt = 0;; attempt++) {
    try {
      return await storage.remove(key);
    } catch (error) {
      if (attempt >= REMOVE_RETRY_DELAYS_MS.length) throw error;
      await new Promise((resolve) => setTimeout(resolve, REMOVE_RETRY_DELAYS_MS[attempt]));
    }
  }
}

/** Bytes a backup takes in the store: data file and sidecar. */
export function sizeOf(entry: CatalogEntry): number {
  return (entry.dataSize ?? 0) + entry.metaSize;
}

export type { CatalogEntry };
