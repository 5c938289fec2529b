/// <reference lib="deno.worker" />
/**
 * Compresses whole slices of the backup, each into a complete gzip member or zstd frame, on its
 * own thread: Deno's node:zlib runs on the thread that calls it, and independent members (frames)
 * let several of these workers compress at once while the writer puts them back in order.
 * Protocol: {format, level} first; {seq, slice} in (transferred) -> {seq, output, slice} (both
 * transferred), or {seq, error}.
 */
import { constants, gzipSync, zstdCompressSync } from "node:zlib";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let format: "gzip" | "zstd" = "gzip";
let level = 6;

/**
 * One slice, compressed. zstd frames carry their content checksum (as gzip members carry a CRC),
 * so a frame that decodes wrongly fails the restore instead of loading other bytes.
 */
function compress(slice: Uint8Array): Uint8Array {
  if (format === "gzip") return gzipSync(slice, { level });
  return zstdCompressSync(slice, {
    params: {
      [constants.ZSTD_c_compressionLevel]: level,
      [constants.ZSTD_c_checksumFlag]: 1,
    },
  });
}

/**
 * Each gzipSync() (or zstdCompressSync()) leaves its zlib state and buffers (outside the JS heap)
 * to the garbage collector, which hardly ever runs here: this worker's JS heap barely grows. Left alone, RSS
 * grew by about 30 MiB per worker over its first ~400 slices, so a backup's peak memory grew
 * with the database (create of a 127 MB PostgreSQL database: 186 MiB, of a 48 MB one: 167 MiB;
 * collecting every 16 slices: 170 and 166 MiB; on a 1.1 GB one every 32 slices: 195-208 MiB
 * instead of 249-254 for about 3 % more CPU time). A full collection every
 * {@linkcode COLLECT_EVERY} slices keeps it flat. `gc` is only reachable with --expose-gc, which
 * can be set at runtime.
 */
const COLLECT_EVERY = 32;
setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as (() => void) | undefined;
let compressed = 0;

self.onmessage = (event: MessageEvent) => {
  const message = event.data as {
    format?: "gzip" | "zstd";
    level?: number;
    seq?: number;
    slice?: Uint8Array;
  };
  if (message.format !== undefined) format = message.format;
  if (message.level !== undefined) level = message.level;
  if (message.slice === undefined) return;
  try {
    const compressed = compress(message.slice);
    // Its own buffer: zlib may hand out a view of a larger pool, which must not be transferred.
    const output = compressed.byteOffset === 0 &&
        compressed.byteLength === compressed.buffer.byteLength
      ? new Uint8Array(compressed.buffer as ArrayBuffer)
      : new Uint8Array(compressed);
    // The slice goes back too: the compressor reuses it, instead of leaving garbage that the
    // collector, which does not count buffers' memory as heap, frees late.
    const slice = message.slice;
    self.postMessage({ seq: message.seq, output, slice }, [
      output.buffer,
      slice.buffer as ArrayBuffer,
    ]);
  } catch (error) {
    self.postMessage({ seq: message.seq, error: (error as Error).message });
  }
  if (++compressed % COLLECT_EVERY === 0) collect?.();
};
