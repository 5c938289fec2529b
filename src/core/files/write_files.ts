/**
 * Writes the files beside the database as a tar: directories walked depth first in name order,
 * regular files with their content, symlinks as their link text (never followed, so a link to a
 * directory outside the tree stays a link). Modes, mtimes and owners' numeric ids are kept.
 *
 * Files change while a backup runs. A file that vanished before it was read is skipped with a
 * warning. A small file (up to {@linkcode SNAPSHOT_BYTES}) is read whole before its header is
 * written, again when its mtime moved while it was read, so its entry is one consistent version.
 * A larger one is streamed: its header announces the size it had when opened, and if it comes out
 * shorter the backup fails (an archive whose header size lies is never kept); if it grew, its
 * first bytes up to that size are kept and a warning says so.
 */
import { join } from "node:path";
import { BackupManagerError } from "../errors.ts";
import type { TarEntry } from "./tar_header.ts";
import { SizeChangedError, type TarSink, TarWriter } from "./tar_write.ts";
import { type CollectedFiles, entryName } from "./collect.ts";

/** Files up to this size are read whole before their header is written. */
export const SNAPSHOT_BYTES = 1024 * 1024;
/** Bytes read from a large file at a time. */
const READ_BYTES = 256 * 1024;

/** Options of {@linkcode writeFilesTar}. */
export interface WriteFilesOptions {
  /** Told each file skipped or changed, in one line. */
  onWarning?: (message: string) => void;
  /** Called after each entry (the stall watchdog's tick). */
  onEntry?: () => void;
  /** Stops at the next entry or chunk; the caller abandons the archive. */
  signal?: AbortSignal;
}

/** What {@linkcode writeFilesTar} wrote. */
export interface FilesSummary {
  entries: number;
  /** Bytes of the tar before compression. */
  bytes: number;
  warnings: string[];
}

/** A file shrank while it was read (its header was written already): the backup fails. */
export class FileChangedError extends BackupManagerError {}

/** Writes the tar of `files` to `sink` and closes it with the end-of-archive blocks. */
export async function writeFilesTar(
  files: CollectedFiles,
  sink: TarSink,
  options: WriteFilesOptions = {},
): Promise<FilesSummary> {
  const tar = new TarWriter(sink);
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    options.onWarning?.(message);
  };
  const buffer = new Uint8Array(READ_BYTES);
  const add = async (path: string, walk: boolean): Promise<void> => {
    options.signal?.throwIfAborted();
    const name = path === files.root ? "" : entryName(files.root, path);
    const shown = name || ".";
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(path);
    } catch (error) {
      if (!gone(error)) throw error;
      return warn(`"${shown}" vanished before it was read: skipped`);
    }
    const base = {
      name,
      mode: (info.mode ?? 0o644) & 0o7777,
      mtimeMs: info.mtime?.getTime() ?? 0,
      ...(info.uid !== null ? { uid: info.uid } : {}),
      ...(info.gid !== null ? { gid: info.gid } : {}),
    };
    if (info.isSymlink) {
      let linkname: string;
      try {
        linkname = await Deno.readLink(path);
      } catch (error) {
        if (!gone(error)) throw error;
        return warn(`"${shown}" vanished before it was read: skipped`);
      }
      if (name === "") return warn(`"${path}" is a symbolic link: not followed, skipped`);
      await tar.add({ ...base, kind: "symlink", size: 0, linkname });
    } else if (info.isDirectory) {
      if (name !== "") await tar.add({ ...base, kind: "directory", size: 0 });
      if (walk) {
        for (const child of await children(path)) await add(join(path, child), true);
      }
    } else if (info.isFile) {
      if (name === "") return;
      if ((info.nlink ?? 1) > 1) {
        warn(
          `"${shown}" has ${info.nlink} hard links: stored as a regular file, the link is not kept`,
        );
      }
      await addFile(tar, path, shown, base, buffer, warn);
    } else {
      warn(
        `"${shown}" is not a regular file, directory or symbolic link (a socket, fifo or device): skipped`,
      );
    }
    options.onEntry?.();
  };
  for (const path of files.paths) await add(path, !files.exact);
  await tar.end();
  return { entries: tar.entries, bytes: tar.bytes, warnings };
}

type Base = Omit<TarEntry, "kind" | "size">;

async function addFile(
  tar: TarWriter,
  path: string,
  shown: string,
  base: Base,
  buffer: Uint8Array,
  warn: (message: string) => void,
): Promise<void> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (!gone(error)) throw error;
    return warn(`"${shown}" vanished before it was read: skipped`);
  }
  try {
    let info = await file.stat();
    if (info.size <= SNAPSHOT_BYTES) {
      // read whole, again if it was written meanwhile: one consistent version in the archive
      for (let attempt = 1;; attempt++) {
        const content = await readSmall(file, info.size);
        const after = await file.stat();
        const moved = after.mtime?.getTime() !== info.mtime?.getTime() || after.size !== info.size;
        if (!moved || attempt === 3 || after.size > SNAPSHOT_BYTES) {
          if (moved) warn(`"${shown}" kept changing while being read: stored as last read`);
          const entry = { ...base, mtimeMs: info.mtime?.getTime() ?? base.mtimeMs };
          return await tar.addFile({ ...entry, kind: "file", size: content.length }, [content]);
        }
        info = after;
        await file.seek(0, Deno.SeekMode.Start);
      }
    }
    const size = info.size;
    const entry: TarEntry = { ...base, kind: "file", size, mtimeMs: info.mtime?.getTime() ?? 0 };
    let grew = false;
    const body = async function* () {
      let left = size;
      while (left > 0) {
        const n = await file.read(buffer.subarray(0, Math.min(left, buffer.length)));
        if (n === null) return; // shorter than its header: the writer throws
        left -= n;
        yield buffer.subarray(0, n);
      }
      const extra = await file.read(buffer.subarray(0, 1));
      grew = extra !== null && extra > 0;
    };
    try {
      await tar.addFile(entry, body());
    } catch (error) {
      if (!(error instanceof SizeChangedError)) throw error;
      throw new FileChangedError(
        `Cannot back up the files: "${shown}" shrank while being read (${error.actual} of ${size} bytes); nothing was kept (run again when it is not being rewritten)`,
        { cause: error },
      );
    }
    if (grew) warn(`"${shown}" grew while being read: stored its first ${size} bytes`);
  } finally {
    file.close();
  }
}

/** The whole content of a small file: up to `size` + 1 bytes, so growth is seen. */
async function readSmall(file: Deno.FsFile, size: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const chunk = new Uint8Array(Math.max(4096, size + 1 - total));
    const n = await file.read(chunk);
    if (n === null) break;
    chunks.push(chunk.subarray(0, n));
    total += n;
    if (total > SNAPSHOT_BYTES) break;
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** The names in a directory, sorted; empty when it vanished. */
async function children(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  } catch (error) {
    if (!gone(error)) throw error;
  }
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function gone(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory;
}
