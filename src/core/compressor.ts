import { BackupManagerError } from "./errors.ts";
import { collectGarbage, GC_EVERY_BYTES } from "./collect_garbage.ts";

/**
 * Uncompressed bytes per gzip member. Each member starts with an empty dictionary, but deflate's
 * window is 32 KiB, so at 1 MiB the file grows by well under 0.1 %; larger slices only hold more
 * memory per slice in flight.
 */
const SLICE_BYTES = 1 << 20;

/** Options of {@linkcode GzipCompressor}. */
export interface GzipCompressorOptions {
  /**
   * Worker threads compressing slices at once. Default 2: creating a backup of a 360 MB
   * PostgreSQL database on a loaded 2-core machine (the server on the same cores) took a median
   * 3.4 s with 2 workers, 4.0 s with 1, and 3.4 s with 3 at 30 MiB more RSS.
   */
  workers?: number;
  /** Uncompressed bytes per gzip member. Default 1 MiB. */
  sliceBytes?: number;
}

/**
 * Gzip on worker threads with backpressure. The input is cut into fixed-size slices, each
 * compressed on a worker into a complete gzip member; members reach `onOutput` in input order,
 * one at a time. A concatenation of gzip members is one valid gzip file (RFC 1952 §2.2):
 * `gunzip -c`, zlib's gunzip streams and Python's `gzip` read it whole. `write` waits while two
 * slices per worker are in flight, so memory stays flat whatever the input size.
 */
export class GzipCompressor {
  readonly #workers: Worker[] = [];
  readonly #onOutput: (chunk: Uint8Array) => Promise<void>;
  readonly #sliceBytes: number;
  readonly #maxInFlight: number;
  #slice: Uint8Array<ArrayBuffer>;
  #sliceLength = 0;
  /** Sequence number of the next slice sent, and of the next member written. */
  #sent = 0;
  #written = 0;
  readonly #done = new Map<number, Uint8Array>();
  /**
   * Slices back from the workers, for reuse: a new 1 MiB buffer per slice is garbage the
   * collector frees late (it does not count buffers as heap), which cost about 70 MiB of RSS
   * per worker.
   */
  readonly #free: Uint8Array<ArrayBuffer>[] = [];
  /** Bytes sent since the last collection (see {@linkcode collectGarbage} for why). */
  #sinceCollection = 0;
  #writing = false;
  #waiters: (() => void)[] = [];
  #failure: Error | undefined;

  constructor(
    level: number,
    onOutput: (chunk: Uint8Array) => Promise<void>,
    options: GzipCompressorOptions = {},
  ) {
    this.#onOutput = onOutput;
    this.#sliceBytes = options.sliceBytes ?? SLICE_BYTES;
    this.#slice = new Uint8Array(this.#sliceBytes);
    const count = Math.max(1, options.workers ?? 2);
    this.#maxInFlight = 2 * count;
    for (let i = 0; i < count; i++) {
      const worker = new Worker(new URL("./_gzip_worker.ts", import.meta.url), {
        type: "module",
      });
      worker.onmessage = (event) => this.#receive(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        this.#fail(new BackupManagerError(`Cannot compress the backup: ${event.message}`));
      };
      worker.postMessage({ level });
      this.#workers.push(worker);
    }
  }

  /** Compresses `chunk`. The bytes are copied: the caller may reuse its buffer. */
  async write(chunk: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#failure) throw this.#failure;
      const take = Math.min(chunk.length - offset, this.#sliceBytes - this.#sliceLength);
      this.#slice.set(chunk.subarray(offset, offset + take), this.#sliceLength);
      this.#sliceLength += take;
      offset += take;
      if (this.#sliceLength === this.#sliceBytes) await this.#send();
    }
    if (this.#failure) throw this.#failure;
  }

  /** Compresses what is left; resolves when the last member has been handled. */
  async end(): Promise<void> {
    try {
      // An empty input still makes one (empty) member: the file stays a valid gzip file.
      if (this.#sliceLength > 0 || this.#sent === 0) await this.#send();
      while (this.#written < this.#sent && !this.#failure) await this.#wait();
      if (this.#failure) throw this.#failure;
    } finally {
      this.abort();
    }
  }

  /** Stops the workers without finishing the stream (after a failed dump). */
  abort(): void {
    for (const worker of this.#workers) worker.terminate();
  }

  /** Hands the current slice to a worker, once fewer than the limit are in flight. */
  async #send(): Promise<void> {
    while (this.#sent - this.#written >= this.#maxInFlight && !this.#failure) await this.#wait();
    if (this.#failure) throw this.#failure;
    const slice = this.#sliceLength === this.#sliceBytes
      ? this.#slice
      : this.#slice.slice(0, this.#sliceLength);
    const seq = this.#sent++;
    this.#sinceCollection += slice.length;
    if (this.#sinceCollection >= GC_EVERY_BYTES) {
      this.#sinceCollection = 0;
      collectGarbage();
    }
    this.#workers[seq % this.#workers.length].postMessage({ seq, slice }, [
      slice.buffer as ArrayBuffer,
    ]);
    this.#slice = this.#free.pop() ?? new Uint8Array(this.#sliceBytes);
    this.#sliceLength = 0;
  }

  #wait(): Promise<void> {
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  #receive(
    message: { seq: number; output?: Uint8Array; slice?: Uint8Array<ArrayBuffer>; error?: string },
  ): void {
    if (message.error !== undefined) {
      return this.#fail(new BackupManagerError(`Cannot compress: ${message.error}`));
    }
    if (message.slice?.length === this.#sliceBytes) this.#free.push(message.slice);
    this.#done.set(message.seq, message.output!);
    this.#drain().catch((error) => this.#fail(error));
  }

  /** Writes finished members in order, one at a time. */
  async #drain(): Promise<void> {
    if (this.#writing) return;
    this.#writing = true;
    try {
      for (;;) {
        const output = this.#done.get(this.#written);
        if (output === undefined || this.#failure) return;
        this.#done.delete(this.#written);
        await this.#onOutput(output);
        this.#written++;
        this.#wake();
      }
    } finally {
      this.#writing = false;
    }
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    this.#wake();
  }
}
