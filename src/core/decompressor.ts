/**
 * Decompression of a backup's data file as a stream: gzip, zstd or none, told by the sidecar or,
 * when the reader is not told, recognised by the stream's first bytes. One `Transform` for every
 * reader of SQL (the engines' restore threads, `verify`), so they share one way to fail.
 */
import { Transform, type TransformCallback } from "node:stream";
import { createGunzip, zstdDecompressSync } from "node:zlib";
import { type Compression, detectCompression } from "./compression.ts";

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

/** A stretch of one zstd frame's bytes; `end` on the stretch that completes the frame. */
export interface FrameSegment {
  bytes: Uint8Array;
  end: boolean;
}

const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/**
 * Finds where zstd frames begin and end in a byte stream, without decoding them (RFC 8878 §3.1:
 * magic, frame header, blocks with their sizes, optional checksum). Skippable frames are dropped.
 * Needed because a file of several frames (what independent workers write, and what `zstd -dc`
 * reads whole) must be handed to the decoder one frame at a time.
 */
export class ZstdFrameReader {
  #state: "magic" | "skipSize" | "skip" | "descriptor" | "header" | "blockHeader" | "block" =
    "magic";
  /** Bytes still to pass in the pass-through states (`skip`, `header`, `block`, checksum). */
  #remaining = 0;
  /** A small field being collected across chunks (magic, sizes, descriptor, block header). */
  #field: number[] = [];
  #checksum = false;
  #lastBlock = false;
  #skippable = false;
  /** Magic bytes of a frame begun at the end of an earlier chunk, not yet handed on. */
  #held: Uint8Array | undefined;
  /** Set when the last byte of a frame was passed; `push` then closes the segment. */
  #frameDone = false;

  /** Whether the bytes so far end exactly between frames. */
  get atFrameStart(): boolean {
    return this.#state === "magic" && this.#field.length === 0;
  }

  /** The stretches of frames in `chunk`, in order; throws on bytes that are not zstd frames. */
  push(chunk: Uint8Array): FrameSegment[] {
    const out: FrameSegment[] = [];
    let start = 0;
    let at = 0;
    const emit = (end: boolean) => {
      if (this.#skippable) return;
      if (this.#held) {
        out.push({ bytes: this.#held, end: false });
        this.#held = undefined;
      }
      out.push({ bytes: chunk.subarray(start, at), end });
    };
    while (at < chunk.length) {
      if (this.#state === "magic" && this.#field.length === 0) start = at;
      const fieldSize = FIELD_SIZES[this.#state];
      if (fieldSize !== undefined) {
        const take = Math.min(fieldSize - this.#field.length, chunk.length - at);
        for (let i = 0; i < take; i++) this.#field.push(chunk[at + i]);
        at += take;
        if (this.#field.length < fieldSize) break;
        const field = this.#field;
        this.#field = [];
        this.#onField(field);
      } else {
        const take = Math.min(this.#remaining, chunk.length - at);
        at += take;
        this.#remaining -= take;
        if (this.#remaining > 0) break;
        this.#onPassed();
      }
      if (this.#frameDone) {
        this.#frameDone = false;
        emit(true);
        this.#skippable = false;
        this.#state = "magic";
      }
    }
    if (this.#state === "magic" && this.#field.length > 0) {
      // a magic number cut by the chunk's end: skippable or not is known with a later chunk
      const part = chunk.slice(start, at);
      this.#held = this.#held ? concat([this.#held, part]) : part;
    } else if (this.#state !== "magic" && at > start) emit(false);
    return out;
  }

  #onField(field: number[]): void {
    switch (this.#state) {
      case "magic": {
        const little = field[0] | field[1] << 8 | field[2] << 16 | field[3] << 24;
        if (field.every((byte, i) => byte === ZSTD_MAGIC[i])) {
          this.#state = "descriptor";
        } else if ((little >>> 4) === 0x184d2a5) {
          this.#skippable = true;
          this.#held = undefined;
          this.#state = "skipSize";
        } else {
          throw new Error("not a zstd frame (unknown magic number)");
        }
        return;
      }
      case "skipSize":
        this.#remaining = (field[0] | field[1] << 8 | field[2] << 16 | field[3] << 24) >>> 0;
        this.#state = "skip";
        if (this.#remaining === 0) this.#frameDone = true;
        return;
      case "descriptor": {
        const descriptor = field[0];
        if (descriptor & 0x08) throw new Error("invalid frame header (reserved bit set)");
        const contentSizeFlag = descriptor >> 6;
        const singleSegment = (descriptor >> 5) & 1;
        this.#checksum = ((descriptor >> 2) & 1) === 1;
        const dictionaryBytes = [0, 1, 2, 4][descriptor & 3];
        const contentSizeBytes = contentSizeFlag === 0
          ? singleSegment
          : [0, 2, 4, 8][contentSizeFlag];
        this.#remaining = (singleSegment ? 0 : 1) + dictionaryBytes + contentSizeBytes;
        this.#state = "header";
        if (this.#remaining === 0) this.#onPassed();
        return;
      }
      case "blockHeader": {
        const header = field[0] | field[1] << 8 | field[2] << 16;
        this.#lastBlock = (header & 1) === 1;
        const type = (header >> 1) & 3;
        if (type === 3) throw new Error("invalid block (reserved block type)");
        this.#remaining = type === 1 ? 1 : header >>> 3;
        this.#state = "block";
        if (this.#remaining === 0) this.#onPassed();
        return;
      }
    }
  }

  /** The pass-through stretch of the current state is over: move on. */
  #onPassed(): void {
    switch (this.#state) {
      case "skip":
        this.#frameDone = true;
        return;
      case "header":
        this.#state = "blockHeader";
        return;
      case "block":
        if (!this.#lastBlock) {
          this.#state = "blockHeader";
          return;
        }
        if (this.#checksum) {
          // the 4-byte content checksum passes as one more "block"
          this.#checksum = false;
          this.#lastBlock = true;
          this.#remaining = 4;
          return;
        }
        this.#frameDone = true;
        return;
    }
  }
}

/** Sizes of the small fields collected whole; the other states pass bytes through. */
const FIELD_SIZES: Partial<Record<string, number>> = {
  magic: 4,
  skipSize: 4,
  descriptor: 1,
  blockHeader: 3,
};

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
