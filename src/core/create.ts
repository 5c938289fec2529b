import { defaultJobs, type DumpProgress } from "../engines/engine.ts";
import {
  type BackupMeta,
  type BackupType,
  dataKey,
  encryptedDataKey,
  FORMAT_VERSION,
  TOOL,
  type UnsealedMeta,
} from "./backup_file.ts";
import { signMeta } from "./signing.ts";
import { commitBackup, freeBackupId } from "./commit_backup.ts";
import { storedStream } from "./stored_stream.ts";
import { type CompressionSpec, DEFAULT_COMPRESSION } from "./compression.ts";
import { DatabaseNotFoundError, InterruptedError } from "./errors.ts";
import { audited, DEFAULT_STALL_TIMEOUT_MS, type ServiceContext } from "./context.ts";
import { type Phase, type Watchdog, watched, watchedStorage } from "./watchdog.ts";
import { backupFacts, withHooks } from "./hooks.ts";
import { collectFiles, type FilesSpec } from "./files/collect.ts";
import { type PendingFilesPart, writeFilesPart } from "./files/files_part.ts";

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
  /** How the SQL is compressed. Default the context's `compression`, else gzip level 6. */
  compression?: CompressionSpec;
  /**
   * At most this many threads or connections the dump uses (`DumpOptions.jobs`), and at most
   * this many (and 2) compression threads. Default the context's `jobs`, else the cores.
   */
  jobs?: number;
  /** Abandons the backup (nothing is kept) and throws {@linkcode InterruptedError} when aborted. */
  signal?: AbortSignal;
  /**
   * A caller's stall watchdog to report progress to (restore's safety backup), instead of one of
   * its own (`ServiceContext.stallTimeoutMs`).
   */
  watchdog?: Watchdog;
  /**
   * Files kept beside the database, written as the backup's `files` part (a tar) right after the
   * dump (`files/`). Resolved before anything is written: a path that matches nothing throws.
   */
  files?: FilesSpec;
}

/**
 * Dumps the database to `<id>.sql.gz` (gzip on workers, SHA-256 while writing; `<id>.sql.zst`
 * with zstd, `<id>.sql` uncompressed; with encryption recipients, `.age` appended, encrypted after
 * compression) and then writes the sidecar. Both are written under temporary names and renamed
 * into place, the sidecar last, so a run that dies at any moment leaves nothing that lists as a
 * backup.
 */
export async function createBackup(
  context: ServiceContext,
  options: CreateBackupOptions = {},
): Promise<BackupMeta> {
  const database = options.database ?? context.database;
  const target = context.engine.redact(database);
  return await audited(context, "create", target, async () => {
    const write = () =>
      options.watchdog ? writeBackup(context, database, options, options.watchdog) : watched({
        timeoutMs: context.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
        phase: dumpPhase(options, `"${target}"`),
        parent: options.signal,
        interrupted: (cause) => interruptedError(target, cause),
      }, (dog) => writeBackup(context, database, options, dog));
    // a restore's safety backup is part of the restore: the restore's hooks run, not create's
    const meta = options.type === "pre-restore" ? await write() : await withHooks(context, {
      operation: "create",
      what: `back up "${target}"`,
      facts: { database: target, type: options.type ?? "full" },
      resultFacts: (meta) => backupFacts(context.storage, meta),
      signal: options.signal,
    }, write);
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

function interruptedError(database: string, cause?: unknown): InterruptedError {
  return new InterruptedError(
    `Stopped backing up "${database}": interrupted, nothing was kept`,
    cause === undefined ? undefined : { cause },
  );
}

/** The phase a dump is in, for the stall line. */
function dumpPhase(options: CreateBackupOptions, what: string): Phase {
  return {
    doing: options.type === "pre-restore" ? "taking the safety backup" : "dumping the database",
    what,
    check: "check for a lock held by another session (pg_locks) or a hung database server; " +
      "nothing was kept",
  };
}

async function writeBackup(
  context: ServiceContext,
  database: string,
  options: CreateBackupOptions,
  dog: Watchdog,
): Promise<BackupMeta> {
  const { engine, clock } = context;
  const storage = watchedStorage(context.storage, dog);
  const type = options.type ?? "full";
  const redacted = engine.redact(database);
  const interrupted = () => interruptedError(redacted);
  const signal = dog.signal;
  if (signal.aborted) throw interrupted();
  const dumping = dumpPhase(options, `"${redacted}"`);
  const storing: Phase = {
    doing: "writing to the store",
    what: `"${storage.location}"`,
    check: "check the store (a hung S3 endpoint or network mount, a stuck disk); nothing was kept",
  };
  dog.enter(dumping);
  await checkDatabase(context, database);
  const files = options.files ? await collectFiles(options.files) : undefined;
  const started = clock.now();
  const id = await dog.wait(storing, freeBackupId(storage, type, started));
  const recipients = context.encryption?.recipients ?? [];
  const compression = options.compression ?? context.compression ?? DEFAULT_COMPRESSION;
  const jobs = options.jobs ?? context.jobs ?? defaultJobs();
  const name = recipients.length > 0
    ? encryptedDataKey(id, compression.format)
    : dataKey(id, compression.format);
  const writer = await dog.wait(storing, storage.create(name));
  const stream = storedStream(writer, name, {
    compression,
    recipients,
    jobs,
    watchdog: { dog, storing },
  });
  let filesPart: PendingFilesPart | undefined;
  try {
    let table = "";
    const summary = await engine.dump(database, (chunk) => {
      if (signal.aborted) throw interrupted();
      dog.tick();
      return stream.write(chunk);
    }, {
      type: type === "schema" ? "schema" : "full",
      tables: options.tables,
      excludeTables: options.excludeTables,
      onProgress: (progress) => {
        if (progress.table !== table) {
          table = progress.table;
          dog.enter({ ...dumping, what: `table "${table}" of "${redacted}"` });
        } else dog.tick();
        options.onProgress?.(progress);
      },
      jobs,
      signal,
    });
    dog.enter(storing);
    const { file, sizes } = await stream.end();
    if (files) {
      dog.enter({
        doing: "reading the files beside the database",
        what: `"${files.root}"`,
        check: "check for a hung network mount or a stuck disk; nothing was kept",
      });
      filesPart = await writeFilesPart(storage, id, files, {
        compression,
        recipients,
        jobs,
        watchdog: { dog, storing },
        signal,
        onWarning: (message) => context.onEvent?.({ type: "warning", time: clock.now(), message }),
      });
      dog.enter(storing);
    }
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
      ...(summary.features?.length ? { features: summary.features } : {}),
      tables: summary.tables,
      totals: {
        tables: summary.tables.length,
        rows: summary.tables.reduce((sum, t) => sum + t.rows, 0),
      },
      sizes,
      file,
      ...(summary.migration ? { migration: summary.migration } : {}),
      ...(options.pin
        ? {
          pinned: true,
          pinnedAt: finished.toISOString(),
          ...(options.pin.reason ? { pinReason: options.pin.reason } : {}),
        }
        : {}),
    };
    // signed over its immutable part, the data's size and SHA-256 included (signing.ts)
    if (filesPart) meta.parts = [...(meta.parts ?? []), filesPart.part];
    if (context.signing?.key) meta.signature = signMeta(meta, context.signing.key);
    const pending = filesPart
      ? [stream, { key: filesPart.part.file.name, commit: () => filesPart!.commit() }]
      : [stream];
    return await commitBackup(storage, meta, pending, (p) => dog.wait(storing, p));
  } catch (error) {
    await stream.abort();
    await filesPart?.abort();
    throw error;
  }
}
