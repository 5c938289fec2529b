/**
 * Writing one stream of a backup to its store: compressed on workers, then encrypted for the
 * configured age recipients, hashed as it is written, under a temporary name until `commit`.
 * The main SQL file of `create` and every part (a database of a server backup, the tar of the
 * files beside) are written the same way, so each has the same checksum, compression and
 * encryption guarantees and the same sidecar entry.
 */
import { createHash } from "node:crypto";
import type { AtomicWriter } from "../storage/storage.ts";
import type { StoredFile } from "./backup_file.ts";
import { Compressor } from "./compressor.ts";
import { type CompressionSpec, levelOf } from "./compression.ts";
import { createEncryptor, recipientFingerprint } from "./crypto/age.ts";
import type { Phase, Watchdog } from "./watchdog.ts";

/** Options of {@linkcode storedStream}. */
export interface StoredStreamOptions {
  compression: CompressionSpec;
  /** age recipients (`age1…`); empty: not encrypted. */
  recipients: string[];
  /** Compression threads (at most 2 are used). */
  jobs: number;
  /** Reports progress of the store's writes; its phase while waiting for them. */
  watchdog?: { dog: Watchdog; storing: Phase };
}

/** A stream being written: raw bytes in, the sidecar's file entry out. */
export interface StoredStream {
  /** The key the file is committed under. */
  readonly key: string;
  /** Compresses (and encrypts) `chunk` on its way to the store; waits under backpressure. */
  write(chunk: Uint8Array): Promise<void>;
  /** Flushes compression and encryption; the file's entry and sizes, still uncommitted. */
  end(): Promise<{ file: StoredFile; sizes: { raw: number; compressed: number } }>;
  /** Makes the file visible under its key (after `end`). */
  commit(): Promise<void>;
  /** Stops and removes whatever was written. */
  abort(): Promise<void>;
}

/**
 * Opens `writer` (from `storage.create(key)`) as a {@linkcode StoredStream} named `key`:
 * compression first, then age (ciphertext does not compress), SHA-256 of the stored bytes.
 */
export function storedStream(
  writer: AtomicWriter,
  key: string,
  options: StoredStreamOptions,
): StoredStream {
  const { compression, recipients } = options;
  const hash = createHash("sha256");
  let compressed = 0;
  let raw = 0;
  const wait = <T>(p: Promise<T>) =>
    options.watchdog ? options.watchdog.dog.wait(options.watchdog.storing, p) : p;
  const store = async (chunk: Uint8Array) => {
    hash.update(chunk);
    compressed += chunk.length;
    await wait(writer.write(chunk));
  };
  const encryptor = recipients.length > 0 ? createEncryptor(recipients, store) : undefined;
  const compressor = new Compressor(
    compression,
    encryptor ? (chunk) => encryptor.write(chunk) : store,
    { workers: Math.min(2, options.jobs) },
  );
  return {
    key,
    write(chunk) {
      raw += chunk.length;
      return compressor.write(chunk);
    },
    async end() {
      await compressor.end();
      await encryptor?.end();
      return {
        file: {
          name: key,
          compression: compression.format,
          ...(compression.format === "none" ? {} : { compressionLevel: levelOf(compression) }),
          sha256: hash.digest("hex"),
          ...(recipients.length > 0
            ? {
              encryption: {
                format: "age" as const,
                recipients: recipients.map(recipientFingerprint),
              },
            }
            : {}),
        },
        sizes: { raw, compressed },
      };
    },
    commit: () => wait(writer.commit()),
    async abort() {
      compressor.abort();
      encryptor?.abort();
      await writer.abort();
    },
  };
}
