/// <reference lib="deno.worker" />
/**
 * The restore's reading half, on its own thread: decompress (gzip, zstd or none: the options'
 * `compression`, else the input's first bytes tell), cut into statements and COPY data
 * (`_script_reader.ts`), drop owner/grant statements when asked, and join runs of statements
 * into batches the server takes in one round trip. The main thread only talks to PostgreSQL.
 * Protocol: {options} first; {chunk} in -> {events, ack}; {end} in -> {done, ...summary}.
 */
import { Decompressor, ExpansionLimitError } from "../../core/decompressor.ts";
import type { Compression } from "../engine.ts";
import type { ReadLimits } from "../read_limits.ts";
import {
  type ScriptEvent,
  ScriptReader,
  ScriptRefusedError,
  type StatementPlace,
} from "./_script_reader.ts";
import { collectGarbage, GC_EVERY_BYTES } from "../../core/collect_garbage.ts";

/** Statements joined into one simple-protocol query, up to this many bytes. */
const BATCH_BYTES = 1 << 20;

const input = new Decompressor({ chunkSize: 256 * 1024 });
let reader = new ScriptReader();
/** Set once the input was refused: nothing more is read. */
let failed = false;
let skip = { owner: false, acl: false };
/** Past the first COPY, hand statements out one by one (the parallel load schedules them). */
let splitAfterData = false;
let seenData = false;
let batch: Uint8Array[] = [];
let batchBytes = 0;
/** Where each statement of the batch starts in it, and its place in the script. */
let batchPlaces: StatementPlace[] = [];
let events: ScriptEvent[] = [];
/** SQL bytes decompressed since this worker last collected its garbage. */
let sinceCollection = 0;

function flushBatch(): void {
  if (batchBytes === 0) return;
  const joined = new Uint8Array(batchBytes + batch.length);
  let offset = 0;
  for (const part of batch) {
    joined.set(part, offset);
    joined[offset + part.length] = 0x0a;
    offset += part.length + 1;
  }
  events.push({ type: "statement", sql: joined, places: batchPlaces });
  batch = [];
  batchBytes = 0;
  batchPlaces = [];
}

function take(event: ScriptEvent): void {
  if (event.type !== "statement") {
    if (event.type === "copy") seenData = true;
    flushBatch();
    events.push(event);
    return;
  }
  if (event.category && skip[event.category]) return;
  const offset = batchBytes + batch.length; // each statement is followed by a newline
  for (const place of event.places ?? []) {
    batchPlaces.push({ ...place, offset: offset + place.offset });
  }
  batch.push(event.sql);
  batchBytes += event.sql.length;
  if (batchBytes >= BATCH_BYTES || (splitAfterData && seenData)) flushBatch();
}

function post(ack: number): void {
  const out = events;
  events = [];
  const transfer = out.flatMap((e) =>
    e.type === "statement" ? [e.sql.buffer] : e.type === "data" ? [e.bytes.buffer] : []
  ) as ArrayBuffer[];
  self.postMessage({ events: out, ack }, [...new Set(transfer)]);
}

function fail(message: string): void {
  if (failed) return;
  failed = true;
  self.postMessage({ error: message });
  input.destroy();
}

input.on("data", (data: Uint8Array) => {
  if (failed) return;
  let pushed: ScriptEvent[];
  try {
    pushed = reader.push(data);
  } catch (error) {
    if (!(error instanceof ScriptRefusedError)) throw error;
    return fail(error.message);
  }
  for (const event of pushed) take(event);
  // The decompressor's output and the pieces copied out of it are garbage V8 frees late: peak
  // memory of a 1 GB restore was 280-315 MB without this, 233-237 MB with it.
  sinceCollection += data.length;
  if (sinceCollection >= GC_EVERY_BYTES) {
    sinceCollection = 0;
    collectGarbage();
  }
});
input.on("end", () => {
  if (failed) return;
  flushBatch();
  post(0);
  const { rest, inCopy } = reader.finish();
  self.postMessage({
    done: true,
    rest,
    inCopy,
    complete: reader.complete,
    statements: reader.statements,
  });
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
    options?: {
      noOwner?: boolean;
      noPrivileges?: boolean;
      splitAfterData?: boolean;
      compression?: Compression;
      limits?: ReadLimits;
    };
    chunk?: Uint8Array;
    end?: boolean;
  };
  if (failed) return;
  if (message.options?.limits) {
    input.setLimit(message.options.limits.maxSqlBytes);
    reader = new ScriptReader({ maxStatementBytes: message.options.limits.maxStatementBytes });
  }
  if (message.options) {
    skip = { owner: message.options.noOwner ?? false, acl: message.options.noPrivileges ?? false };
    splitAfterData = message.options.splitAfterData ?? false;
    if (message.options.compression) input.setFormat(message.options.compression);
  }
  if (message.chunk) {
    const size = message.chunk.length;
    input.write(message.chunk, () => post(size));
  }
  if (message.end) input.end();
};
