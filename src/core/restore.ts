import { type BackupMeta, metaKey, parseMeta } from "./backup_file.ts";
import type { Storage } from "../storage/storage.ts";
import { findBackup, readAll } from "./catalog.ts";
import { InterruptedError, RefusedError } from "./errors.ts";
import { identitiesFor, readChecked, readCompressedSql } from "./stored_data.ts";
import { defaultJobs, type ExpectedContent } from "../engines/engine.ts";
import { audited, DEFAULT_STALL_TIMEOUT_MS, type ServiceContext } from "./context.ts";
import { createBackup } from "./create.ts";
import { admitBackup } from "./trust.ts";
import { type Phase, type Watchdog, watched, watchedStorage } from "./watchdog.ts";
import { checkTargetVersion, type VersionCheck } from "./version_gate.ts";
import { backupFacts, withHooks } from "./hooks.ts";
import {
  type FilesMode,
  planFilesStep,
  requireFilesForce,
  requireSafetyPossible,
  restoreFilesStep,
  restoreOnlyFiles,
} from "./files/restore_step.ts";
import type { FilesPlan } from "./files/restore_plan.ts";
import { type FilesRestored, safetyFilesSpec } from "./files/restore_backup_files.ts";

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
  /**
   * At most this many threads or connections the load uses (`RestoreOptions.jobs`); also the
   * safety backup's. Default the context's `jobs`, else the cores.
   */
  jobs?: number;
  /** Abandons the restore (the target stays as it was) and throws when aborted. */
  signal?: AbortSignal;
  /** {@linkcode planRestore} only: a dry run, which needs no identity for encrypted backups. */
  dryRun?: boolean;
  /**
   * {@linkcode planRestore} only: also check the data file's size and SHA-256, as the restore
   * itself will, so a dry run or a confirmation prompt never offers a damaged backup. Default
   * `false` (a restore that follows checks anyway).
   */
  checkData?: boolean;
  /**
   * Load into a target older than the backup needs (an older PostgreSQL major version, a SQLite
   * library without a feature the schema uses) instead of refusing (`version_gate.ts`). Default
   * `false`.
   */
  ignoreVersion?: boolean;
  /**
   * The files kept beside the database (`files/restore_step.ts`): `include` restores them after
   * the database (the default, unless `to` names another database), `skip` leaves them, `only`
   * restores them alone.
   */
  files?: FilesMode;
  /** Restore the files under this directory instead of their recorded root. */
  filesTo?: string;
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
  /** The version check's comparison (absent for an engine without one). */
  version?: VersionCheck;
  /** What restoring the backup's files would write and replace (absent: files not restored). */
  files?: FilesPlan;
}

/** Reads the backup and the target and compares them; changes nothing. */
export async function planRestore(
  context: ServiceContext,
  query: string,
  options: RestoreBackupOptions = {},
): Promise<RestorePlan> {
  return await watched({
    timeoutMs: context.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
    phase: readingPhase(context.storage, query),
    parent: options.signal,
  }, (dog) => plan(context, query, options, dog));
}

/**
 * The backup `query` names, its sidecar parsed and admitted (signature and trust), read through
 * the watchdog: what both the plan and the restore start from.
 */
async function openBackup(context: ServiceContext, query: string, dog: Watchdog) {
  const storage = watchedStorage(context.storage, dog);
  const reading = readingPhase(context.storage, query);
  const entry = await dog.wait(reading, findBackup(storage, query));
  const meta = parseMeta(await dog.wait(reading, readAll(storage, metaKey(entry.id))), entry.id);
  admitBackup(context, meta, "restore");
  return { storage, reading, entry, meta };
}

async function plan(
  context: ServiceContext,
  query: string,
  options: RestoreBackupOptions,
  dog: Watchdog,
): Promise<RestorePlan> {
  const { engine } = context;
  const { storage, entry, meta } = await openBackup(context, query, dog);
  if (options.checkData) await checkWatched(storage, meta, dog);
  // an encrypted backup without its key is refused before any prompt, not after
  if (meta.file.encryption && !options.dryRun) {
    await identitiesFor(meta, context.encryption, "restore");
  }
  const files = await planFilesStep(context, storage, meta, options, dog);
  if (options.files === "only" && files) {
    const replaces = files.replaced.length > 0;
    const base = { id: entry.id, meta, migration: {}, tables: [], needsClean: false, files };
    return { ...base, target: files.root, targetExists: true, replaces };
  }
  const target = options.to ?? context.database;
  dog.enter({
    doing: "reading the target database",
    what: `"${engine.redact(target)}"`,
    check: "check for a lock held by another session (pg_locks) or a hung database server; " +
      "nothing was changed",
  });
  const version = await checkTargetVersion(engine, meta, target, options.ignoreVersion);
  const targetExists = await engine.exists(target);
  const empty = targetExists ? await engine.isEmpty?.(target) : undefined;
  const replaces = targetExists && empty !== true;
  const current = targetExists ? await engine.describe(target, { signal: dog.signal }) : undefined;
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
    ...(version ? { version } : {}),
    ...(files ? { files } : {}),
  };
}

