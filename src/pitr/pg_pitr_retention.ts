/**
 * Retention of PostgreSQL's point-in-time archive: base backups by `pitr.keepDays`, and exactly
 * the WAL the kept ones need. Any instant of the last `keepDays` days stays restorable: every base
 * backup that finished inside the window is kept, and so is the newest one before it (the one a
 * restore to the window's first moment starts from); the newest base backup is always kept. WAL
 * older than the oldest kept base backup's first segment goes; timeline history files stay (a
 * few bytes each, and recovery reads them to choose its timeline).
 */
import type { Storage } from "../storage/storage.ts";
import { partialStaleness, STALE_AFTER_MS } from "../core/scratch_sweep.ts";
import { localFileLiveness } from "../core/scratch_names.ts";
import type { BaseBackupManifest } from "./pg_base_backup.ts";
import { baseKeys } from "./pg_base_backup.ts";
import { walKeys } from "./pg_wal_archive.ts";
import { parseWalFileName, segmentNumber } from "./pg_wal_names.ts";

/** What retention removes: base backup ids and WAL file names. */
export interface ArchivePrune {
  bases: string[];
  wal: string[];
}

/** The base backups and WAL files past retention (pure). */
export function archiveToPrune(
  bases: readonly Pick<BaseBackupManifest, "id" | "stoppedAt" | "startWal" | "walSegmentSize">[],
  walNames: readonly string[],
  now: Date,
  keepDays: number,
): ArchivePrune {
  if (bases.length === 0) return { bases: [], wal: [] };
  const cutoff = now.getTime() - keepDays * 86_400_000;
  const sorted = [...bases].sort((a, b) => a.stoppedAt.localeCompare(b.stoppedAt));
  const before = sorted.filter((b) => Date.parse(b.stoppedAt) < cutoff);
  const keepFrom = Math.max(0, before.length - 1);
  const kept = sorted.slice(keepFrom);
  const removed = sorted.slice(0, keepFrom);
  const segmentSize = kept[0].walSegmentSize;
  const oldestNeeded = Math.min(
    ...kept.map((b) => segmentNumber(parseWalFileName(b.startWal)!, segmentSize)),
  );
  const wal = walNames.filter((name) => {
    const file = parseWalFileName(name);
    if (!file || file.kind === "history") return false;
    return segmentNumber(file, segmentSize) < oldestNeeded;
  });
  return { bases: removed.map((b) => b.id), wal };
}

/** Removes what {@linkcode archiveToPrune} names: manifests first, so nothing half-removed counts. */
export async function pruneArchive(store: Storage, prune: ArchivePrune): Promise<void> {
  for (const id of prune.bases) {
    const keys = baseKeys(id);
    await store.remove(keys.manifest);
    await store.remove(keys.data);
  }
  for (const name of prune.wal) {
    const keys = walKeys(name);
    await store.remove(keys.manifest);
    await store.remove(keys.data);
  }
}

/**
 * What interrupted runs left in the archive, for `create --type base` holding the store's lock:
 * stale partial writes, base backup data without a manifest (no other base backup can be
 * running), and WAL data without a manifest once older than {@linkcode STALE_AFTER_MS} (a
 * `wal-push` takes no lock: a recent one may be writing its manifest now).
 */
export async function sweepArchiveStore(store: Storage, now: Date): Promise<number> {
  let removed = 0;
  const liveness = localFileLiveness(now);
  for (const entry of await store.listIncomplete()) {
    if (!partialStaleness(entry, liveness).stale) continue;
    await store.remove(entry.key).catch(() => {});
    removed++;
  }
  const entries = await store.list();
  const keys = new Set(entries.map((e) => e.key));
  for (const entry of entries) {
    const base = /^base\.([0-9TZ]+)\.tar\.gz$/.exec(entry.key);
    const wal = /^wal\.(.+)\.gz$/.exec(entry.key);
    const orphan = base
      ? !keys.has(baseKeys(base[1]).manifest)
      : wal
      ? !keys.has(walKeys(wal[1]).manifest) &&
        now.getTime() - entry.modifiedAt.getTime() > STALE_AFTER_MS
      : false;
    if (orphan) {
      await store.remove(entry.key).catch(() => {});
      removed++;
    }
  }
  return removed;
}
