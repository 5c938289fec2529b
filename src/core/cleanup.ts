import type { Storage, StorageEntry } from "../storage/storage.ts";
import { dataKeys, idOfKey, metaKey, storedFiles } from "./backup_file.ts";
import { type CatalogEntry, isGood, listBackups } from "./catalog.ts";
import { messageOf } from "./errors.ts";
import { readAudit, recordAction } from "./audit.ts";
import { withHooks } from "./hooks.ts";
import type { ServiceContext } from "./context.ts";
import {
  deadSidecarWriters,
  findLeftovers,
  type Leftover,
  partialStaleness,
  removeLeftover,
  removerOf,
  STALE_AFTER_MS,
} from "./scratch_sweep.ts";
import { localFileLiveness } from "./scratch_names.ts";
import {
  applyRetention,
  type RetentionDecision,
  type RetentionOptions,
  type RetentionPolicy,
} from "./retention.ts";

export { STALE_AFTER_MS } from "./scratch_sweep.ts";

/** What cleanup decided, and for a real run, what it did. */
export interface CleanupReport {
  policy: RetentionPolicy;
  timeZone: string;
  decisions: (RetentionDecision & { size: number })[];
  /** Why nothing is deleted on principle (empty policy, failed newest run), if so. */
  hold?: string;
  incomplete: { key: string; size: number; action: "delete" | "keep"; reason: string }[];
  /**
   * The engine's scratch that interrupted runs left beside the database or on its server
   * (restore temporaries, load and restore-test databases); only in the primary store's report.
   */
  scratch: ScratchDecision[];
  failures: { key: string; error: string }[];
  dryRun: boolean;
}

/** What cleanup does with one scratch leftover of the engine. */
export interface ScratchDecision {
  name: string;
  kind: string;
  size: number;
  /** The database it belongs to, as `engine.redact` shows it. */
  where: string;
  action: "delete" | "keep";
  reason: string;
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
  /**
   * Also remove the engine's stale scratch (`scratch_sweep.ts`). Default `true`; the stores after
   * the first of {@linkcode cleanupStores} leave it to the first.
   */
  scratch?: boolean;
}

/**
 * Applies the retention policy to what is in the store now (no state file), deleting what it
 * decides unless `dryRun`, so a real run does exactly what its dry run showed. Leftovers of
 * interrupted runs go too: a partial file whose writer is gone at once, other incomplete files
 * (S3 uploads, older names, data files without a sidecar) once older than
 * {@linkcode STALE_AFTER_MS} (younger ones may belong to a run in progress), and the engine's
 * stale scratch (`scratch_sweep.ts`). A sidecar goes before its data file, so a half-deleted
 * backup never lists. Failed deletes are retried and reported.
 */
export async function cleanup(
  context: ServiceContext,
  policy: RetentionPolicy,
  options: CleanupOptions = {},
): Promise<CleanupReport> {
  if (options.dryRun) return await cleanupUnhooked(context, policy, options);
  return await withHooks(context, {
    operation: "cleanup",
    what: `clean up "${context.storage.location}"`,
  }, () => cleanupUnhooked(context, policy, options));
}

async function cleanupUnhooked(
  context: ServiceContext,
  policy: RetentionPolicy,
  options: CleanupOptions,
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
  const liveness = localFileLiveness(now);
  // a partial naming its writer goes as soon as the writer is gone; others by age
  const partials = (await storage.listIncomplete()).map((e) => ({
    entry: e,
    ...partialStaleness(e, liveness),
  }));
  // data whose sidecar partial a dead writer left goes with it (storeLeftovers); others by age
  const deadSidecars = deadSidecarWriters(partials.map((p) => ({ key: p.entry.key, ...p })));
  const incomplete = [
    ...partials,
    ...(await orphanDataFiles(storage, backups)).map((e) => {
      const writer = deadSidecars.get(idOfKey(e.key) ?? "");
      const stale = writer !== undefined || now.getTime() - e.modifiedAt.getTime() > STALE_AFTER_MS;
      return {
        entry: e,
        kind: "orphan",
        stale,
        reason: writer !== undefined
          ? `its sidecar was never committed (${writer})`
          : stale
          ? "left by an interrupted run"
          : "recent: may belong to a run in progress",
      };
    }),
  ].map(({ entry, kind, stale, reason }) => ({
    key: entry.key,
    size: entry.size,
    action: stale ? "delete" as const : "keep" as const,
    reason,
    leftover: {
      place: "store",
      where: storage.location,
      name: entry.key,
      kind,
      size: entry.size,
      stale,
      reason,
    } satisfies Leftover,
  }));
  const scratch = options.scratch ?? true ? await engineScratch(context) : [];
  const deletions = decisions.filter((d) => d.action === "delete");
  const failures: CleanupReport["failures"] = [];
  if (!dryRun) {
    const listed = deletions.length > 0 ? (await storage.list()).map((e) => e.key) : [];
    for (const decision of deletions) {
      const backup = backups.find((b) => b.id === decision.id);
      const failed = await removeKeys(storage, [
        metaKey(decision.id),
        ...backupDataKeys(decision.id, backup, listed),
      ]);
      failures.push(...failed);
      await recordAction(context, {
        action: "delete",
        target: decision.id,
        outcome: failed.length ? "failed" : "ok",
        ...(failed.length ? { error: failed.map((f) => f.error).join("; ") } : {}),
        details: { reasons: decision.reasons },
      });
    }
    // each leftover's removal is audited as a sweep, as the sweep after the lock does
    for (const { leftover } of [...incomplete, ...scratch].filter((i) => i.leftover.stale)) {
      const remove = leftover.place === "store"
        ? () => removeWithRetry(storage, leftover.name)
        : removerOf(context, leftover, []);
      const error = await removeLeftover(context, leftover, remove);
      if (error !== undefined) failures.push({ key: leftover.name, error });
    }
  }
  return {
    policy,
    timeZone,
    decisions,
    ...(plan.hold ? { hold: plan.hold } : {}),
    incomplete: incomplete.map(({ leftover: _, ...shown }) => shown),
    scratch: scratch.map(({ leftover: _, ...shown }) => shown),
    failures,
    dryRun,
  };
}

