/**
 * Writing a tar as a stream: headers and contents go to a sink in buffers of a few hundred KiB
 * (a compressor works best on large writes), never a whole file in memory. The writer checks
 * that every file's content is exactly the size its header announced, so an archive never
 * holds a header whose size lies.
 */
import { BLOCK, encodeHeader, endOfArchive, padding, type TarEntry } from "./tar_header.ts";

/** Where the archive's bytes go; the writer waits for each write (backpressure). */
export type TarSink = (chunk: Uint8Array) => Promise<void>;

/** A file's content came out shorter or longer than the size in its header. */
export class SizeChangedError extends Error {
  constructor(readonly path: string, readonly expected: number, readonly actual: number) {
    super(
      `"${path}" changed size while being read (${expected} bytes when the header was written, ${
        actual < expected ? "only " : "at least "
      }${actual} read)`,
    );
    this.name = "SizeChangedError";
  }
}

/** Options of {@linkcode TarWriter}. */
export interface TarWriterOptions {
  /** Bytes gathered before a write to the sink. Default 256 KiB. */
  bufferBytes?: number;
}

/** Appends entries to a tar; {@linkcode TarWriter.end} writes the closing blocks. */
export class TarWriter {
  readonly #sink: TarSink;
  readonly #buffer: Uint8Array;
  #used = 0;
  #entries = 0;
  #bytes = 0;

  constructor(sink: TarSink, options: TarWriterOptions = {}) {
    this.#sink = sink;
    this.#buffer = new Uint8Array(Math.max(BLOCK, options.bufferBytes ?? 256 * 1024));
  }

  /** Entries written so far. */
  get entries(): number {
    return this.#entries;
  }

  /** Bytes of archive written so far (the raw size of the tar). */
  get bytes(): number {
    return this.#bytes;
  }

  /** A directory or a symlink (no content). */
  async add(entry: TarEntry): Promise<void> {
    if (entry.kind === "file") throw new Error("files are added with addFile");
    await this.#write(encodeHeader({ ...entry, size: 0 }));
    this.#entries++;
  }

  /**
   * A regular file of `entry.size` bytes whose content is `body`; throws
   * {@linkcode SizeChangedError} (after the header is out: the archive is then unusable, and the
   * caller abandons it) when `body` yields fewer or more bytes.
   */
  async addFile(
    entry: TarEntry,
    body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  ): Promise<void> {
    await this.#write(encodeHeader({ ...entry, kind: "file" }));
    let written = 0;
    for await (const chunk of body) {
      if (written + chunk.length > entry.size) {
        throw new SizeChangedError(entry.name, entry.size, written + chunk.length);
      }
      await this.#write(chunk);
      written += chunk.length;
    }
    if (written !== entry.size) throw new SizeChangedError(entry.name, entry.size, written);
    await this.#write(padding(entry.size));
    this.#entries++;
  }

  /** Writes the end-of-archive blocks and flushes. */
  async end(): Promise<void> {
    await this.#write(endOfArchive());
    await this.#flush();
  }

  async #write(bytes: Uint8Array): Promise<void> {
    this.#bytes += bytes.length;
    let offset = 0;
    while (offset < bytes.length) {
      const take = Math.min(bytes.length - offset, this.#buffer.length - this.#used);
      this.#buffer.set(bytes.subarray(offset, offset + take), this.#used);
      this.#used += take;
      offset += take;
      if (this.#used === this.#buffer.length) await this.#flush();
    }
  }

  async #flush(): Promise<void> {
    if (this.#used === 0) return;
    // a copy: the sink may keep the chunk (a compressor's queue) while the buffer is refilled
    const chunk = this.#buffer.slice(0, this.#used);
    this.#used = 0;
    await this.#sink(chunk);
  }
}
