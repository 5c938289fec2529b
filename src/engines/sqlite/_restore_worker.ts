/// <reference lib="deno.worker" />
/**
 * The restore's reading half, on its own thread: decompress (gzip, zstd or none), cut into
 * complete statements, refuse what our dumps never write (`_allowlist.ts`) and what is too big
 * (`read_limits.ts`), decode to text. The main thread only runs SQLite. Protocol: {limits} and
 * optionally {compression} first (`RestoreOptions.compression`; without it the input's first
 * bytes tell);
 * {chunk} in -> {ack} once it is processed and its statements posted as {sql}; {consumed: bytes}
 * in once the main thread has run a group; {end} in -> {rest, statements, done}.
 */
import { Decompressor, ExpansionLimitError } from "../../core/decompressor.ts";
import type { Compression } from "../engine.ts";
import type { ReadLimits } from "../read_limits.ts";
import { StatementRefusedError, StatementSplitter } from "./_statement_splitter.ts";
import { isAllowedStatement } from "./_allowlist.ts";
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
let splitter = new StatementSplitter({ judge: isAllowedStatement });
/** Set once the input was refused: nothing more is read. */
let failed = false;
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

function fail(message: string): void {
  if (failed) return;
  failed = true;
  self.postMessage({ error: message });
  input.destroy();
}

input.on("data", (data: Uint8Array) => {
  if (failed) return;
  let complete: Uint8Array;
  try {
    complete = splitter.push(data);
  } catch (error) {
    if (!(error instanceof StatementRefusedError)) throw error;
    return fail(error.message);
  }
  if (complete.length === 0) return;
  pending.push(complete);
  pendingBytes += complete.length;
  post(false);
});
input.on("end", () => {
  if (failed) return;
  post(true);
  const rest = new TextDecoder().decode(splitter.finish());
  self.postMessage({ rest, statements: splitter.statements, done: true });
});
input.on("error", (error: Error) => {
  fail(
    error instanceof ExpansionLimitError
      ? `the backup ${error.message}`
      : `the backup is not a valid ${input.format} stream (${error.message})`,
  );
});

self.onmessage = (event: MessageEvent) => {
  const message = event.data as {
    compression?: Compression;
    limits?: ReadLimits;
    chunk?: Uint8Array;
    end?: boolean;
    consumed?: number;
  };
  if (failed) return;
  if (message.limits) {
    input.setLimit(message.limits.maxSqlBytes);
    splitter = new StatementSplitter({
      judge: isAllowedStatement,
      maxStatementBytes: message.limits.maxStatementBytes,
    });
  }
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