/** The engine's scratch leftovers as decisions; a search that fails is only a warning. */
async function engineScratch(
  context: ServiceContext,
): Promise<(ScratchDecision & { leftover: Leftover })[]> {
  const search = await findLeftovers(context, { stores: [] });
  for (const { message } of search.errors) {
    context.onEvent?.({ type: "warning", time: context.clock.now(), message });
  }
  return search.leftovers.map((leftover) => ({
    name: leftover.name,
    kind: leftover.kind,
    size: leftover.size,
    where: leftover.where,
    action: leftover.stale ? "delete" : "keep",
    reason: leftover.reason,
    leftover,
  }));
}

/** The newest `create` in the audit log, as retention's `lastAttempt`. */
export async function lastCreateAttempt(
  storage: Storage,
): Promise<RetentionOptions["lastAttempt"]> {
  const [entry] = await readAudit(storage, { limit: 1, actions: ["create"] });
  return entry && { at: new Date(entry.time), ok: entry.outcome === "ok", error: entry.error };
}

/** Files left by interrupted runs: incomplete writes, and data files whose sidecar never arrived. */
export async function leftovers(
  storage: Storage,
  backups: CatalogEntry[],
): Promise<StorageEntry[]> {
  return [...await storage.listIncomplete(), ...await orphanDataFiles(storage, backups)];
}

/**
 * Data files no listed backup owns: their sidecar never arrived (the run died between the
 * commits), or a file with a backup's id that its sidecar does not name (a part left by another
 * run). A backup whose sidecar cannot be read owns every file of its id: retention decides on it.
 */
export async function orphanDataFiles(
  storage: Storage,
  backups: CatalogEntry[],
): Promise<StorageEntry[]> {
  const known = new Set(backups.flatMap((b) => [
    metaKey(b.id),
    ...dataKeys(b.id),
    ...(b.meta ? storedFiles(b.meta).map((f) => f.file.name) : []),
  ]));
  const unread = new Set(backups.filter((b) => !b.meta).map((b) => b.id));
  return (await storage.list()).filter((e) => {
    const id = idOfKey(e.key);
    return id !== undefined && !known.has(e.key) && !unread.has(id);
  });
}

/**
 * The data keys a deleted backup takes with it: every file its sidecar names (main file and
 * parts), and any other listed key of its id (`idOfKey`), so no part outlives its backup.
 */
export function backupDataKeys(
  id: string,
  backup: CatalogEntry | undefined,
  listed: readonly string[],
): string[] {
  const named = backup?.meta ? storedFiles(backup.meta).map((f) => f.file.name) : dataKeys(id);
  const others = listed.filter((key) => idOfKey(key) === id && key !== metaKey(id));
  return [...new Set([...named, ...others])];
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

/** Bytes a backup takes in the store: its data files (main and parts) and sidecar. */
export function sizeOf(entry: CatalogEntry): number {
  return (entry.storedSize ?? entry.dataSize ?? 0) + entry.metaSize;
}

/** One store's cleanup, for {@linkcode cleanupStores}. */
export interface StoreCleanupReport extends CleanupReport {
  store: string;
}

/**
 * Cleans the primary store by `policy`, then each destination by its own policy from its own
 * listing; a failed newest run in the primary store holds deletes everywhere.
 */
export async function cleanupStores(
  context: ServiceContext,
  policy: RetentionPolicy,
  destinations: readonly { storage: Storage; policy: RetentionPolicy }[],
  options: Omit<CleanupOptions, "lastAttempt"> = {},
): Promise<StoreCleanupReport[]> {
  const reports = [{ store: context.storage.location, ...await cleanup(context, policy, options) }];
  const lastAttempt = await lastCreateAttempt(context.storage);
  for (const destination of destinations) {
    const report = await cleanup({ ...context, storage: destination.storage }, destination.policy, {
      ...options,
      lastAttempt,
      scratch: false,
    });
    reports.push({ store: destination.storage.location, ...report });
  }
  return reports;
}
