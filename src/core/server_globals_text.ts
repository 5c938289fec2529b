/**
 * The globals file of a server backup as text: read checked (size and SHA-256) and decrypted
 * (`stored_data.ts`), decompressed, bounded by the size the sidecar records. It is held whole:
 * it holds a few lines per role and tablespace, and the restore decides about each statement
 * against what the target server has before it runs any.
 */
import { Buffer } from "node:buffer";
import type { BackupFileEntry, BackupMeta } from "./backup_file.ts";
import type { Storage } from "../storage/storage.ts";
import type { EncryptionSettings } from "./context.ts";
import { IntegrityError, messageOf } from "./errors.ts";
import { readCompressedFile } from "./stored_data.ts";
import { Decompressor } from "./decompressor.ts";

/** Reads `entry` (the main file of `meta`) as text; a damaged stream is an IntegrityError. */
export async function readGlobalsText(
  storage: Storage,
  meta: BackupMeta,
  entry: BackupFileEntry,
  encryption: EncryptionSettings | undefined,
): Promise<string> {
  const source = await readCompressedFile(storage, meta, entry, encryption, "restore");
  const decompressor = new Decompressor({
    format: entry.file.compression,
    maxBytes: meta.sizes.raw + (1 << 20),
  });
  const chunks: Uint8Array[] = [];
  const done = new Promise<void>((resolve, reject) => {
    decompressor.on("data", (chunk: Uint8Array) => chunks.push(chunk));
    decompressor.on("end", resolve);
    decompressor.on("error", reject);
  });
  try {
    for await (const chunk of source) {
      if (!decompressor.write(chunk)) {
        await new Promise<void>((resolve) => decompressor.once("drain", resolve));
      }
    }
    decompressor.end();
    await done;
  } catch (error) {
    decompressor.destroy();
    if (error instanceof IntegrityError) throw error;
    throw new IntegrityError(
      `Cannot restore backup "${meta.id}": its globals file "${entry.file.name}" is damaged (${
        messageOf(error)
      })`,
      { cause: error },
    );
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}
