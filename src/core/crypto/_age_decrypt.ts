import { Decrypter } from "npm:age-encryption@0.3.1";
import { IntegrityError, UsageError } from "../errors.ts";
import { IDENTITY_HINT } from "./_age_keys.ts";

/** First line of every binary age file. */
const MAGIC = new TextEncoder().encode("age-encryption.org/v1\n");

/**
 * Bytes handed to the library at a time. It decrypts a whole input chunk at once, ignoring
 * backpressure, so a 16 MiB chunk from storage is cut up to keep memory bounded.
 */
const PIECE_BYTES = 1 << 20;

/**
 * Bytes the library may read before the header is parsed. Its header parser reads until a
 * newline, so a damaged file without one would otherwise be read into memory whole. A header
 * is about 100 bytes per X25519 recipient.
 */
const MAX_HEADER_BYTES = 1 << 20;

/** What age-encryption 0.3.1 throws when no identity unwraps the file key. */
const NO_IDENTITY_MATCHED = "no identity matched any of the file's recipients";

/** What the source reader saw, for telling its failures from the library's. */
interface SourceState {
  /** The source's own error, rethrown unchanged (a storage failure is not damage). */
  failure?: { error: unknown };
  /** The source has ended. */
  ended: boolean;
  /** The header's last line ("--- ", its MAC and a newline) has been seen. */
  headerEndSeen: boolean;
}

/** The first bytes are not "age-encryption.org/v1\n"; `truncated` when they are a prefix of it. */
class NotAgeFile extends Error {
  constructor(readonly truncated: boolean) {
    super("not an age file");
  }
}

class HeaderTooLong extends Error {}

/**
 * Decrypts an age file with any of `identities` (AGE-SECRET-KEY-1… strings). The header is read
 * on the first pull; the stream then errors with a UsageError when no identity matches, and with
 * an IntegrityError when the file is damaged, cut short or extended. Each 64 KiB chunk is
 * authenticated before it is given out, but truncation shows only at the end: a consumer must
 * treat everything read as void when the stream errors. `what` names the file in messages.
 * Throws a UsageError at once when `identities` is empty or holds a malformed identity.
 */
export function decryptStream(
  source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  identities: string[],
  what: string,
): ReadableStream<Uint8Array> {
  const decrypter = newDecrypter(identities, what);
  const state: SourceState = { ended: false, headerEndSeen: false };
  const iterator = source[Symbol.asyncIterator]();
  const stopSource = once(async () => {
    try {
      await iterator.return?.();
    } catch {
      // The source failed already, or is closed: nothing left to release.
    }
  });
  const input = ReadableStream.from(pieces(iterator, stopSource, state));
  const damaged = (reason: string, cause?: unknown) =>
    new IntegrityError(
      `Cannot decrypt ${what}: the encrypted data is damaged or was altered (${reason})`,
      { cause },
    );
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let cancelled = false;
  let plaintextBytes = 0;

  const headerError = (error: unknown): unknown => {
    if (state.failure !== undefined && error === state.failure.error) return error;
    if (error instanceof NotAgeFile) {
      return damaged(error.truncated ? "it ends inside the header" : "not an age file");
    }
    if (error instanceof HeaderTooLong) return damaged("the header is malformed");
    if (!isLibraryError(error)) return error;
    if (error.message === NO_IDENTITY_MATCHED) {
      return new UsageError(
        `Cannot decrypt ${what}: none of the identities in the identity file matches its recipients (use the identity file of a recipient it was encrypted for)`,
      );
    }
    if (error.message === "invalid header HMAC") {
      return damaged("the header fails authentication", error);
    }
    if (state.ended) {
      return damaged(
        state.headerEndSeen ? "it ends before its payload" : "it ends inside the header",
        error,
      );
    }
    return damaged("the header is malformed", error);
  };

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (reader === undefined) {
        let output: ReadableStream<Uint8Array>;
        try {
          output = await decrypter.decrypt(input);
        } catch (error) {
          throw headerError(error);
        }
        reader = output.getReader();
        if (cancelled) return void reader.cancel().catch(() => {});
      }
      for (;;) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (error) {
          if (state.failure !== undefined && error === state.failure.error) throw error;
          if (!isLibraryError(error)) throw error;
          throw damaged(`authentication fails after ${plaintextBytes} bytes of plaintext`, error);
        }
        if (result.done) return controller.close();
        // The library ends an empty file with an empty chunk; consumers need not see it.
        if (result.value.length === 0) continue;
        plaintextBytes += result.value.length;
        return controller.enqueue(result.value);
      }
    },
    async cancel(reason) {
      cancelled = true;
      // The library passes a cancel up its pipes only later: stop the source here too.
      await reader?.cancel(reason);
      await stopSource();
    },
  }, { highWaterMark: 0 });
}

