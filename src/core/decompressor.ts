/**
 * Decompression of a backup's data file as a stream: gzip, zstd or none, told by the sidecar or,
 * when the reader is not told, recognised by the stream's first bytes. One `Transform` for every
 * reader of SQL (the engines' restore threads, `verify`), so they share one way to fail.
 */
import { Transform, type TransformCallback } from "node:stream";
import { createGunzip, zstdDecompressSync } from "node:zlib";
import { type Compression, detectCompression } from "./compression.ts";
import { concat, ZstdFrameReader } from "./zstd_frame_reader.ts";

/** Options of {@linkcode Decompressor}. */
export interface DecompressorOptions {
  /**
   * The input's format. Default: set later with {@linkcode Decompressor.setFormat}, else
   * recognised from the first bytes ({@linkcode detectCompression}).
   */
  format?: Compression;
  /** Bytes per output chunk of gzip. Default 256 KiB. */
  chunkSize?: number;
  /**
   * Fail once the output passes this many bytes (see {@linkcode Decompressor.setLimit}). Default:
   * no limit.
   */
  maxBytes?: number;
}

/**
 * The output passed {@linkcode DecompressorOptions.maxBytes}: a gzip or zstd bomb, or a data file
 * that is not the one its sidecar describes. The reader stops decoding at once.
 */
export class ExpansionLimitError extends Error {
  constructor(readonly limit: number) {
    super(`expands past the size its sidecar records (stopped at ${limit} bytes of SQL)`);
    this.name = "ExpansionLimitError";
  }
}

/**
 * Largest zstd frame decoded: frames are decoded whole, so this bounds the memory one frame
 * takes whatever its header claims (ours hold 1 MiB of SQL; a file the zstd CLI wrote is one
 * frame, restorable up to this size).
 */
export const MAX_ZSTD_FRAME_BYTES = 256 << 20;

/**
 * Decompresses gzip (one or more members), zstd (one or more frames) or nothing. A damaged or
 * cut-short input fails the stream with an `Error` saying what is wrong ("unexpected end of
 * file", "unexpected end of file inside a frame").
 *
 * zstd frames are decoded whole, one at a time: the frames this tool writes hold 1 MiB of SQL
 * each. (Deno 2.9's streaming zstd decoder stops after the first frame and throws its errors
 * past the stream, out of reach of a handler; the one-shot decoder reports them.)
 */
export class Decompressor extends Transform {
  #format: Compression | undefined;
  readonly #chunkSize: number;
  #codec: Codec | undefined;
  /** The first bytes, held until there are enough to tell the format. */
  #head: Uint8Array | undefined;
  #maxBytes: number;
  #produced = 0;

  constructor(options: DecompressorOptions = {}) {
    super();
    this.#format = options.format;
    this.#chunkSize = options.chunkSize ?? 256 * 1024;
    this.#maxBytes = options.maxBytes ?? Infinity;
  }

  /**
   * Sets {@linkcode DecompressorOptions.maxBytes} (a worker learns it from a message): the
   * restore passes the sidecar's raw size plus a margin, so a small file that expands to many GB
   * stops there with {@linkcode ExpansionLimitError} instead of filling memory or disk.
   */
  setLimit(maxBytes: number): void {
    this.#maxBytes = maxBytes;
  }

  /** The input's format: as given, or as recognised once the first bytes arrived. */
  get format(): Compression | undefined {
    return this.#format;
  }

  /** Says what the input is, before its first byte (a worker learns it from a message). */
  setFormat(format: Compression): void {
    if (this.#codec && format !== this.#format) {
      throw new Error(`the input was already read as ${this.#format}`);
    }
    this.#format = format;
  }

  override _transform(chunk: Uint8Array, _encoding: string, callback: TransformCallback): void {
    if (!this.#codec && this.#format === undefined) {
      // the format is told by the first bytes: wait until there are enough of them
      const head = this.#head ? concat([this.#head, chunk]) : chunk;
      this.#head = undefined;
      if (head.length < DETECT_BYTES) {
        this.#head = new Uint8Array(head);
        return callback();
      }
      chunk = head;
    }
    const codec = this.#codec ??= this.#open(chunk);
    codec.write(chunk).then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    const head = this.#head ?? new Uint8Array(0);
    this.#head = undefined;
    const codec = this.#codec ??= this.#open(head);
    (head.length > 0 ? codec.write(head) : Promise.resolve())
      .then(() => codec.end())
      .then(() => callback(), callback);
  }

  /** The reader wants more: let a decoder held back by a full buffer go on. */
  override _read(size: number): void {
    this.#codec?.resume();
    super._read(size);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#codec?.destroy();
    callback(error);
  }

