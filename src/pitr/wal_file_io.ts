/**
 * File I/O of the WAL's frames: reading a WAL file's committed frames (what a replicator's step
 * ships) and writing frames' pages into a database file (the snapshot a replicator builds, the
 * file a restore rebuilds).
 */
import {
  FRAME_HEADER_BYTES,
  readFrame,
  WAL_HEADER_BYTES,
  type WalFrame,
  type WalHeader,
} from "./sqlite_wal.ts";
import type { SnapshotManifest } from "./sqlite_pitr_store.ts";

/** Frames read from a WAL file, up to the last commit among them, and their bytes. */
export interface CommittedFrames {
  bytes: Uint8Array;
  frames: WalFrame[];
}

/** Where to read: the log's header, the offset and chain checksum after what was shipped. */
export interface ReadFramesFrom {
  header: WalHeader;
  offset: number;
  checksum: readonly [number, number];
  /** Bytes of the file to look at, at most (the log's size when a step began). */
  limit: number;
  /** Bytes to read at most (one step's), at least one frame. */
  maxBytes: number;
}

/**
 * The valid frames of `walPath` after `from.offset` up to the last commit among them (salts and
 * checksum chain checked), or `undefined` when there is no new commit (or no file).
 */
export async function readCommittedFrames(
  walPath: string,
  from: ReadFramesFrom,
): Promise<CommittedFrames | undefined> {
  const { header } = from;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(walPath);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  try {
    const size = Math.min((await file.stat()).size, from.limit);
    const frameBytes = FRAME_HEADER_BYTES + header.pageSize;
    const available = Math.floor((size - from.offset) / frameBytes);
    const batch = Math.max(1, Math.floor(from.maxBytes / frameBytes));
    if (available <= 0) return undefined;
    await file.seek(from.offset, Deno.SeekMode.Start);
    // batches of maxBytes until one holds a commit: a transaction bigger than a step's bytes is
    // read whole (a segment ends on a commit), never left behind for ever
    const chunks: Uint8Array[] = [];
    const frames: WalFrame[] = [];
    let previous: readonly [number, number] = from.checksum;
    let committed = 0;
    let read = 0;
    while (committed === 0 && read < available) {
      const count = Math.min(batch, available - read);
      const chunk = new Uint8Array(count * frameBytes);
      await readExactly(file, chunk);
      chunks.push(chunk);
      let valid = true;
      for (let i = 0; i < count; i++) {
        const frame = readFrame(chunk, i * frameBytes, read + i, header, previous);
        if (!frame) {
          valid = false;
          break;
        }
        frames.push({ ...frame, offset: (read + i) * frameBytes });
        previous = frame.checksum;
        if (frame.commitSize !== 0) committed = frames.length;
      }
      read += count;
      if (!valid) break;
    }
    if (committed === 0) return undefined;
    const bytes = chunks.length === 1 ? chunks[0] : concat(chunks);
    return { bytes: bytes.subarray(0, committed * frameBytes), frames: frames.slice(0, committed) };
  } finally {
    file.close();
  }
}

/** The chunks as one array. */
export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** Where the valid frames of the log `header` begins end in `bytes` (from offset 32). */
export function logEnd(bytes: Uint8Array, header: WalHeader): number {
  let offset = WAL_HEADER_BYTES;
  let previous: readonly [number, number] = header.checksum;
  for (let i = 0;; i++) {
    const frame = readFrame(bytes, offset, i, header, previous);
    if (!frame) return offset;
    previous = frame.checksum;
    offset += FRAME_HEADER_BYTES + header.pageSize;
  }
}

/** The first `limit` bytes of `walPath` (all of it when shorter). */
export async function walBytesUpTo(walPath: string, limit: number): Promise<Uint8Array> {
  const file = await Deno.open(walPath);
  try {
    const size = Math.min((await file.stat()).size, limit);
    const bytes = new Uint8Array(size);
    await readExactly(file, bytes);
    return bytes;
  } finally {
    file.close();
  }
}

/** What a manifest records of a log's header: enough to check a chain against it. */
export function walIdentity(header: Omit<WalHeader, "checksum">): SnapshotManifest["wal"] {
  return {
    pageSize: header.pageSize,
    salt1: header.salt1,
    salt2: header.salt2,
    checkpointSequence: header.checkpointSequence,
    bigEndian: header.bigEndian,
  };
}

/**
 * Writes each frame's page of `bytes` (frames as in the WAL) at its place in the database file
 * `path`, then cuts the file to the last commit frame's size. Returns the file's new size.
 */
export async function applyToFile(
  path: string,
  bytes: Uint8Array,
  frames: readonly WalFrame[],
  pageSize: number,
): Promise<number> {
  const file = await Deno.open(path, { read: true, write: true });
  try {
    let size = (await file.stat()).size;
    for (const frame of frames) {
      const page = bytes.subarray(
        frame.offset + FRAME_HEADER_BYTES,
        frame.offset + FRAME_HEADER_BYTES + pageSize,
      );
      await file.seek((frame.pageNumber - 1) * pageSize, Deno.SeekMode.Start);
      await writeAll(file, page);
      if (frame.commitSize !== 0) size = frame.commitSize * pageSize;
    }
    await file.truncate(size);
    return size;
  } finally {
    file.close();
  }
}

/** Fills `into` from the file's current position; throws if the file ends first. */
export async function readExactly(file: Deno.FsFile, into: Uint8Array): Promise<void> {
  let read = 0;
  while (read < into.length) {
    const n = await file.read(into.subarray(read));
    if (n === null) throw new Error("the WAL ended while it was read");
    read += n;
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}
