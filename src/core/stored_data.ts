/**
 * Reading a backup's stored bytes back: checked against the sidecar's size and SHA-256, and
 * decrypted when the backup is encrypted, so restore, verify and copy read the same way from any
 * store (local disk, S3).
 */
import { createHash } from "node:crypto";
import { type Storage, StorageNotFoundError } from "../storage/storage.ts";
import type { BackupMeta } from "./backup_file.ts";
import { IntegrityError, UsageError } from "./errors.ts";
import { collectGarbage, GC_EVERY_BYTES } from "./collect_garbage.ts";
import { decryptStream, identityFingerprints, readIdentityFile } from "./crypto/age.ts";
import type { EncryptionSettings } from "./context.ts";

/**
 * Reads the whole data file once and throws {@linkcode IntegrityError} unless its size and
 * SHA-256 are the sidecar's: run before any byte reaches a database.
 */
export async function checkChecksum(storage: Storage, meta: BackupMeta): Promise<void> {
  for await (const _ of await readChecked(storage, meta, "restore")) {
    // the check happens as the bytes go by
  }
}

/**
 * The stored bytes of `meta`'s data file, hashed on the way: the last chunk is held back until
 * size and SHA-256 match the sidecar, so a consumer that loads all-or-nothing (every engine's
 * restore) never commits bytes that differ from what the sidecar vouches for, even when the
 * object changed after an earlier check.
 */
export async function readChecked(
  storage: Storage,
  meta: BackupMeta,
  action: string,
): Promise<AsyncIterable<Uint8Array>> {
  let stream: ReadableStream<Uint8Array>;
  try {
    stream = await storage.read(meta.file.name);
  } catch (error) {
    if (!(error instanceof StorageNotFoundError)) throw error;
    throw new IntegrityError(
      `Cannot ${action} backup "${meta.id}": its data file "${meta.file.name}" is missing; restore another backup`,
      { cause: error },
    );
  }
  return checked(stream, meta, action);
}

async function* checked(
  stream: ReadableStream<Uint8Array>,
  meta: BackupMeta,
  action: string,
): AsyncIterable<Uint8Array> {
  const hash = createHash("sha256");
  let size = 0;
  let held: Uint8Array | undefined;
  let sinceCollection = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    size += chunk.length;
    // downloaded chunks are garbage V8 frees late (see collectGarbage): keep peak memory flat
    sinceCollection += chunk.length;
    if (sinceCollection >= GC_EVERY_BYTES) {
      sinceCollection = 0;
      collectGarbage();
    }
    if (size > meta.sizes.compressed) {
      await stream.cancel().catch(() => {});
      throw mismatch(
        meta,
        action,
        `more than the ${meta.sizes.compressed} bytes the sidecar records`,
      );
    }
    if (held) yield held;
    held = chunk;
  }
  const sha = hash.digest("hex");
  if (size !== meta.sizes.compressed || sha !== meta.file.sha256) {
    throw mismatch(
      meta,
      action,
      `${size} bytes, sha256 ${sha.slice(0, 16)}…, expected ${meta.sizes.compressed} bytes, ` +
        `${meta.file.sha256.slice(0, 16)}…`,
    );
  }
  if (held) yield held;
}

function mismatch(meta: BackupMeta, action: string, detail: string): IntegrityError {
  return new IntegrityError(
    `Cannot ${action} backup "${meta.id}": its checksum does not match the sidecar (${detail}); ` +
      `the file is damaged, restore another backup`,
  );
}

/**
 * The backup's SQL, still compressed as `meta.file.compression` says (gzip, zstd or none):
 * checked as {@linkcode readChecked} does and decrypted with the identity file when the backup is
 * encrypted. What an engine restores, told the compression (`RestoreOptions.compression`).
 */
export async function readCompressedSql(
  storage: Storage,
  meta: BackupMeta,
  encryption: EncryptionSettings | undefined,
  action: string,
): Promise<AsyncIterable<Uint8Array>> {
  const identities = meta.file.encryption ? await identitiesFor(meta, encryption, action) : [];
  const stored = await readChecked(storage, meta, action);
  if (!meta.file.encryption) return stored;
  return decryptStream(stored, identities, `backup "${meta.id}"`);
}

/** Why an encrypted backup cannot be read here, and how to give the key. */
function noIdentityMessage(meta: BackupMeta, action: string): string {
  return `Cannot ${action} backup "${meta.id}": it is encrypted (age, for ${
    meta.file.encryption?.recipients.join(", ")
  }) and no identity file was given (use --identity FILE or BACKUP_AGE_IDENTITY_FILE)`;
}

/**
 * The identities that decrypt `meta`, read from the configured identity file; without one, a
 * one-line {@linkcode UsageError} saying how to give it.
 */
export async function identitiesFor(
  meta: BackupMeta,
  encryption: EncryptionSettings | undefined,
  action: string,
): Promise<string[]> {
  if (!encryption?.identityFile) throw new UsageError(noIdentityMessage(meta, action));
  const identities = await readIdentityFile(encryption.identityFile);
  const ours = new Set(await identityFingerprints(identities));
  const recipients = meta.file.encryption?.recipients ?? [];
  if (!recipients.some((fingerprint) => ours.has(fingerprint))) {
    throw new UsageError(
      `Cannot ${action} backup "${meta.id}": none of the identities in "${encryption.identityFile}" ` +
        `matches its recipients (${recipients.join(", ")}); use the identity file of one of them`,
    );
  }
  return identities;
}
