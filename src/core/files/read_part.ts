/**
 * Reading the files part of a backup back as tar entries: its stored bytes checked against the
 * sidecar (size and SHA-256, which the reader only knows at the end of the stream), decrypted,
 * decompressed, and parsed as they go by. The stream is always read to its end, even after the
 * tar's closing blocks, so a damaged part is an error before anyone acts on what it said.
 */
import { pipeline, Readable } from "node:stream";
import type { Storage } from "../../storage/storage.ts";
import { type BackupMeta, storedFiles } from "../backup_file.ts";
import type { EncryptionSettings } from "../context.ts";
import { Decompressor } from "../decompressor.ts";
import { IntegrityError, messageOf } from "../errors.ts";
import { readCompressedFile } from "../stored_data.ts";
import { readTar, type TarItem } from "./tar_read.ts";
import type { BackupPart } from "./files_part.ts";

/** The files part of `meta`, or `undefined` when the backup holds no files. */
export function filesPartOf(meta: BackupMeta): BackupPart | undefined {
  return meta.parts?.find((part) => part.kind === "files");
}

/**
 * Runs `fn` over the entries of the files part of `meta` and resolves with its result once the
 * whole part was read and checked. A size or SHA-256 mismatch, a damaged compressed stream or
 * a damaged tar is an {@linkcode IntegrityError}; a missing identity a `UsageError` (from
 * `readCompressedFile`), before any entry. `onChunk` is called per decompressed chunk (a
 * watchdog's tick).
 */
export async function readFilesPart<T>(
  storage: Storage,
  meta: BackupMeta,
  encryption: EncryptionSettings | undefined,
  action: string,
  fn: (items: AsyncIterable<TarItem>) => Promise<T>,
  onChunk?: () => void,
): Promise<T> {
  const entry = storedFiles(meta).find((e) => e.part?.kind === "files");
  if (!entry?.part) throw new Error(`backup "${meta.id}" holds no files`);
  const source = await readCompressedFile(storage, meta, entry, encryption, action);
  let sourceError: unknown;
  const guarded = async function* () {
    try {
      yield* source;
    } catch (error) {
      sourceError = error;
      throw error;
    }
  };
  const decompressor = new Decompressor({
    format: entry.file.compression,
    maxBytes: entry.part.sizes.raw,
  });
  let decompressError: Error | undefined;
  pipeline(Readable.from(guarded()), decompressor, (error) => {
    if (error && sourceError === undefined) decompressError = error;
  });
  const chunks = (decompressor as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  // a view without `return`: the tar reader stopping at its end leaves the rest to drain below
  const next = async () => {
    const result = await chunks.next();
    onChunk?.();
    return result;
  };
  const view = { [Symbol.asyncIterator]: () => ({ next }) };
  const damaged = (what: string, error: unknown) =>
    new IntegrityError(
      `Cannot ${action} the files of backup "${meta.id}": ${what} (${messageOf(error)})`,
      { cause: error },
    );
  let result: T;
  try {
    result = await fn(readTar(view));
    for (;;) if ((await chunks.next()).done) break;
  } catch (error) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (sourceError !== undefined) throw sourceError;
    if (decompressError) throw damaged(`its ${entry.file.compression} stream is damaged`, error);
    if (error instanceof Error && error.name === "TarFormatError") {
      throw damaged("its tar is damaged", error);
    }
    throw error;
  }
  await new Promise((resolve) => setTimeout(resolve, 0));
  if (sourceError !== undefined) throw sourceError;
  if (decompressError) {
    throw damaged(`its ${entry.file.compression} stream is damaged`, decompressError);
  }
  return result;
}
