/// <reference lib="deno.worker" />
/**
 * The restore's reading half, on its own thread: decompress (gzip, zstd or none), cut into
 * complete statements, decode to text. The main thread only runs SQLite. Protocol: optionally
 * {compression} first (`RestoreOptions.compression`; without it the input's first bytes tell);
 * {chunk} in -> {ack} once it is processed and its statements posted as {sql}; {consumed: bytes}
 * in once the main thread has run a group; {end} in -> {rest, statements, done}.
 */
import { Decompressor } from "../../core/decompressor.ts";
import type { Compression } from "../engine.ts";
import { StatementSplitter } from "./_statement_splitter.ts";
import { collectGarbage, GC_EVERY_BYTES } from "../../core/collect_garbage.ts";

const SQL_BATCH_BYTES = 1 << 20;
/**
 * SQL posted and not yet run before the decompressor pauses. Pausing holds back the acks of the
 * input chunks, so the main thread stops reading too: memory is bounded on the SQL side, not only
 * on the compressed side, where a very compressible dump would let tens of MiB pile up.
 */
const MAX_UNCONSUMED = 4 << 20;
let unconsumed = 0;
/** SQL bytes posted since this worker last collected (zlib's buffers; see collectGarbage). */
let sinceCollection = 0;
const input = new Decompressor({ chunkSize: 256 * 1024 });
const splitter = new StatementSplitter();
let pending: Uint8Array[] = [];
let pendingBytes = 0;

function post(force: boolean): void {
  if (pendingBytes === 0 || (!force && pendingBytes < SQL_BATCH_BYTES)) return;
  const joined = new Uint8Array(pendingBytes);
  let offset = 0;
  for (const part of pending) {
    joined.set(part, offset);
    offset += part.length;
  }
  pending = [];
  pendingBytes = 0;
  unconsumed += joined.length;
  sinceCollection += joined.length;
  self.postMessage({ sql: joined }, [joined.buffer]);
  if (sinceCollection >= GC_EVERY_BYTES) {
    sinceCollection = 0;
    collectGarbage();
  }
  if (unconsumed > MAX_UNCONSUMED) input.pause();
}

input.on("data", (data: Uint8Array) => {
  const complete = splitter.push(data);
  if (complete.length === 0) return;
  pending.push(complete);
  pendingBytes += complete.length;
  post(false);
});
input.on("end", () => {
  post(true);
  const rest = new TextDecoder().decode(splitter.finish());
  self.postMessage({ rest, statements: splitter.statements, done: true });
});
input.on("error", (error: Error) => {
  self.postMessage({
    error: `the backup is not a valid ${input.format} stream (${error.message})`,
  });
});

self.onmessage = (event: MessageEvent) => {
  const message = event.data as {
    compression?: Compression;
    chunk?: Uint8Array;
    end?: boolean;
    consumed?: number;
  };
  if (message.compression) input.setFormat(message.compression);
  if (message.consumed) {
    unconsumed -= message.consumed;
    if (unconsumed <= MAX_UNCONSUMED && input.isPaused()) input.resume();
  }
  if (message.chunk) {
    const size = message.chunk.length;
    input.write(message.chunk, () => self.postMessage({ ack: size }));
  }
  if (message.end) input.end();
};
