import { BackupManagerError } from "./errors.ts";
import { collectGarbage, GC_EVERY_BYTES } from "./collect_garbage.ts";
import { type CompressionSpec, levelOf } from "./compression.ts";

/**
 * Uncompressed bytes per gzip member or zstd frame. Each starts with an empty dictionary, but
 * deflate's window is 32 KiB, so at 1 MiB the file grows by well under 0.1 % (zstd-3 on 1 MiB
 * frames: within 0.3 % of one frame); larger slices only hold more memory per slice in flight.
 */
const SLICE_BYTES = 1 << 20;

/** Options of {@linkcode Compressor}. */
export interface CompressorOptions {
  /**
   * Worker threads compressing slices at once. Default 2: creating a backup of a 360 MB
   * PostgreSQL database on a loaded 2-core machine (the server on the same cores) took a median
   * 3.4 s with 2 workers, 4.0 s with 1, and 3.4 s with 3 at 30 MiB more RSS. `none` uses none.
   */
  workers?: number;
  /** Uncompressed bytes per gzip member (zstd frame). Default 1 MiB. */
  sliceBytes?: number;
}

/** Options of {@linkcode GzipCompressor}. */
export type GzipCompressorOptions = CompressorOptions;

/**
 * Compression on worker threads with backpressure. The input is cut into fixed-size slices, each
 * compressed on a worker into a complete gzip member or zstd frame; they reach `onOutput` in
 * input order, one at a time. A concatenation of gzip members is one valid gzip file (RFC 1952
 * §2.2): `gunzip -c`, zlib's gunzip streams and Python's `gzip` read it whole; a concatenation of
 * zstd frames is one zstd file (RFC 8878 §3.1), which `zstd -dc` reads whole. With `none` the
 * slices go to `onOutput` as they are, on this thread. `write` waits while two slices per worker
 * are in flight, so memory stays flat whatever the input size.
 */
export class Compressor {
  readonly #workers: Worker[] = [];
  readonly #onOutput: (chunk: Uint8Array) => Promise<void>;
  readonly #sliceBytes: number;
  readonly #maxInFlight: number;
  readonly #plain: boolean;
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
    spec: CompressionSpec,
    onOutput: (chunk: Uint8Array) => Promise<void>,
    options: CompressorOptions = {},
  ) {
    this.#onOutput = onOutput;
    this.#sliceBytes = options.sliceBytes ?? SLICE_BYTES;
    this.#slice = new Uint8Array(this.#sliceBytes);
    this.#plain = spec.format === "none";
    const count = this.#plain ? 0 : Math.max(1, options.workers ?? 2);
    this.#maxInFlight = 2 * Math.max(1, count);
    for (let i = 0; i < count; i++) {
      const worker = new Worker(new URL("./_compress_worker.ts", import.meta.url), {
        type: "module",
      });
      worker.onmessage = (event) => this.#receive(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        this.#fail(new BackupManagerError(`Cannot compress the backup: ${event.message}`));
      };
      worker.postMessage({ format: spec.format, level: levelOf(spec) });
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
      if (this.#sliceLength > 0 || (this.#sent === 0 && !this.#plain)) await this.#send();
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
    if (this.#plain) {
      // handed on as it is: the sink may keep it (an S3 part), so it is never reused
      this.#done.set(seq, slice);
      this.#drain().catch((error) => this.#fail(error));
    } else {
      this.#workers[seq % this.#workers.length].postMessage({ seq, slice }, [
        slice.buffer as ArrayBuffer,
      ]);
    }
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

/** {@linkcode Compressor} of gzip at `level`: the format every backup used before zstd. */
export class GzipCompressor extends Compressor {
  constructor(
    level: number,
    onOutput: (chunk: Uint8Array) => Promise<void>,
    options: GzipCompressorOptions = {},
  ) {
    super({ format: "gzip", level }, onOutput, options);
  }
}
