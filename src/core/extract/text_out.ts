/** Text written in large pieces: rows are small, writes to a file or stdout should not be. */

/** Receives output text; the returned promise applies backpressure. */
export type TextSink = (text: string) => Promise<void>;

/** Bytes (UTF-16 units) gathered before a write. */
const PIECE = 256 * 1024;

/** Gathers small strings into pieces of about 256 KiB for `sink`. */
export class TextOut {
  readonly #sink: TextSink;
  #parts: string[] = [];
  #length = 0;

  constructor(sink: TextSink) {
    this.#sink = sink;
  }

  /** Adds `text`; writes once enough has gathered (await it for backpressure). */
  write(text: string): Promise<void> | undefined {
    this.#parts.push(text);
    this.#length += text.length;
    return this.#length >= PIECE ? this.flush() : undefined;
  }

  /** Writes whatever has gathered. */
  async flush(): Promise<void> {
    if (this.#length === 0) return;
    const text = this.#parts.join("");
    this.#parts = [];
    this.#length = 0;
    await this.#sink(text);
  }
}
