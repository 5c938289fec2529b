/**
 * What replication's store keeps: whole generations, never a segment without its snapshot. A
 * generation stands for the moments from its snapshot to the next generation's; it goes once even
 * its end is older than the retention window, and the newest generation always stays. Removal
 * takes segments first and the snapshot last, so a run killed half-way leaves a generation that
 * still restores (to an earlier point). At start, the replicator also removes what killed runs
 * left: partial writes whose writer is gone, and data objects whose manifest never came.
 */
import type { Storage } from "../storage/storage.ts";
import { partialStaleness } from "../core/scratch_sweep.ts";
import { localFileLiveness } from "../core/scratch_names.ts";
import { listGenerations, segmentKeys, snapshotKeys } from "./sqlite_pitr_store.ts";

/** Pure: the generations (ids, oldest first) to remove at `now` when `keepMs` is kept. */
export function generationsToRemove(
  generations: readonly { generation: string; takenAt: string }[],
  now: Date,
  keepMs: number,
): string[] {
  const remove: string[] = [];
  for (let i = 0; i < generations.length - 1; i++) {
    const end = new Date(generations[i + 1].takenAt).getTime();
    if (end < now.getTime() - keepMs) remove.push(generations[i].generation);
  }
  return remove;
}

/** Removes the generations past the window: segments first, then the snapshot. */
export async function pruneGenerations(
  store: Storage,
  now: Date,
  keepMs: number,
): Promise<string[]> {
  const remove = generationsToRemove(await listGenerations(store), now, keepMs);
  if (remove.length === 0) return [];
  const keys = (await store.list()).map((e) => e.key);
  for (const generation of remove) {
    const snapshot = snapshotKeys(generation);
    const last = [snapshot.manifest, snapshot.data];
    const segments = keys.filter((k) => k.startsWith(`${generation}.`) && !last.includes(k))
      .sort().reverse(); // the newest segment first: a half-pruned chain keeps its start
    for (const key of [...segments, snapshot.manifest, snapshot.data]) {
      await store.remove(key).catch(() => {});
    }
  }
  return remove;
}

/**
 * What killed replicators left: partial writes whose writer is gone, and data objects of
 * segments or snapshots whose manifest is missing. For a replicator starting (nothing is its own yet).
 */
export async function sweepReplicationStore(store: Storage, now: Date): Promise<number> {
  let removed = 0;
  const liveness = localFileLiveness(now);
  for (const entry of await store.listIncomplete()) {
    if (partialStaleness(entry, liveness).running) continue;
    await store.remove(entry.key).catch(() => {});
    removed++;
  }
  const keys = new Set((await store.list()).map((e) => e.key));
  for (const key of keys) {
    const segment = /^(g\d{8}T\d{9}Z)\.(\d{8})\.wal\.gz$/.exec(key);
    const manifest = segment
      ? segmentKeys(segment[1], Number(segment[2])).manifest
      : /^(g\d{8}T\d{9}Z)\.snapshot\.db\.gz$/.test(key)
      ? snapshotKeys(key.split(".")[0]).manifest
      : undefined;
    if (manifest && !keys.has(manifest)) {
      await store.remove(key).catch(() => {});
      removed++;
    }
  }
  return removed;
}
