import { statfs } from "node:fs/promises";
import { join } from "node:path";
import {
  type AtomicWriter,
  type CreateOptions,
  type Storage,
  type StorageEntry,
  StorageNotFoundError,
} from "./storage.ts";
import { messageOf, StorageError } from "../core/errors.ts";
import { isOutOfSpace, outOfSpaceState } from "./_space_errors.ts";
import { PARTIAL_SUFFIX, partialName } from "./partial_name.ts";
import { currentOwner } from "../core/scratch_names.ts";

export { PARTIAL_SUFFIX } from "./partial_name.ts";

/** Files stat-ed at once when listing. */
const STAT_BATCH = 64;

/**
 * Backups in a directory on local disk. Writes go to `<key>.bm-<host>.<pid>.<startMs>.partial`
 * (mode 0600; named after the writing process, see `partial_name.ts`), are fsynced, renamed into
 * place and the directory fsynced, so a crash never leaves a half-written object under its final
 * name, and the next run can tell a dead writer's partial from a live one's.
 */
export class LocalStorage implements Storage {
  readonly location: string;

  constructor(directory: string) {
    this.location = directory;
  }

  async create(key: string, options: CreateOptions = {}): Promise<AtomicWriter> {
    checkKey(key);
    await this.#ensureDirectory();
    const finalPath = join(this.location, key);
    const partialPath = join(this.location, partialName(key, currentOwner(new Date())));
    let file: Deno.FsFile;
    try {
      file = await Deno.open(partialPath, { write: true, createNew: true, mode: 0o600 });
    } catch (error) {
      if (isOutOfSpace(error)) throw writeError(partialPath, error);
      throw new StorageError(
        `Cannot write "${partialPath}": ${messageOf(error)} (check the directory's permissions)`,
        { cause: error },
      );
    }
    return new LocalWriter(file, partialPath, finalPath, this.location, options.overwrite ?? false);
  }

  async read(key: string): Promise<ReadableStream<Uint8Array>> {
    checkKey(key);
    try {
      const file = await Deno.open(join(this.location, key), { read: true });
      return file.readable;
    } catch (error) {
      throw this.#translate(error, key);
    }
  }

  async stat(key: string): Promise<StorageEntry> {
    checkKey(key);
    try {
      const info = await Deno.stat(join(this.location, key));
      return { key, size: info.size, modifiedAt: info.mtime ?? new Date(0) };
    } catch (error) {
      throw this.#translate(error, key);
    }
  }

