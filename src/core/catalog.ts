import type { Storage, StorageEntry } from "../storage/storage.ts";
import {
  type BackupMeta,
  type BackupType,
  dataKeys,
  idOfKey,
  META_SUFFIX,
  metaKey,
  parseBackupId,
  parseMeta,
  serializeMeta,
  storedFiles,
  type UnsealedMeta,
} from "./backup_file.ts";
import {
  AmbiguousIdError,
  BackupManagerError,
  BackupNotFoundError,
  IntegrityError,
  messageOf,
} from "./errors.ts";
import { diagnoseSize } from "./corruption.ts";

/** One backup in a store, with what a cheap look (no checksum) can tell about it. */
export interface CatalogEntry {
  id: string;
  type: BackupType;
  createdAt: Date;
  /** The parsed sidecar; absent when it cannot be read or fails its checks. */
  meta?: BackupMeta;
  /** Why the backup cannot be trusted, if a cheap look finds a reason. */
  problem?: string;
  /**
   * Key of the data file (`.sql.gz`, `.sql.zst` or `.sql`, with `.age` appended when encrypted),
   * if it exists.
   */
  dataKey?: string;
  /** Size of the stored data file, if it exists. */
  dataSize?: number;
  /**
   * Bytes of every data file of the backup that exists: the main file plus its parts
   * (`storedFiles`); equal to {@linkcode dataSize} for a backup without parts.
   */
  storedSize?: number;
  /** Size of the sidecar. */
  metaSize: number;
}

/** Whether a backup passes every cheap check and its last verification (if any) passed. */
export function isGood(entry: CatalogEntry): boolean {
  return entry.meta !== undefined && entry.problem === undefined;
}

/**
 * Every backup in the store (a backup exists when its sidecar does), newest first. Sidecars are
 * parsed and checked; data files are checked for presence and size; no checksum is computed.
 */
export async function listBackups(storage: Storage): Promise<CatalogEntry[]> {
  const entries = await storage.list();
  const sizes = new Map<string, StorageEntry>(entries.map((e) => [e.key, e]));
  const sidecars = entries.filter((entry) => entry.key.endsWith(META_SUFFIX));
  const backups: CatalogEntry[] = [];
  // sidecars are read a few at a time: an object store answers each read after a round trip
  for (let i = 0; i < sidecars.length; i += SIDECAR_READS) {
    const batch = sidecars.slice(i, i + SIDECAR_READS).map((entry) =>
      catalogEntry(storage, entry, sizes)
    );
    for (const backup of await Promise.all(batch)) if (backup) backups.push(backup);
  }
  return backups.sort(byNewest);
}

/** Sidecars read at once by {@linkcode listBackups}. */
const SIDECAR_READS = 16;

async function catalogEntry(
  storage: Storage,
  entry: StorageEntry,
  sizes: Map<string, StorageEntry>,
): Promise<CatalogEntry | undefined> {
  const id = entry.key.slice(0, -META_SUFFIX.length);
  const parsedId = parseBackupId(id);
  if (!parsedId) return undefined; // not one of ours
  const backup: CatalogEntry = { id, ...parsedId, metaSize: entry.size };
  try {
    backup.meta = parseMeta(await readAll(storage, entry.key), id);
  } catch (error) {
    if (!(error instanceof BackupManagerError)) throw error;
    backup.problem = error.message;
  }
  const dataName = backup.meta?.file.name ?? dataKeys(id).find((key) => sizes.has(key));
  backup.dataSize = dataName === undefined ? undefined : sizes.get(dataName)?.size;
  if (backup.dataSize !== undefined) backup.dataKey = dataName;
  if (backup.meta) {
    // no file there at all: no size to show (a missing part alone still counts what is there)
    const present = storedFiles(backup.meta).map((f) => sizes.get(f.file.name)?.size);
    backup.storedSize = present.every((size) => size === undefined)
      ? undefined
      : present.reduce((sum: number, size) => sum + (size ?? 0), 0);
  } else backup.storedSize = backup.dataSize;
  backup.problem ??= dataProblem(backup, sizes);
  return backup;
}

