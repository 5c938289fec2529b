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
import { missingDataMessage } from "./corruption.ts";
import { HeadBuffer, mismatchError, originError } from "./data_diagnosis.ts";
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
    throw new IntegrityError(missingDataMessage(action, meta.id, meta.file.name), { cause: error });
  }
  return checked(storage, stream, meta, action);
}

async function* checked(
  storage: Storage,
  stream: ReadableStream<Uint8Array>,
  meta: BackupMeta,
  action: string,
): AsyncIterable<Uint8Array> {
  const recorded = meta.sizes.compressed;
  const hash = createHash("sha256");
  // what a mismatch's diagnosis needs: the first bytes, and the hash of the recorded length
  const head = new HeadBuffer();
  let prefixSha256: string | undefined;
  let size = 0;
  let held: Uint8Array | undefined;
  let sinceCollection = 0;
  for await (const chunk of stream) {
    head.add(chunk);
    if (size + chunk.length > recorded) {
      hash.update(chunk.subarray(0, recorded - size));
      prefixSha256 = hash.digest("hex");
      break; // longer than recorded: leaving the loop cancels the stream
    }
    hash.update(chunk);
    size += chunk.length;
    // downloaded chunks are garbage V8 frees late (see collectGarbage): keep peak memory flat
    sinceCollection += chunk.length;
    if (sinceCollection >= GC_EVERY_BYTES) {
      sinceCollection = 0;
      collectGarbage();
    }
    if (held) yield held;
    held = chunk;
  }
  if (prefixSha256 !== undefined) {
    throw await mismatchError(storage, meta, action, { prefixSha256, head: head.bytes() });
  }
  const sha256 = hash.digest("hex");
  if (size !== recorded || sha256 !== meta.file.sha256) {
    throw await mismatchError(storage, meta, action, { size, sha256, head: head.bytes() });
  }
  // a sidecar forged to match a file that is not our SQL, or is the other engine's
  const foreign = meta.file.encryption ? undefined : originError(head.bytes(), meta, action);
  if (foreign) throw foreign;
  if (held) yield held;
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
