/**
 * Nothing outlives an interrupted run: the scratch things a killed run left (temporary files
 * beside a SQLite target, load and restore-test databases on a PostgreSQL server, partial files
 * and unfinished multipart uploads in a store) are found here, and the stale ones removed, by
 * every run that takes the lock and by `cleanup`; `status` counts them meanwhile.
 *
 * A leftover is stale when its owner can no longer be using it: the process named in it is gone
 * (or, from another host, it is old), nobody is connected to the database, or, for names that
 * carry no owner (older versions' names, S3 uploads), it was untouched for
 * {@linkcode STALE_AFTER_MS}. Everything else is kept. No printing here: removals are audited
 * (action `sweep`) and so reach every front end as events; failures come back in the report.
 */
import type { Engine, ScratchLeftover } from "../engines/engine.ts";
import type { Storage, StorageEntry } from "../storage/storage.ts";
import { parsePartialName } from "../storage/partial_name.ts";
import type { AuditContext } from "./audit.ts";
import { recordAction } from "./audit.ts";
import { BackupManagerError, messageOf } from "./errors.ts";
import { idOfKey, META_SUFFIX, metaKey } from "./backup_file.ts";
import { type Liveness, localFileLiveness, scratchStaleness } from "./scratch_names.ts";

/** Incomplete writes without an owner in their name older than this are left by dead runs. */
export const STALE_AFTER_MS = 15 * 60 * 1000;

/** One thing an interrupted run may have left. */
export interface Leftover {
  /** `database`: beside the database or on its server; `store`: in a backup store. */
  place: "database" | "store";
  /** The store's location, or the database as `engine.redact` shows it. */
  where: string;
  /** A file or directory path, a database name, or a store key. */
  name: string;
  /**
   * `restore`, `verify`, `load`, `scratch`, `partial` (a store file), `upload` (S3), `orphan` (data
   * whose sidecar a dead run never committed), `legacy`.
   */
  kind: string;
  size: number;
  /** Whether it is removed: its owner can no longer be using it. */
  stale: boolean;
  /** Why it is removed, or why it is kept. */
  reason: string;
}

/** What {@linkcode findLeftovers} and {@linkcode sweepLeftovers} work on. */
export interface SweepContext extends AuditContext {
  engine: Engine;
  database: string;
}

/** Options of {@linkcode findLeftovers} and {@linkcode sweepLeftovers}. */
export interface SweepOptions {
  /** Stores whose partials are looked at. Default: `context.storage` alone. */
  stores?: readonly Storage[];
  /** Look for the engine's scratch beside the database too. Default `true`. */
  database?: boolean;
  /**
   * Database locations whose scratch is looked for, e.g. a restore's target as well. Default
   * `[context.database]`.
   */
  locations?: readonly string[];
}

/**
 * The database location each engine leftover was found through (its removal goes there); kept
 * out of {@linkcode Leftover}, which is shown and may be serialized, since a URL may hold a
 * password.
 */
const foundThrough = new WeakMap<Leftover, string>();

/** What was found: the leftovers, and the places that could not be searched. */
export interface LeftoverSearch {
  leftovers: Leftover[];
  /** One line per place that could not be searched (an unreachable server, a store). */
  errors: { place: Leftover["place"]; message: string }[];
}

/** What a sweep did. */
export interface SweepReport extends LeftoverSearch {
  removed: Leftover[];
  kept: Leftover[];
  failures: { leftover: Leftover; error: string }[];
}