/** A decrypter for `identities`; messages never quote an identity (it is a secret key). */
function newDecrypter(identities: string[], what: string): Decrypter {
  if (identities.length === 0) {
    throw new UsageError(`Cannot decrypt ${what}: no identity was given (${IDENTITY_HINT})`);
  }
  const decrypter = new Decrypter();
  identities.forEach((identity, index) => {
    try {
      if (!identity.startsWith("AGE-SECRET-KEY-1")) throw new Error("not X25519");
      decrypter.addIdentity(identity);
    } catch {
      // No cause: the bech32 decoder's messages quote the whole key.
      throw new UsageError(
        `Cannot decrypt ${what}: identity ${
          index + 1
        } is not an age X25519 identity (${IDENTITY_HINT})`,
      );
    }
  });
  return decrypter;
}

/**
 * The source cut into pieces of at most {@linkcode PIECE_BYTES}, after checking that it starts
 * like an age file and while limiting how far the header may run. Stopping early (a cancel from
 * downstream) cancels the source.
 */
async function* pieces(
  iterator: AsyncIterator<Uint8Array>,
  stopSource: () => Promise<void>,
  state: SourceState,
): AsyncGenerator<Uint8Array> {
  let head: Uint8Array | undefined = new Uint8Array(0);
  const headerEnd = new HeaderEndFinder();
  try {
    for (;;) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await iterator.next();
      } catch (error) {
        state.failure = { error };
        throw error;
      }
      if (next.done) break;
      let chunk = next.value;
      if (head !== undefined) {
        head = concat(head, chunk);
        if (head.length < MAGIC.length) continue;
        if (!startsWith(head, MAGIC)) throw new NotAgeFile(false);
        chunk = head;
        head = undefined;
      }
      for (let offset = 0; offset < chunk.length; offset += PIECE_BYTES) {
        const piece = chunk.subarray(offset, offset + PIECE_BYTES);
        if (!state.headerEndSeen) {
          state.headerEndSeen = headerEnd.scan(piece);
          if (!state.headerEndSeen && headerEnd.scanned > MAX_HEADER_BYTES) {
            throw new HeaderTooLong();
          }
        }
        yield piece;
      }
    }
    state.ended = true;
    if (head !== undefined) throw new NotAgeFile(startsWith(MAGIC, head));
  } finally {
    await stopSource();
  }
}

/**
 * Finds the end of an age header, the newline after "\n--- " and the MAC, across chunk
 * boundaries. No earlier line of a header starts with "---".
 */
class HeaderEndFinder {
  static readonly #marker = new TextEncoder().encode("\n--- ");
  /** How many of the marker's bytes the data scanned so far ends with. */
  #matched = 0;
  scanned = 0;

  /** Scans the next bytes; true once the header's last newline has been seen. */
  scan(bytes: Uint8Array): boolean {
    const marker = HeaderEndFinder.#marker;
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i];
      if (this.#matched === marker.length) {
        if (byte !== 0x0a) continue;
        this.scanned += i + 1;
        return true;
      }
      if (byte === marker[this.#matched]) this.#matched++;
      else this.#matched = byte === marker[0] ? 1 : 0;
    }
    this.scanned += bytes.length;
    return false;
  }
}

/** `fn`, run at most once; later calls get the first call's promise. */
function once(fn: () => Promise<void>): () => Promise<void> {
  let result: Promise<void> | undefined;
  return () => result ??= fn();
}

/** The library throws plain `Error`s (and WebCrypto `DOMException`s); anything else is a bug. */
function isLibraryError(error: unknown): error is Error {
  return error instanceof Error && (error.constructor === Error || error instanceof DOMException);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

/** Whether `bytes` begins with `prefix` (or, for a short `bytes`, with part of it). */
function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  const n = Math.min(bytes.length, prefix.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}
