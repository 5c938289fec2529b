/**
 * The last steps every backup writer shares: a free id, and committing a backup's data files and
 * its sidecar in the one order that leaves nothing unplaceable (`create`, a server backup).
 */
import type { Storage } from "../storage/storage.ts";
import {
  backupId,
  type BackupMeta,
  type BackupType,
  idOfKey,
  metaKey,
  parseMeta,
  serializeMeta,
  type UnsealedMeta,
} from "./backup_file.ts";

/** An id not yet used in the store: any key of an id (sidecar, data, a part, a partial) takes it. */
export async function freeBackupId(storage: Storage, type: BackupType, at: Date): Promise<string> {
  const taken = new Set((await storage.list()).map((e) => idOfKey(e.key)));
  for (let offset = 0;; offset++) {
    const id = backupId(type, new Date(at.getTime() + offset));
    if (!taken.has(id)) return id;
  }
}

/** A data file written and still unseen: its key, and how to make it visible. */
export interface PendingFile {
  key: string;
  commit(): Promise<void>;
}

/**
 * Writes the sidecar (unseen), commits every data file, then commits the sidecar. A run killed
 * between the commits leaves the data beside its writer's sidecar partial, which tells the next
 * run's sweep whose it was (`scratch_sweep.ts`), instead of an orphan no one can place; a sidecar
 * that fails to commit takes the committed data files back. `wait` guards each store call (the
 * caller's stall watchdog).
 */
export async function commitBackup(
  storage: Storage,
  meta: UnsealedMeta,
  files: PendingFile[],
  wait: <T>(promise: Promise<T>) => Promise<T>,
): Promise<BackupMeta> {
  const sidecar = await wait(storage.create(metaKey(meta.id)));
  try {
    await wait(sidecar.write(serializeMeta(meta)));
    for (const file of files) await file.commit();
  } catch (error) {
    await sidecar.abort();
    throw error;
  }
  try {
    await wait(sidecar.commit());
  } catch (error) {
    await sidecar.abort();
    for (const file of files) await storage.remove(file.key).catch(() => {});
    throw error;
  }
  return parseMeta(serializeMeta(meta), meta.id);
}