function byNewest(a: CatalogEntry, b: CatalogEntry): number {
  return b.createdAt.getTime() - a.createdAt.getTime() || b.id.localeCompare(a.id);
}

/**
 * What a listing shows wrong with a backup's data: no main file, then each part missing or of
 * another size than recorded (a backup with a part missing is damaged: it is one unit), then a
 * failed last verification.
 */
function dataProblem(
  backup: CatalogEntry,
  sizes: Map<string, StorageEntry>,
): string | undefined {
  if (backup.dataSize === undefined) return `Backup "${backup.id}" has no data file`;
  const meta = backup.meta!;
  for (const entry of storedFiles(meta)) {
    const size = sizes.get(entry.file.name)?.size;
    if (size === undefined) {
      return `Backup "${backup.id}": its data file "${entry.file.name}" is missing`;
    }
    const damage = diagnoseSize(entry.size, size);
    if (damage) return `Backup "${backup.id}": its data file "${entry.file.name}" ${damage.detail}`;
  }
  if (meta.verification?.outcome === "failed") {
    return `Backup "${backup.id}" failed its last verification: ${meta.verification.detail}`;
  }
  return undefined;
}

/**
 * The one backup `query` names: a whole id, or any part of one that matches exactly one backup.
 * Throws {@linkcode BackupNotFoundError} or {@linkcode AmbiguousIdError} (listing candidates).
 */
export function resolveId<T extends { id: string }>(backups: T[], query: string): T {
  const exact = backups.find((b) => b.id === query);
  if (exact) return exact;
  const needle = query.trim();
  const matches = needle === "" ? [] : backups.filter((b) => b.id.includes(needle));
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) throw new AmbiguousIdError(query, matches.map((m) => m.id));
  throw new BackupNotFoundError(
    `Cannot find backup "${query}": no backup id contains it (run "list" to see the ids)`,
  );
}

/**
 * The one backup in `storage` that `query` names ({@linkcode resolveId}). When no backup matches
 * but a data file without its sidecar does, says that (an {@linkcode IntegrityError}) rather than
 * "not found": the user is looking at that file and should learn why it cannot be used.
 */
export async function findBackup(storage: Storage, query: string): Promise<CatalogEntry> {
  const backups = await listBackups(storage);
  try {
    return resolveId(backups, query);
  } catch (error) {
    if (!(error instanceof BackupNotFoundError)) throw error;
    const listed = new Set(backups.map((b) => b.id));
    // one per id: a multi-part backup's files share theirs
    const orphans = [...new Set((await storage.list()).map((e) => idOfKey(e.key) ?? ""))]
      .map((id) => ({ id }))
      .filter((o) => !listed.has(o.id) && parseBackupId(o.id) !== undefined);
    let orphan: { id: string };
    try {
      orphan = resolveId(orphans, query);
    } catch {
      throw error;
    }
    throw new IntegrityError(
      `Cannot use backup "${orphan.id}": its sidecar "${
        metaKey(orphan.id)
      }" is missing, so its data cannot be checked (left by an interrupted run or a deleted sidecar; use another backup)`,
    );
  }
}

/** Reads a whole (small) object, such as a sidecar. */
export async function readAll(storage: Storage, key: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await new Response(await storage.read(key)).arrayBuffer());
  } catch (error) {
    if (error instanceof BackupManagerError) throw error;
    throw new BackupManagerError(`Cannot read "${key}": ${messageOf(error)}`, { cause: error });
  }
}

/**
 * Writes a sidecar atomically (temporary name, fsync, rename) with a fresh self-checksum;
 * `overwrite` replaces an existing one (verify, pin).
 */
export async function writeMeta(
  storage: Storage,
  meta: UnsealedMeta,
  overwrite: boolean,
): Promise<void> {
  const writer = await storage.create(metaKey(meta.id), { overwrite });
  try {
    await writer.write(serializeMeta(meta));
    await writer.commit();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}
