/**
 * Reading a tar as a stream: one entry at a time, its content handed out in chunks and never
 * held whole, so a restore or a verify of a tar of any size keeps memory flat. Reads what we
 * write (ustar + pax) and what GNU tar writes (its `L`/`K` long names, base-256 numbers); a
 * damaged or cut-short archive is an `Error` saying where.
 */
import {
  BLOCK,
  decodeHeader,
  isZeroBlock,
  padded,
  parsePax,
  parsePaxMtime,
  type RawHeader,
  type TarEntry,
  type TarKind,
} from "./tar_header.ts";

/** An entry as read, and its content (read it, or leave it: the next entry skips what is left). */
export interface TarItem {
  entry: TarEntry;
  /** The content, in chunks (empty for anything but a file). */
  body: AsyncIterable<Uint8Array>;
}

/** A broken archive: what is wrong and at which entry. */
export class TarFormatError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TarFormatError";
  }
}

/** Exact-length reads over a stream of chunks, keeping at most one chunk unread. */
class ByteReader {
  #iterator: AsyncIterator<Uint8Array>;
  #chunk: Uint8Array = new Uint8Array(0);
  #offset = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.#iterator = source[Symbol.asyncIterator]();
  }

  /** Whether more bytes can be read; pulls the next chunk when the current one is spent. */
  async #fill(): Promise<boolean> {
    while (this.#offset >= this.#chunk.length) {
      const next = await this.#iterator.next();
      if (next.done) return false;
      this.#chunk = next.value;
      this.#offset = 0;
    }
    return true;
  }

  /** Exactly `n` bytes (a copy), or `undefined` at the end; throws when it ends part-way. */
  async exact(n: number, what: string): Promise<Uint8Array | undefined> {
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      if (!(await this.#fill())) {
        if (got === 0) return undefined;
        throw new TarFormatError(`the archive ends inside ${what}`);
      }
      const take = Math.min(n - got, this.#chunk.length - this.#offset);
      out.set(this.#chunk.subarray(this.#offset, this.#offset + take), got);
      this.#offset += take;
      got += take;
    }
    return out;
  }

  /** The next `n` bytes as views of the stream's chunks; throws when the stream ends first. */
  async *take(n: number, what: string): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0) {
      if (!(await this.#fill())) throw new TarFormatError(`the archive ends inside ${what}`);
      const take = Math.min(left, this.#chunk.length - this.#offset);
      const view = this.#chunk.subarray(this.#offset, this.#offset + take);
      this.#offset += take;
      left -= take;
      yield view;
    }
  }

  /** Skips `n` bytes. */
  async skip(n: number, what: string): Promise<void> {
    for await (const _ of this.take(n, what)) {
      // nothing to keep
    }
  }

  /** Stops reading the source (its stream is cancelled). */
  async close(): Promise<void> {
    await this.#iterator.return?.();
  }
}

const KINDS: Record<string, TarKind> = {
  "0": "file",
  "7": "file",
  "5": "directory",
  "2": "symlink",
  "1": "hardlink",
};

/**
 * The entries of the tar in `source`, in order. Each item's `body` must be read before asking
 * for the next item, or it is skipped. Throws {@linkcode TarFormatError} on a damaged header, a
 * malformed pax record, or an archive cut short (also one without its two closing zero blocks).
 */
export async function* readTar(source: AsyncIterable<Uint8Array>): AsyncGenerator<TarItem> {
  const reader = new ByteReader(source);
  let index = 0;
  try {
    let pax = new Map<string, string>();
    let longName: string | undefined;
    let longLink: string | undefined;
    for (;;) {
      const what = `the header of entry ${index + 1}`;
      const block = await reader.exact(BLOCK, what);
      if (!block) throw new TarFormatError("the archive ends without its end-of-archive blocks");
      if (isZeroBlock(block)) {
        const second = await reader.exact(BLOCK, "the end-of-archive blocks");
        if (second && !isZeroBlock(second)) {
          throw new TarFormatError(`a zero block is followed by data after entry ${index}`);
        }
        return;
      }
      let raw: RawHeader;
      try {
        raw = decodeHeader(block);
      } catch (error) {
        throw new TarFormatError(
          `${what}: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      if (["x", "g", "L", "K"].includes(raw.typeflag)) {
        const bytes =
          await reader.exact(padded(raw.size), `the extended header of entry ${index + 1}`) ??
            new Uint8Array(0);
        const content = bytes.subarray(0, raw.size);
        if (raw.typeflag === "x") pax = parseRecords(content, what);
        else if (raw.typeflag === "L") longName = cString(content);
        else if (raw.typeflag === "K") longLink = cString(content);
        continue; // `g`: global records name no entry of ours; ignored
      }
      const size = pax.has("size") ? Number(pax.get("size")) : raw.size;
      if (!Number.isSafeInteger(size) || size < 0) {
        throw new TarFormatError(`${what}: its size "${pax.get("size")}" is not a byte count`);
      }
      const kind = KINDS[raw.typeflag] ?? "other";
      const name = (pax.get("path") ?? longName ?? raw.name).replace(/\/+$/, "");
      const linkname = pax.get("linkpath") ?? longLink ?? raw.linkname;
      const entry: TarEntry = {
        name,
        kind,
        mode: raw.mode & 0o7777,
        size: kind === "file" ? size : 0,
        mtimeMs: pax.has("mtime") ? paxMtime(pax.get("mtime")!, what) : raw.mtimeMs,
        ...(kind === "symlink" || kind === "hardlink" ? { linkname } : {}),
        uid: pax.has("uid") ? Number(pax.get("uid")) : raw.uid,
        gid: pax.has("gid") ? Number(pax.get("gid")) : raw.gid,
      };
      pax = new Map();
      longName = longLink = undefined;
      index++;
      // a directory or link with a size still has that many bytes of content to skip
      const contentOf = `the content of "${name}"`;
      let left = size;
      const body = kind === "file"
        ? (async function* () {
          for await (const chunk of reader.take(left, contentOf)) {
            left -= chunk.length;
            yield chunk;
          }
        })()
        : (async function* () {})();
      yield { entry, body };
      await reader.skip(left + padded(size) - size, contentOf);
    }
  } finally {
    await reader.close();
  }
}

function parseRecords(content: Uint8Array, what: string): Map<string, string> {
  try {
    return parsePax(content);
  } catch (error) {
    throw new TarFormatError(`${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function paxMtime(text: string, what: string): number {
  try {
    return parsePaxMtime(text);
  } catch (error) {
    throw new TarFormatError(`${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/**
 * Reads the whole tar in `stream` (its decompressed, decrypted bytes), every header checked and
 * every content skipped: what `verify` runs on the files part of a backup. Resolves with how many
 * entries it holds (to compare with the sidecar's `entries`); throws {@linkcode TarFormatError}
 * on a broken archive.
 */
export async function checkTar(stream: AsyncIterable<Uint8Array>): Promise<{ entries: number }> {
  let entries = 0;
  for await (const _ of readTar(stream)) entries++;
  return { entries };
}
