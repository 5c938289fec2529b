/// <reference lib="deno.worker" />
/**
 * Compresses on its own thread: Deno's node:zlib runs on the thread that calls it, so a dump that
 * both renders SQL and compresses on one thread does the two one after the other.
 * Protocol: {chunk} in (transferred) -> {ack: bytes} when zlib has taken it, {output} out;
 * {end: true} in -> {done: true} after the last output.
 */
import { createGzip } from "node:zlib";

let gzip: ReturnType<typeof createGzip> | undefined;

self.onmessage = (event: MessageEvent) => {
  const message = event.data as { level?: number; chunk?: Uint8Array; end?: boolean };
  if (message.level !== undefined) {
    gzip = createGzip({ level: message.level, chunkSize: 256 * 1024 });
    gzip.on("data", (data: Uint8Array) => {
      const output = new Uint8Array(data); // own buffer, safe to transfer
      self.postMessage({ output }, [output.buffer]);
    });
    gzip.on("end", () => self.postMessage({ done: true }));
    gzip.on("error", (error: Error) => self.postMessage({ error: error.message }));
    return;
  }
  if (message.chunk) {
    const size = message.chunk.length;
    gzip!.write(message.chunk, () => self.postMessage({ ack: size }));
  }
  if (message.end) gzip!.end();
};
