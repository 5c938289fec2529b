import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * Bytes of data (uncompressed) a thread streams between two calls of {@linkcode collectGarbage}.
 * Measured on a 100 MB and a 300 MB SQLite database (peak RSS, runs alternated on a loaded
 * 2-core machine): create, the main thread collecting every 16 MiB on top of the gzip workers'
 * own collection, 213 / 215 MB before, 180 / 174 MB after, for about 5 % more CPU (every 4 MiB
 * reached 126 MB at 25 % more CPU); restore, the reader worker collecting every 16 MiB,
 * 243 / 258 MB before, 214 / 220 MB after (the main thread collecting too changed nothing).
 */
export const GC_EVERY_BYTES = 16 << 20;

let gc: (() => void) | undefined;

/**
 * Runs a full garbage collection in the calling isolate (main thread or worker).
 *
 * Why: the streaming loops turn every MiB of data into short-lived `ArrayBuffer`s and native
 * objects (zlib streams, SQLite results) whose memory lives outside the V8 heap. V8 frees them
 * only when it collects, and it paces collections by the heap, which stays at a few MiB here, so
 * the freed-late memory scatters over the malloc arenas of each thread and peak RSS grew with the
 * size of the database. Collecting after a fixed amount of data keeps it flat. Each isolate must
 * collect its own garbage: a worker's is out of reach of the main thread's collector.
 */
export function collectGarbage(): void {
  if (gc === undefined) {
    // `gc` is installed only in contexts created after the flag is set, hence the new context.
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  gc();
}
