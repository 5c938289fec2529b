/// <reference lib="deno.worker" />
/**
 * Compresses whole slices of the backup, each into a complete gzip member, on its own thread:
 * Deno's node:zlib runs on the thread that calls it, and independent members let several of
 * these workers compress at once while the writer puts the members back in order.
 * Protocol: {level} first; {seq, slice} in (transferred) -> {seq, output, slice} (both
 * transferred), or {seq, error}.
 */
import { gzipSync } from "node:zlib";

let level = 6;

self.onmessage = (event: MessageEvent) => {
  const message = event.data as { level?: number; seq?: number; slice?: Uint8Array };
  if (message.level !== undefined) level = message.level;
  if (message.slice === undefined) return;
  try {
    const compressed = gzipSync(message.slice, { level });
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
};