/** What a restore did. */
export interface RestoreResult {
  id: string;
  target: string;
  safetyBackup?: string;
  bytes: number;
  /** What the engine left out and why (`RestoreSummary.warnings`); absent when nothing. */
  warnings?: string[];
  /** The files restored beside the database (absent: none). */
  files?: FilesRestored;
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
    const target = context.engine.redact(options.to ?? context.database);
    const result = await withHooks(context, {
      operation: "restore",
      what: `restore backup "${query}" into "${target}"`,
      // a mistyped id is refused here, before any hook stops the application
      facts: async () => {
        const entry = await findBackup(context.storage, query);
        return {
          database: target,
          ...(entry.meta ? backupFacts(context.storage, entry.meta) : { id: entry.id }),
        };
      },
      signal: options.signal,
    }, () =>
      watched({
        timeoutMs: context.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
        phase: readingPhase(context.storage, query),
        parent: options.signal,
        interrupted: (cause) =>
          new InterruptedError(
            `Stopped restoring backup "${query}": interrupted, "${
              context.engine.redact(options.to ?? context.database)
            }" was left as it was`,
            { cause },
          ),
      }, (dog) => restoreInto(context, query, options, dog)));
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

/** `checkChecksum`, each chunk a tick of `dog`. */
async function checkWatched(storage: Storage, meta: BackupMeta, dog: Watchdog) {
  const reading = readingPhase(storage, meta.id);
  const checking = await dog.wait(reading, readChecked(storage, meta, "restore"));
  for await (const _ of checking) {
    if (dog.stalled) throw dog.stalled;
    dog.tick(); // size and SHA-256 are checked as the bytes go by
  }
}

/** Reading and checking the backup, for the stall line. */
function readingPhase(storage: Storage, backup: string): Phase {
  return {
    doing: "reading the backup",
    what: `backup "${backup}" in "${storage.location}"`,
    check: "check the store (a hung S3 endpoint or network mount); nothing was changed",
  };
}

async function restoreInto(
  context: ServiceContext,
  query: string,
  options: RestoreBackupOptions,
  dog: Watchdog,
): Promise<RestoreResult> {
  const { engine } = context;
  const { storage, reading, entry, meta } = await openBackup(context, query, dog);
  if (options.files === "only") return await restoreOnlyFiles(context, storage, meta, options, dog);
  await checkTargetVersion(engine, meta, options.to ?? context.database, options.ignoreVersion);
  dog.enter({ ...reading, doing: "checking the backup", what: `backup "${entry.id}"` });
  await checkWatched(storage, meta, dog);
  if (meta.file.encryption) await identitiesFor(meta, context.encryption, "restore");
  const target = options.to ?? context.database;
  const loading: Phase = {
    doing: "loading into the database",
    what: `backup "${entry.id}" into "${engine.redact(target)}"`,
    check: "check for a lock held by another session (pg_locks) or a hung database server; " +
      "the target was left as it was",
  };
  dog.enter(loading);
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
  // the files are checked (a hostile name refuses) before anything is touched
  const filesPlan = await planFilesStep(context, storage, meta, options, dog);
  requireFilesForce(filesPlan, entry.id, options.force);
  await requireSafetyPossible(context, filesPlan, entry.id, target);
  const jobs = options.jobs ?? context.jobs ?? defaultJobs();
  let safetyBackup: string | undefined;
  if (replaces || filesPlan?.replaced.length) {
    const safety = await createBackup(context, {
      type: "pre-restore",
      database: target,
      files: filesPlan && safetyFilesSpec(filesPlan),
      jobs,
      description: `Safety copy taken before restoring ${entry.id}`,
      signal: dog.signal,
      watchdog: dog,
    });
    safetyBackup = safety.id;
  }
  dog.enter(loading);
  const source = abortable(
    await readCompressedSql(storage, meta, context.encryption, "restore"),
    dog,
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
    jobs,
    compression: meta.file.compression,
    signal: dog.signal,
    expected: expectedContent(meta),
  });
  const files = filesPlan && await restoreFilesStep(context, storage, meta, filesPlan, dog);
  return {
    id: entry.id,
    target: engine.redact(target),
    safetyBackup,
    bytes: summary.bytes,
    ...(summary.warnings?.length ? { warnings: summary.warnings } : {}),
    ...(files ? { files } : {}),
  };
}

/**
 * What the engine checks the restored database against, and bounds its reading by: the
 * sidecar's tables (no rows for a schema backup) and raw size.
 */
export function expectedContent(meta: BackupMeta): ExpectedContent {
  return {
    tables: meta.tables.map((t) => ({ ...t, rows: meta.type === "schema" ? 0 : t.rows })),
    rawBytes: meta.sizes.raw,
  };
}

/**
 * `stream`, each chunk a tick of the watchdog, failing with `interrupted()` once its signal
 * aborts (the engine then rolls back).
 */
async function* abortable(
  stream: AsyncIterable<Uint8Array>,
  dog: Watchdog,
  interrupted: () => Error,
): AsyncIterable<Uint8Array> {
  for await (const chunk of stream) {
    if (dog.signal.aborted) throw interrupted();
    dog.tick();
    yield chunk;
  }
}
