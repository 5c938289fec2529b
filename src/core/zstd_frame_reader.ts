/**
 * Finds the frames of a zstd stream as its bytes arrive, so that each frame can be decoded whole
 * (`decompressor.ts`): the frame header, the blocks' headers and the optional checksum are read,
 * the blocks' contents passed through.
 */

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

/** The bytes of `parts`, one after the other, in a new array. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