/** The engine's scratch for the database and every store's partials, stale or not. */
export async function findLeftovers(
  context: SweepContext,
  options: SweepOptions = {},
): Promise<LeftoverSearch> {
  const now = context.clock.now();
  const leftovers: Leftover[] = [];
  const errors: LeftoverSearch["errors"] = [];
  const locations = (options.database ?? true) && context.engine.findScratch
    ? [...new Set(options.locations ?? [context.database])]
    : [];
  const seen = new Set<string>();
  for (const location of locations) {
    try {
      const where = context.engine.redact(location);
      for (const found of await context.engine.findScratch!(location, now)) {
        // two locations on one server (or in one directory) find the same things
        if (seen.has(found.name)) continue;
        seen.add(found.name);
        const leftover = fromScratch(found, where);
        foundThrough.set(leftover, location);
        leftovers.push(leftover);
      }
    } catch (error) {
      if (!(error instanceof BackupManagerError)) throw error;
      errors.push({
        place: "database",
        message: `Cannot look for leftovers of interrupted runs: ${error.message}`,
      });
    }
  }
  for (const storage of options.stores ?? [context.storage]) {
    try {
      leftovers.push(...await storeLeftovers(storage, localFileLiveness(now)));
    } catch (error) {
      if (!(error instanceof BackupManagerError)) throw error;
      errors.push({
        place: "store",
        message: `Cannot look for leftovers of interrupted runs: ${error.message}`,
      });
    }
  }
  return { leftovers, errors };
}

/**
 * The partials and unfinished uploads in `storage`, judged by {@linkcode partialStaleness}, and
 * the data files of their stale sidecar partials: a create or copy writes its sidecar unseen
 * before it commits the data, so data beside a dead writer's sidecar partial, with no sidecar of
 * its own, is that interrupted run's (`orphan` leftovers): the main file and every part
 * already committed (`idOfKey`), so a multi-part backup cut short leaves nothing behind.
 */
export async function storeLeftovers(storage: Storage, liveness: Liveness): Promise<Leftover[]> {
  const leftovers: Leftover[] = (await storage.listIncomplete()).map((entry) => {
    const judged = partialStaleness(entry, liveness);
    return {
      place: "store",
      where: storage.location,
      name: entry.key,
      kind: judged.kind,
      size: entry.size,
      stale: judged.stale,
      reason: judged.reason,
    };
  });
  const deadSidecars = deadSidecarWriters(
    leftovers.map((l) => ({ key: l.name, stale: l.stale, reason: l.reason })),
  );
  if (deadSidecars.size === 0) return leftovers;
  const orphans: Leftover[] = [];
  const complete = new Map((await storage.list()).map((e) => [e.key, e]));
  for (const [id, reason] of deadSidecars) {
    if (complete.has(metaKey(id))) continue;
    // every file of the backup: its main file and each part (`<id>.db-NAME…`, `<id>.files…`)
    for (const [key, data] of complete) {
      if (idOfKey(key) !== id) continue;
      orphans.push({
        place: "store",
        where: storage.location,
        name: key,
        kind: "orphan",
        size: data.size,
        stale: true,
        reason: `its sidecar was never committed (${reason})`,
      });
    }
  }
  // the data first: a sweep cut short still finds the sidecar partial that places it
  return [...orphans, ...leftovers];
}

/**
 * The backups whose sidecar partial a dead writer left (id to why it is stale), from judged
 * incomplete entries: their data, if committed, is that interrupted run's.
 */
export function deadSidecarWriters(
  partials: { key: string; stale: boolean; reason: string }[],
): Map<string, string> {
  return new Map(partials.flatMap((p) => {
    const key = p.stale ? parsePartialName(p.key)?.key : undefined;
    return key?.endsWith(META_SUFFIX) ? [[key.slice(0, -META_SUFFIX.length), p.reason]] : [];
  }));
}

/**
 * Whether an incomplete entry of a store is left by a dead run: a local partial names its
 * writer (`partial_name.ts`); an S3 upload or an old partial does not, and is judged by age.
 */
export function partialStaleness(
  entry: StorageEntry,
  liveness: Liveness,
): { kind: "partial" | "upload"; stale: boolean; reason: string; running?: true } {
  const parsed = parsePartialName(entry.key);
  const kind = parsed ? "partial" : "upload";
  if (parsed?.owner) {
    const stale = scratchStaleness(parsed.owner, liveness);
    if (stale !== undefined) {
      return { kind, stale: true, reason: `left by an interrupted run: ${stale}` };
    }
    return parsed.owner.host === liveness.host
      ? {
        kind,
        stale: false,
        reason: `its writer (process ${parsed.owner.pid}) is still running`,
        running: true,
      }
      : { kind, stale: false, reason: "made on another host: its writer may still be running" };
  }
  const age = liveness.now.getTime() - entry.modifiedAt.getTime();
  return age > STALE_AFTER_MS
    ? { kind, stale: true, reason: "left by an interrupted run" }
    : { kind, stale: false, reason: "recent: may belong to a run in progress" };
}

