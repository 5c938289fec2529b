/**
 * Planning a PostgreSQL point-in-time restore from the archive: which base backup, whether the
 * WAL after it is complete, and what recovery target PostgreSQL can actually reach. A target
 * past the archive's last commit recovers to the end of the archive (and says so); a hole in the
 * WAL before the target is refused, never skipped: recovery would stop at it and the result
 * would silently lack everything after.
 */
import type { Storage } from "../storage/storage.ts";
import { BackupNotFoundError, IntegrityError } from "../core/errors.ts";
import { type BaseBackupManifest, listBaseBackups } from "./pg_base_backup.ts";
import { archivedNames } from "./pg_wal_archive.ts";
import {
  chainGaps,
  parseWalFileName,
  segmentNumber,
  segmentsByNumber,
  type WalGap,
} from "./pg_wal_names.ts";
import { lastArchivedCommit } from "./pg_last_commit.ts";

/** What a restore aims at. */
export type PgTarget =
  | { kind: "time"; at: Date }
  | { kind: "latest" }
  | { kind: "xid"; xid: string };

/** The decided restore. */
export interface PgRestorePlan {
  base: BaseBackupManifest;
  /** What PostgreSQL is told: a target time, a transaction id, or none (the end of the archive). */
  recovery: { targetTime?: string; targetXid?: string };
  /** Archived WAL files from the base backup's first segment on (segments and partials). */
  walFiles: number;
  /** The newest segment recovery can reach without a hole. */
  reachableWal: string;
  /** When the newest reachable WAL's last transaction committed, when it was looked at. */
  lastCommit?: string;
  /** Holes in the WAL after the base backup's start (each a warning, or a refusal). */
  gaps: WalGap[];
  /** Why the plan differs from what was asked, for the user. */
  notes: string[];
}

/** Options of {@linkcode planPgRestore}. */
export interface PlanPgOptions {
  identities?: string[];
  pgBin?: string;
}

/** Plans restoring to `target`; throws when no base backup or no complete WAL can reach it. */
export async function planPgRestore(
  store: Storage,
  target: PgTarget,
  options: PlanPgOptions = {},
): Promise<PgRestorePlan> {
  const bases = await listBaseBackups(store);
  if (bases.length === 0) {
    throw new BackupNotFoundError(
      `Cannot restore --at: ${store.location} holds no base backup (take one with create --type base)`,
    );
  }
  const usable = target.kind === "time"
    ? bases.filter((b) => Date.parse(b.stoppedAt) <= target.at.getTime())
    : bases;
  if (usable.length === 0) {
    throw new BackupNotFoundError(
      `Cannot restore to ${(target as { at: Date }).at.toISOString()}: no base backup had ` +
        `finished by then (the oldest finished at ${bases[0].stoppedAt})`,
    );
  }
  const base = usable[usable.length - 1];
  const size = base.walSegmentSize;
  const start = segmentNumber(parseWalFileName(base.startWal)!, size);
  const byNumber = segmentsByNumber(await archivedNames(store), base.timeline, start, size);
  let reach = start - 1;
  while (byNumber.has(reach + 1)) reach++;
  const stop = segmentNumber(parseWalFileName(base.stopWal)!, size);
  if (reach < stop) {
    throw new IntegrityError(
      `Cannot restore from base backup ${base.id}: the WAL it needs to be consistent ` +
        `(${base.startWal} to ${base.stopWal}) is not all archived`,
    );
  }
  const gaps = chainGaps(byNumber, start, size);
  const reachable = [...byNumber.entries()].filter(([n]) => n <= reach).sort((a, b) => a[0] - b[0])
    .map(([, name]) => name);
  const notes: string[] = [];
  const plan: PgRestorePlan = {
    base,
    recovery: {},
    walFiles: byNumber.size,
    reachableWal: byNumber.get(reach)!,
    gaps,
    notes,
  };
  if (target.kind === "xid") {
    plan.recovery.targetXid = target.xid;
    return plan;
  }
  const looked = lastArchivedCommit(store, reachable, {
    identities: options.identities,
    pgBin: options.pgBin,
    major: Math.floor(base.serverVersionNum / 10000),
  });
  // for latest the last commit is only said (no pg_waldump, no figure); for a time it decides
  const last = target.kind === "latest" ? await looked.catch(() => undefined) : await looked;
  if (last) plan.lastCommit = last.toISOString();
  const gapText = gaps.length > 0
    ? `WAL ${gaps[0].first}${
      gaps[0].count > 1 ? ` to ${gaps[0].last}` : ""
    } is missing from the archive`
    : "";
  if (target.kind === "latest") {
    if (gaps.length > 0) notes.push(`${gapText}: recovery stops before it`);
    return plan;
  }
  if (last && target.at.getTime() < last.getTime()) {
    plan.recovery.targetTime = target.at.toISOString();
    return plan;
  }
  if (gaps.length > 0) {
    throw new IntegrityError(
      `Cannot restore to ${target.at.toISOString()}: ${gapText} (a gap), so recovery ends at ` +
        `${plan.reachableWal}${
          last ? `, whose last transaction committed at ${last.toISOString()}` : ""
        }; ` +
        "give an earlier --at, or --at latest to take what the archive holds before the gap",
    );
  }
  notes.push(
    last
      ? `the archive's last transaction committed at ${last.toISOString()}, before the target: ` +
        "recovering to the end of the archive (later commits were not archived yet)"
      : "no transaction committed after the base backup in the archive: recovering to its end",
  );
  return plan;
}
