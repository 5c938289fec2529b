/**
 * Copies of backups in other stores: one backup copied byte for byte (`copy --to/--from`), and
 * a destination brought up to date with the primary store (`create --copy-to`, `copies`, `auto`).
 * The data goes first (the main file, then every part of a multi-part backup), each file checked
 * against its sidecar entry on the way; the sidecar, unchanged, goes last, so a copy that dies
 * midway never lists as a backup at the destination.
 */
import { type Storage, StorageNotFoundError } from "../storage/storage.ts";
import {
  type BackupFileEntry,
  type BackupMeta,
  metaKey,
  parseMeta,
  storedFiles,
} from "./backup_file.ts";
import { type CatalogEntry, findBackup, isGood, listBackups, readAll } from "./catalog.ts";
import {
  BackupManagerError,
  IntegrityError,
  InterruptedError,
  messageOf,
  RefusedError,
  StalledError,
} from "./errors.ts";
import { recordAction } from "./audit.ts";
import { withHooks } from "./hooks.ts";
import { DEFAULT_STALL_TIMEOUT_MS, type ServiceContext } from "./context.ts";
import { type Phase, type Watchdog, watched, watchedStorage } from "./watchdog.ts";
import { applyRetention, isEmptyPolicy, type RetentionPolicy } from "./retention.ts";
import { readCheckedFile } from "./stored_data.ts";
import { checkSignature, type TrustedKey } from "./signing.ts";

/** One further store new backups are copied to, with its own retention. */
export interface Destination {
  storage: Storage;
  /** Rules for the destination's own cleanup; also decide which missing backups are worth copying. */
  policy: RetentionPolicy;
}

/** What one copy did. */
export interface CopyResult {
  id: string;
  from: string;
  to: string;
  /** Bytes of data copied; 0 when the destination already held the backup. */
  bytes: number;
  /** The destination already held this backup (same sidecar): nothing was written. */
  alreadyThere: boolean;
}

/** Options of {@linkcode copyBackup}. */
export interface CopyOptions {
  /** Called with the bytes copied so far. */
  onProgress?: (bytes: number) => void;
  /** Abandons the copy (nothing is kept at the destination) when aborted. */
  signal?: AbortSignal;
  /**
   * Milliseconds without a byte copied before the stall watchdog abandons a copy (`watchdog.ts`);
   * `0` disables it. Default 10 minutes; {@linkcode syncDestination} takes the context's.
   */
  stallTimeoutMs?: number;
  /**
   * Keys the backup must be signed by (`signing.trusted`, `signing.ts`): a copy never carries a
   * forged backup into another store. Empty or absent: signatures are not checked.
   */
  trusted?: TrustedKey[];
}

/**
 * Copies the backup `query` names from `from` to `to`: each data file (the main file, then every
 * part) streamed and checked against its sidecar entry's size and SHA-256 before it is committed
 * (a damaged or missing source file is refused and nothing is kept: files already committed are
 * removed), then the sidecar, byte for byte. A backup the destination already holds whole (the
 * same checksum for every file) is left alone; the same id with other content is refused.
 */
export async function copyBackup(
  from: Storage,
  to: Storage,
  query: string,
  options: CopyOptions = {},
): Promise<CopyResult> {
  return await watched({
    timeoutMs: options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
    phase: readingFrom(from, query),
    parent: options.signal,
  }, async (dog) => {
    const source = watchedStorage(from, dog);
    const entry = await dog.wait(readingFrom(from, query), findBackup(source, query));
    return await copyWatched(source, watchedStorage(to, dog), entry.id, options, dog);
  });
}

/** {@linkcode copyBackup} of a whole id, without listing the source again. */
async function copyById(
  from: Storage,
  to: Storage,
  id: string,
  options: CopyOptions,
): Promise<CopyResult> {
  return await watched({
    timeoutMs: options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
    phase: readingFrom(from, id),
    parent: options.signal,
  }, (dog) => copyWatched(watchedStorage(from, dog), watchedStorage(to, dog), id, options, dog));
}

/** Reading the backup from the source store, for the stall line. */
function readingFrom(from: Storage, backup: string): Phase {
  return {
    doing: "reading from the source store",
    what: `backup "${backup}" in "${from.location}"`,
    check: "check that store (a hung S3 endpoint or network mount); nothing was kept",
  };
}

/** Writing the backup to the destination, for the stall line. */
function writingTo(to: Storage, backup: string): Phase {
  return {
    doing: "writing to the destination store",
    what: `backup "${backup}" to "${to.location}"`,
    check: "check that store (a hung S3 endpoint or network mount); nothing was kept",
  };
}

