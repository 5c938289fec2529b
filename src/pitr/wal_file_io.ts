/**
 * File I/O of the WAL's frames: reading a WAL file exactly, and writing frames' pages into a
 * database file (the snapshot a replicator builds, the file a restore rebuilds).
 */
import { FRAME_HEADER_BYTES, type WalFrame } from "./sqlite_wal.ts";

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