  async list(): Promise<StorageEntry[]> {
    return (await this.#entries()).filter((e) => !e.key.endsWith(PARTIAL_SUFFIX));
  }

  async listIncomplete(): Promise<StorageEntry[]> {
    return (await this.#entries()).filter((e) => e.key.endsWith(PARTIAL_SUFFIX));
  }

  async append(key: string, bytes: Uint8Array): Promise<void> {
    checkKey(key);
    await this.#ensureDirectory();
    const path = join(this.location, key);
    try {
      // O_APPEND: each write lands at the end, so concurrent writers' records never interleave
      const file = await Deno.open(path, { append: true, create: true, mode: 0o600 });
      try {
        let offset = 0;
        while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
        await file.syncData();
      } finally {
        file.close();
      }
    } catch (error) {
      throw new StorageError(`Cannot append to "${path}": ${messageOf(error)}`, { cause: error });
    }
  }

  async remove(key: string): Promise<void> {
    checkKey(key);
    try {
      await Deno.remove(join(this.location, key));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw new StorageError(`Cannot remove "${join(this.location, key)}": ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  async freeBytes(): Promise<number | undefined> {
    try {
      const stats = await statfs(this.location);
      return Number(stats.bavail) * Number(stats.bsize);
    } catch {
      return undefined;
    }
  }

  async subStores(): Promise<string[]> {
    const names: string[] = [];
    try {
      for await (const entry of Deno.readDir(this.location)) {
        if (entry.isDirectory && !entry.name.startsWith(".")) names.push(entry.name);
      }
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      throw new StorageError(
        `Cannot read backup directory "${this.location}": ${messageOf(error)}`,
        { cause: error },
      );
    }
    return names;
  }

  async #entries(): Promise<StorageEntry[]> {
    const names: string[] = [];
    try {
      for await (const entry of Deno.readDir(this.location)) {
        if (entry.isFile) names.push(entry.name);
      }
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      const state = error instanceof Deno.errors.NotADirectory
        ? "it is a file, not a directory (check --dir or BACKUP_DIR)"
        : error instanceof Deno.errors.PermissionDenied
        ? "permission denied (check the directory's permissions)"
        : messageOf(error);
      throw new StorageError(`Cannot read backup directory "${this.location}": ${state}`, {
        cause: error,
      });
    }
    // stats in parallel batches: one at a time costs a round trip to the I/O thread per file
    const entries: StorageEntry[] = [];
    for (let i = 0; i < names.length; i += STAT_BATCH) {
      const batch = await Promise.all(
        names.slice(i, i + STAT_BATCH).map((name) => this.#stat(name)),
      );
      for (const entry of batch) if (entry) entries.push(entry);
    }
    return entries;
  }

  async #stat(name: string): Promise<StorageEntry | undefined> {
    try {
      const info = await Deno.stat(join(this.location, name));
      return { key: name, size: info.size, modifiedAt: info.mtime ?? new Date(0) };
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined; // removed while listing
      throw new StorageError(`Cannot read "${join(this.location, name)}": ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  async #ensureDirectory(): Promise<void> {
    try {
      await Deno.mkdir(this.location, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new StorageError(
        `Cannot create backup directory "${this.location}": ${messageOf(error)}`,
        { cause: error },
      );
    }
  }

  #translate(error: unknown, key: string): Error {
    if (error instanceof Deno.errors.NotFound) return new StorageNotFoundError(key, this.location);
    return new StorageError(`Cannot read "${join(this.location, key)}": ${messageOf(error)}`, {
      cause: error,
    });
  }
}

class LocalWriter implements AtomicWriter {
  #file: Deno.FsFile | undefined;
  readonly #partialPath: string;
  readonly #finalPath: string;
  readonly #directory: string;
  readonly #overwrite: boolean;

  constructor(
    file: Deno.FsFile,
    partialPath: string,
    finalPath: string,
    directory: string,
    overwrite: boolean,
  ) {
    this.#file = file;
    this.#partialPath = partialPath;
    this.#finalPath = finalPath;
    this.#directory = directory;
    this.#overwrite = overwrite;
  }

  async write(chunk: Uint8Array): Promise<void> {
    const file = this.#open();
    let offset = 0;
    try {
      while (offset < chunk.length) offset += await file.write(chunk.subarray(offset));
    } catch (error) {
      throw writeError(this.#finalPath, error);
    }
  }

  async commit(): Promise<void> {
    const file = this.#open();
    try {
      await file.sync();
      file.close();
      this.#file = undefined;
      if (!this.#overwrite && await exists(this.#finalPath)) {
        throw new StorageError(`Cannot write "${this.#finalPath}": it already exists`);
      }
      await Deno.rename(this.#partialPath, this.#finalPath);
      await syncDirectory(this.#directory);
    } catch (error) {
      await this.abort();
      if (error instanceof StorageError) throw error;
      throw writeError(this.#finalPath, error);
    }
  }

  async abort(): Promise<void> {
    try {
      this.#file?.close();
    } catch {
      // already closed
    }
    this.#file = undefined;
    await Deno.remove(this.#partialPath).catch(() => {});
  }

  #open(): Deno.FsFile {
    if (!this.#file) throw new StorageError(`Cannot write "${this.#finalPath}": writer is closed`);
    return this.#file;
  }
}

/** A failed write as the store's error; a full disk or quota says so in words. */
function writeError(path: string, error: unknown): StorageError {
  const state = isOutOfSpace(error) ? outOfSpaceState(error) : messageOf(error);
  return new StorageError(`Cannot write "${path}": ${state}`, { cause: error });
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Makes a rename durable. Some filesystems refuse to sync a directory; that is not an error. */
export async function syncDirectory(directory: string): Promise<void> {
  try {
    const dir = await Deno.open(directory, { read: true });
    try {
      await dir.sync();
    } finally {
      dir.close();
    }
  } catch {
    // best effort
  }
}

function checkKey(key: string): void {
  if (key === "" || key.includes("/") || key.includes("\\") || key === "." || key === "..") {
    throw new StorageError(`Cannot use "${key}" as a storage key: keys are plain file names`);
  }
}