function fromScratch(found: ScratchLeftover, where: string): Leftover {
  return {
    place: "database",
    where,
    name: found.name,
    kind: found.kind,
    size: found.size,
    stale: found.stale !== undefined,
    reason: found.stale ?? "in use: its owner may still be working on it",
  };
}

/**
 * Finds the leftovers and removes the stale ones, each removal (or failed one) audited as
 * `sweep`. Never throws for a removal or a search that fails: they come back in the report.
 */
export async function sweepLeftovers(
  context: SweepContext,
  options: SweepOptions = {},
): Promise<SweepReport> {
  const search = await findLeftovers(context, options);
  const stores = options.stores ?? [context.storage];
  const report: SweepReport = { ...search, removed: [], kept: [], failures: [] };
  for (const leftover of search.leftovers) {
    if (!leftover.stale) {
      report.kept.push(leftover);
      continue;
    }
    const error = await removeLeftover(context, leftover, removerOf(context, leftover, stores));
    if (error === undefined) report.removed.push(leftover);
    else report.failures.push({ leftover, error });
  }
  return report;
}

/** How to remove `leftover`: a key of its store, or the engine's scratch. */
export function removerOf(
  context: SweepContext,
  leftover: Leftover,
  stores: readonly Storage[],
): () => Promise<void> {
  if (leftover.place === "store") {
    const store = stores.find((s) => s.location === leftover.where);
    return async () => {
      if (!store) throw new Error(`Cannot remove "${leftover.name}": no store "${leftover.where}"`);
      await store.remove(leftover.name);
    };
  }
  return async () => {
    if (!context.engine.removeScratch) {
      throw new Error(`Cannot remove "${leftover.name}": the engine cannot remove scratch`);
    }
    await context.engine.removeScratch(foundThrough.get(leftover) ?? context.database, {
      name: leftover.name,
      kind: leftover.kind,
      size: leftover.size,
      stale: leftover.reason,
    });
  };
}

/**
 * Removes one stale leftover with `remove` and audits it (action `sweep`, its place, kind, size
 * and reason in the details); returns the one-line error when it could not be removed.
 */
export async function removeLeftover(
  context: AuditContext,
  leftover: Leftover,
  remove: () => Promise<void>,
): Promise<string | undefined> {
  let error: string | undefined;
  try {
    await remove();
  } catch (failure) {
    error = messageOf(failure);
  }
  await recordAction(context, {
    action: "sweep",
    target: leftover.name,
    outcome: error === undefined ? "ok" : "failed",
    ...(error === undefined ? {} : { error }),
    details: {
      place: leftover.place,
      where: leftover.where,
      kind: leftover.kind,
      size: leftover.size,
      reason: leftover.reason,
    },
  });
  return error;
}

/**
 * The sweep every run makes once it holds the lock: stale leftovers removed, and whatever went
 * wrong said as a warning event (except a store that cannot be listed: the run's own use of it
 * reports that). It never fails the run that asked for it.
 */
export async function sweepAfterLock(
  context: SweepContext,
  options: SweepOptions = {},
): Promise<SweepReport | undefined> {
  const warn = (message: string) =>
    context.onEvent?.({ type: "warning", time: context.clock.now(), message });
  try {
    const report = await sweepLeftovers(context, options);
    // a store that cannot be listed says so itself when the run uses it: one line, not two
    for (const { message } of report.errors.filter((e) => e.place === "database")) warn(message);
    for (const { error } of report.failures) {
      warn(`Cannot remove a leftover of an interrupted run: ${error}`);
    }
    return report;
  } catch (error) {
    warn(`Cannot remove leftovers of interrupted runs: ${messageOf(error)}`);
    return undefined;
  }
}

/** Counts and bytes of leftovers, for status. */
export function tally(leftovers: readonly Leftover[]): { count: number; bytes: number } {
  return { count: leftovers.length, bytes: leftovers.reduce((sum, l) => sum + l.size, 0) };
}