  #open(head: Uint8Array): Codec {
    this.#format ??= detectCompression(head);
    const push = (data: Uint8Array) => {
      if (this.destroyed) return false;
      this.#produced += data.length;
      if (this.#produced > this.#maxBytes) {
        this.destroy(new ExpansionLimitError(this.#maxBytes));
        return false;
      }
      return this.push(data);
    };
    switch (this.#format) {
      case "gzip":
        return new StreamCodec(createGunzip({ chunkSize: this.#chunkSize }), push);
      case "zstd":
        return new ZstdCodec(
          push,
          () => this.#maxBytes - this.#produced,
          () => new ExpansionLimitError(this.#maxBytes),
        );
      case "none":
        return {
          write: (chunk) => {
            // a copy: the writer may reuse its buffer once the write is acknowledged
            push(new Uint8Array(chunk));
            return Promise.resolve();
          },
          end: () => Promise.resolve(),
          resume: () => {},
          destroy: () => {},
        };
    }
  }
}

/** Bytes {@linkcode detectCompression} needs to tell zstd from plain text. */
const DETECT_BYTES = 4;

/** One format's decoder behind {@linkcode Decompressor}; `push` says whether to go on. */
interface Codec {
  write(chunk: Uint8Array): Promise<void>;
  end(): Promise<void>;
  /** The reader took output: go on after `push` returned `false`. */
  resume(): void;
  destroy(): void;
}

/**
 * A node zlib stream as a {@linkcode Codec}: each write resolves once the stream took it. While
 * the reader's buffer is full the stream is paused, so it stops decoding (and the write waits)
 * as a bare gunzip stream would.
 */
class StreamCodec implements Codec {
  readonly #inner: Transform;
  #error: Error | undefined;
  #ended = false;

  constructor(inner: Transform, push: (data: Uint8Array) => boolean) {
    this.#inner = inner;
    inner.on("data", (data: Uint8Array) => {
      if (!push(data)) inner.pause();
    });
    inner.on("error", (error: Error) => this.#error ??= error);
    inner.on("end", () => this.#ended = true);
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.#settle((done) => this.#inner.write(chunk, (error) => error ? undefined : done()));
  }

  end(): Promise<void> {
    return this.#settle((done) => {
      if (this.#ended) return done();
      this.#inner.once("end", done);
      this.#inner.end();
    });
  }

  resume(): void {
    if (this.#inner.isPaused()) this.#inner.resume();
  }

  destroy(): void {
    this.#inner.destroy();
  }

  /** Resolves when `start`'s callback runs, rejects on the stream's error. */
  #settle(start: (done: () => void) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#error) return reject(this.#error);
      const fail = (error: Error) => reject(error);
      this.#inner.once("error", fail);
      start(() => {
        this.#inner.off("error", fail);
        resolve();
      });
    });
  }
}

/** zstd: frames found by {@linkcode ZstdFrameReader}, each decoded whole when complete. */
class ZstdCodec implements Codec {
  readonly #frames = new ZstdFrameReader();
  readonly #push: (data: Uint8Array) => boolean;
  /** Output bytes still allowed (see {@linkcode Decompressor.setLimit}). */
  readonly #budget: () => number;
  readonly #over: () => Error;
  #parts: Uint8Array[] = [];

  constructor(push: (data: Uint8Array) => boolean, budget: () => number, over: () => Error) {
    this.#push = push;
    this.#budget = budget;
    this.#over = over;
  }

  write(chunk: Uint8Array): Promise<void> {
    try {
      for (const segment of this.#frames.push(chunk)) {
        // a copy: the segment is a view of the writer's chunk
        if (segment.bytes.length > 0) this.#parts.push(new Uint8Array(segment.bytes));
        if (!segment.end) continue;
        const frame = this.#parts.length === 1 ? this.#parts[0] : concat(this.#parts);
        this.#parts = [];
        const budget = this.#budget();
        const bound = Math.max(0, Math.min(budget + 1, MAX_ZSTD_FRAME_BYTES));
        let data: Uint8Array;
        try {
          data = zstdDecompressSync(frame, { maxOutputLength: bound });
        } catch (error) {
          if (!(error instanceof RangeError)) throw error;
          if (bound <= budget) {
            throw new Error(`a zstd frame expands past ${MAX_ZSTD_FRAME_BYTES} bytes`);
          }
          throw this.#over();
        }
        if (data.length > 0) this.#push(new Uint8Array(data.buffer, data.byteOffset, data.length));
      }
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  end(): Promise<void> {
    if (!this.#frames.atFrameStart) {
      return Promise.reject(new Error("unexpected end of file inside a frame"));
    }
    return Promise.resolve();
  }

  resume(): void {
    // a frame is decoded whole, within one write: nothing is held back
  }

  destroy(): void {
    this.#parts = [];
  }
}