async function copyWatched(
  from: Storage,
  to: Storage,
  id: string,
  options: CopyOptions,
  dog: Watchdog,
): Promise<CopyResult> {
  const reading = readingFrom(from, id);
  const writing = writingTo(to, id);
  const sidecar = await dog.wait(reading, readAll(from, metaKey(id)));
  const meta = parseMeta(sidecar, id);
  checkSignature(meta, options.trusted ?? [], "copy");
  const result = { id: meta.id, from: from.location, to: to.location };
  const existing = await dog.wait(writing, existingMeta(to, meta));
  if (existing !== "absent" && existing !== "damaged") {
    if (sameFiles(existing, meta)) {
      return { ...result, bytes: 0, alreadyThere: true };
    }
    throw new RefusedError(
      `Cannot copy backup "${meta.id}" to "${to.location}": it holds a different backup of the same id (remove it there first)`,
    );
  }
  // A damaged sidecar there is replaced by the good one. It is written (unseen) before the data,
  // so a copy killed between the two commits leaves the data beside its writer's sidecar partial,
  // which the next sweep recognises (`scratch_sweep.ts`).
  const writer = await dog.wait(
    writing,
    to.create(metaKey(meta.id), { overwrite: existing === "damaged" }),
  );
  const committed: string[] = [];
  // what this copy committed goes again when it fails: nothing of it stays without its sidecar
  const undo = async () => {
    await writer.abort();
    for (const key of committed) await to.remove(key).catch(() => {});
  };
  let bytes = 0;
  try {
    await dog.wait(writing, writer.write(sidecar));
    for (const entry of storedFiles(meta)) {
      bytes += await copyData(from, to, meta, entry, { ...options, before: bytes }, dog);
      committed.push(entry.file.name);
    }
    await dog.wait(writing, writer.commit());
  } catch (error) {
    await undo();
    throw error;
  }
  return { ...result, bytes, alreadyThere: false };
}

/** Whether two sidecars of one id describe the same stored files (every part, same SHA-256). */
function sameFiles(a: BackupMeta, b: BackupMeta): boolean {
  const files = (meta: BackupMeta) =>
    storedFiles(meta).map((f) => `${f.file.name} ${f.file.sha256}`).join("\n");
  return files(a) === files(b);
}

/**
 * The destination's copy of `meta`'s backup: absent, damaged (replaced by the copy: a file
 * missing or of another size, a failed verification) or its sidecar. Looks at that backup's own
 * objects only (sidecar, main file, parts), not the whole store: a sync copies many.
 */
async function existingMeta(
  storage: Storage,
  meta: BackupMeta,
): Promise<BackupMeta | "absent" | "damaged"> {
  let there: BackupMeta;
  try {
    there = parseMeta(await readAll(storage, metaKey(meta.id)), meta.id);
  } catch (error) {
    if (error instanceof StorageNotFoundError) return "absent";
    if (error instanceof IntegrityError) return "damaged";
    throw error;
  }
  if (there.verification?.outcome === "failed") return "damaged";
  for (const entry of storedFiles(there)) {
    try {
      if ((await storage.stat(entry.file.name)).size !== entry.size) return "damaged";
    } catch (error) {
      if (error instanceof StorageNotFoundError) return "damaged";
      throw error;
    }
  }
  return there;
}

/**
 * Copies one file of `meta` (`entry`), checked on the way; returns its bytes. `before`: the bytes
 * of the files copied before it, for the progress.
 */
