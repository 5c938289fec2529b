/// <reference lib="deno.worker" />
/**
 * The restore's reading half, on its own thread: gunzip, cut into complete statements, decode to
 * text. The main thread only runs SQLite. Protocol: {chunk} in -> {ack} once it is processed and
 * its statements posted as {sql}; {end} in -> {rest, statements, done}.
 */
import { createGunzip } from "node:zlib";
import { StatementSplitter } from "./_statement_splitter.ts";

const SQL_BATCH_BYTES = 1 << 20;
const gunzip = createGunzip({ chunkSize: 256 * 1024 });
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
  self.postMessage({ sql: joined }, [joined.buffer]);
}

gunzip.on("data", (data: Uint8Array) => {
  const complete = splitter.push(data);
  if (complete.length === 0) return;
  pending.push(complete);
  pendingBytes += complete.length;
  post(false);
});
gunzip.on("end", () => {
  post(true);
  const rest = new TextDecoder().decode(splitter.finish());
  self.postMessage({ rest, statements: splitter.statements, done: true });
});
gunzip.on("error", (error: Error) => {
  self.postMessage({ error: `the backup is not a valid gzip stream (${error.message})` });
});

self.onmessage = (event: MessageEvent) => {
  const message = event.data as { chunk?: Uint8Array; end?: boolean };
  if (message.chunk) {
    const size = message.chunk.length;
    gunzip.write(message.chunk, () => self.postMessage({ ack: size }));
  }
  if (message.end) gunzip.end();
};
