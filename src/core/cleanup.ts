import type { Storage, StorageEntry } from "../storage/storage.ts";
import { dataKeys, idOfDataKey, metaKey } from "./backup_file.ts";
import { type CatalogEntry, isGood, listBackups } from "./catalog.ts";
import { messageOf } from "./errors.ts";
import { readAudit, recordAction } from "./audit.ts";
import type { ServiceContext } from "./context.ts";
import {
  applyRetention,
  type RetentionDecision,
  type RetentionOptions,
  type RetentionPolicy,
} from "./retention.ts";

/** Incomplete writes older than this are left by dead runs and may be removed. */
export const STALE_AFTER_MS = 15 * 60 * 1000;

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
      const backup = backups.find((b) => b.id === decision.id);
      const data = backup?.meta ? [backup.meta.file.name] : dataKeys(decision.id);
      const failed = await removeKeys(storage, [metaKey(decision.id), ...data]);
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
  const known = new Set(backups.flatMap((b) => [...dataKeys(b.id), metaKey(b.id)]));
  return [
    ...await storage.listIncomplete(),
    // the run died between the two renames
    ...(await storage.list()).filter((e) => idOfDataKey(e.key) !== undefined && !known.has(e.key)),
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
    });
    reports.push({ store: destination.storage.location, ...report });
  }
  return reports;
}
