/** Feeding engines directly in tests: a whole dump as gzip bytes, and bytes as restore input. */
import { Buffer } from "node:buffer";
import { gzipSync } from "node:zlib";
import type { DumpOptions, Engine } from "../../src/engines/engine.ts";

/** Dumps `location` with `engine` and returns the script gzip-compressed, as backups hold it. */
export async function dumpGzipped(
  engine: Engine,
  location: string,
  options?: DumpOptions,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  await engine.dump(location, (chunk) => {
    parts.push(chunk.slice());
    return Promise.resolve();
  }, options);
  return new Uint8Array(gzipSync(Buffer.concat(parts)));
}

/** `bytes` as the one-chunk stream `Engine.restore` reads. */
export async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