async function copyData(
  from: Storage,
  to: Storage,
  meta: BackupMeta,
  entry: BackupFileEntry,
  options: CopyOptions & { before: number },
  dog: Watchdog,
): Promise<number> {
  const reading = readingFrom(from, meta.id);
  const writing = writingTo(to, meta.id);
  // a data file without its sidecar (a copy that died) is not a backup: replace it
  const writer = await dog.wait(writing, to.create(entry.file.name, { overwrite: true }));
  let bytes = 0;
  try {
    const source = (await dog.wait(reading, readCheckedFile(from, meta, entry, "copy")))[
      Symbol.asyncIterator
    ]();
    for (;;) {
      const next = await dog.wait(reading, source.next());
      if (next.done) break;
      if (dog.signal.aborted) {
        throw new InterruptedError(
          `Stopped copying backup "${meta.id}": interrupted, nothing was kept in "${to.location}"`,
        );
      }
      await dog.wait(writing, writer.write(next.value));
      bytes += next.value.length;
      options.onProgress?.(options.before + bytes);
    }
    await dog.wait(writing, writer.commit());
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return bytes;
}

/** What bringing one destination up to date did. */
export interface SyncReport {
  destination: string;
  copied: CopyResult[];
  /** Good backups of the primary store the destination's retention would not keep anyway. */
  skipped: string[];
  failures: { id: string; error: string }[];
  /** Set when the destination could not even be listed. */
  error?: string;
}

/**
 * Backups worth copying to a destination: good full and schema backups of the primary that the
 * destination lacks, and that its retention would keep once there (copying what the next cleanup
 * deletes is wasted transfer). Newest first, so the freshest recovery point lands first.
 */
export function missingBackups(
  primary: CatalogEntry[],
  destination: CatalogEntry[],
  policy: RetentionPolicy,
  now: Date,
  timeZone: string,
): { copy: CatalogEntry[]; skip: CatalogEntry[] } {
  const there = new Set(destination.filter(isGood).map((b) => b.id));
  const missing = primary.filter((b) => isGood(b) && b.type !== "pre-restore" && !there.has(b.id));
  if (isEmptyPolicy(policy)) return { copy: missing, skip: [] };
  const plan = applyRetention(
    [
      ...destination.filter((b) => !missing.some((m) => m.id === b.id)),
      ...missing,
    ].map((b) => ({
      id: b.id,
      type: b.type,
      createdAt: b.createdAt,
      good: isGood(b),
      pinned: b.meta?.pinned === true,
    })),
    policy,
    now,
    timeZone,
  );
  const kept = new Set(plan.decisions.filter((d) => d.action === "keep").map((d) => d.id));
  return {
    copy: missing.filter((b) => kept.has(b.id)),
    skip: missing.filter((b) => !kept.has(b.id)),
  };
}

/**
 * Copies to `destination` every backup of the context's store that it lacks
 * ({@linkcode missingBackups}); each copy is audited in the primary store's log. A failure is
 * reported, never thrown: the primary's backups stay good and the next run copies what is missing.
 */
export async function syncDestination(
  context: ServiceContext,
  destination: Destination,
  options: CopyOptions & { timeZone?: string } = {},
): Promise<SyncReport> {
  const report: SyncReport = {
    destination: destination.storage.location,
    copied: [],
    skipped: [],
    failures: [],
  };
  let plan;
  try {
    const listing: Phase = {
      doing: "listing the destination store",
      what: `"${destination.storage.location}"`,
      check: "check that store (a hung S3 endpoint or network mount)",
    };
    const there = await watched({
      timeoutMs: options.stallTimeoutMs ?? context.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
      phase: listing,
      parent: options.signal,
    }, (dog) => listBackups(watchedStorage(destination.storage, dog)));
    plan = missingBackups(
      await listBackups(context.storage),
      there,
      destination.policy,
      context.clock.now(),
      options.timeZone ?? "UTC",
    );
  } catch (error) {
    if (!(error instanceof BackupManagerError)) throw error;
    report.error = error.message;
    await recordAction(context, {
      action: "copy",
      target: destination.storage.location,
      outcome: "failed",
      error: error.message,
    });
    return report;
  }
  report.skipped = plan.skip.map((b) => b.id);
  for (const backup of plan.copy) {
    if (options.signal?.aborted) break;
    try {
      const copied = await withHooks(context, {
        operation: "copy",
        what: `copy backup "${backup.id}" to "${destination.storage.location}"`,
        facts: { id: backup.id, type: backup.type },
        signal: options.signal,
      }, () =>
        copyById(context.storage, destination.storage, backup.id, {
          stallTimeoutMs: context.stallTimeoutMs,
          trusted: context.signing?.trusted,
          ...options,
        }));
      report.copied.push(copied);
      await recordAction(context, {
        action: "copy",
        target: backup.id,
        outcome: "ok",
        details: { to: copied.to, bytes: copied.bytes },
      });
    } catch (error) {
      // an interrupted run stops; any other failure is this copy's, and the next run retries it
      if (!(error instanceof BackupManagerError) || error instanceof InterruptedError) throw error;
      report.failures.push({ id: backup.id, error: messageOf(error) });
      await recordAction(context, {
        action: "copy",
        target: backup.id,
        outcome: "failed",
        error: messageOf(error),
        details: { to: destination.storage.location },
      });
      // a destination that stalled would stall the next copy too: the next run tries again
      if (error instanceof StalledError) break;
    }
  }
  return report;
}

/** The failures of a sync as one-line messages, for logs, exit codes and API answers. */
export function syncErrors(report: SyncReport): string[] {
  return [
    ...(report.error ? [report.error] : []),
    ...report.failures.map((f) =>
      `Backup "${f.id}" was not copied to "${report.destination}": ${f.error}`
    ),
  ];
}
