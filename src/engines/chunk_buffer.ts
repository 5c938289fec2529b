import type { ChunkSink } from "./engine.ts";

const encoder = new TextEncoder();

/**
 * Coalesces many small writes into large chunks before they reach a sink. Compressing and hashing
 * a few hundred KiB at a time is several times cheaper than one call per row. Every chunk the sink
 * gets is its own: never a buffer the caller of `write` still holds.
 */
export class ChunkBuffer {
  #buffer: Uint8Array;
  #length = 0;
  #total = 0;
  readonly #sink: ChunkSink;

  /** `size` is the chunk size handed to the sink, default 256 KiB. */
  constructor(sink: ChunkSink, size = 256 * 1024) {
    this.#sink = sink;
    this.#buffer = new Uint8Array(size);
  }

  /** Bytes accepted so far. */
  get total(): number {
    return this.#total;
  }

  /** Appends text (as UTF-8). */
  writeText(text: string): Promise<void> | undefined {
    return this.write(encoder.encode(text));
  }

  /**
   * Appends bytes. Returns a promise only when the buffer had to be handed to the sink; callers
   * on hot paths await it only then.
   */
  write(bytes: Uint8Array): Promise<void> | undefined {
    this.#total += bytes.length;
    if (this.#length + bytes.length <= this.#buffer.length) {
      this.#buffer.set(bytes, this.#length);
      this.#length += bytes.length;
      return undefined;
    }
    return this.#spill(bytes);
  }

  /** Hands whatever is buffered to the sink. */
  async flush(): Promise<void> {
    if (this.#length === 0) return;
    const chunk = this.#buffer.subarray(0, this.#length);
    this.#buffer = new Uint8Array(this.#buffer.length);
    this.#length = 0;
    await this.#sink(chunk);
  }

  async #spill(bytes: Uint8Array): Promise<void> {
    await this.flush();
    if (bytes.length >= this.#buffer.length) {
      // A copy: the sink may keep or transfer what it gets (the gzip worker detaches it), and
      // the caller's bytes may be a view of a buffer it still uses (a driver's socket buffer).
      // Not `bytes.slice()`: on a node Buffer (postgres.js COPY data) that is a view, no copy.
      await this.#sink(new Uint8Array(bytes));
      return;
    }
    this.#buffer.set(bytes, 0);
    this.#length = bytes.length;
  }
}
