/**
 * Reading a backup's stored bytes back: checked against the sidecar's size and SHA-256, and
 * decrypted when the file is encrypted, so restore, verify and copy read the same way from any
 * store (local disk, S3). Every file of a backup reads the same way: the main file and each part
 * (`storedFiles(meta)`), each against its own entry in the sidecar.
 */
import { createHash } from "node:crypto";
import { type Storage, StorageNotFoundError } from "../storage/storage.ts";
import type { BackupFileEntry, BackupMeta, StoredFile } from "./backup_file.ts";
import { IntegrityError, UsageError } from "./errors.ts";
import { collectGarbage, GC_EVERY_BYTES } from "./collect_garbage.ts";
import { missingDataMessage } from "./corruption.ts";
import { HeadBuffer, mainEntry, mismatchError, originError } from "./data_diagnosis.ts";
import { decryptStream, identityFingerprints, readIdentityFile } from "./crypto/age.ts";
import type { EncryptionSettings } from "./context.ts";

/**
 * Reads the whole main data file once and throws {@linkcode IntegrityError} unless its size and
 * SHA-256 are the sidecar's: run before any byte reaches a database.
 */
export async function checkChecksum(storage: Storage, meta: BackupMeta): Promise<void> {
  await checkFileChecksum(storage, meta, mainEntry(meta), "restore");
}

/**
 * Reads one file of a backup (`entry`, from `storedFiles(meta)`) once and throws
 * {@linkcode IntegrityError} naming that file unless its size and SHA-256 are its entry's.
 */
export async function checkFileChecksum(
  storage: Storage,
  meta: BackupMeta,
  entry: BackupFileEntry,
  action: string,
): Promise<void> {
  for await (const _ of await readCheckedFile(storage, meta, entry, action)) {
    // the check happens as the bytes go by
  }
}

/**
 * The stored bytes of `meta`'s main data file, checked as {@linkcode readCheckedFile} checks
 * any file of a backup.
 */
export function readChecked(
  storage: Storage,
  meta: BackupMeta,
  action: string,
): Promise<AsyncIterable<Uint8Array>> {
  return readCheckedFile(storage, meta, mainEntry(meta), action);
}

/**
 * The stored bytes (still compressed, still encrypted) of one file of a backup: `entry` is the
 * main file or a part, from `storedFiles(meta)`. Hashed on the way: the last chunk is held back
 * until size and SHA-256 match the entry, so a consumer that loads all-or-nothing (every
 * engine's restore, a tar extraction into a scratch directory) never commits bytes that differ
 * from what the sidecar vouches for, even when the object changed after an earlier check.
 *
 * Failures are {@linkcode IntegrityError}s naming the file's key: missing (thrown here, before
 * any byte), or damaged (thrown by the iteration: truncated, appended, swapped with another
 * file, ...). The SQL's origin (ours, of the sidecar's engine) is checked for the main file of a
 * one-database backup and for `database` parts; not for a server backup's globals or a tar.
 */
export async function readCheckedFile(
  storage: Storage,
  meta: BackupMeta,
  entry: BackupFileEntry,
  action: string,
): Promise<AsyncIterable<Uint8Array>> {
  let stream: ReadableStream<Uint8Array>;
  try {
    stream = await storage.read(entry.file.name);
  } catch (error) {
    if (!(error instanceof StorageNotFoundError)) throw error;
    throw new IntegrityError(missingDataMessage(action, meta.id, entry.file.name), {
      cause: error,
    });
  }
  return checked(storage, stream, meta, entry, action);
}

async function* checked(
  storage: Storage,
  stream: ReadableStream<Uint8Array>,
  meta: BackupMeta,
  entry: BackupFileEntry,
  action: string,
): AsyncIterable<Uint8Array> {
  const recorded = entry.size;
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
    throw await mismatchError(storage, meta, action, { prefixSha256, head: head.bytes() }, entry);
  }
  const sha256 = hash.digest("hex");
  if (size !== recorded || sha256 !== entry.file.sha256) {
    throw await mismatchError(storage, meta, action, { size, sha256, head: head.bytes() }, entry);
  }
  // a sidecar forged to match a file that is not our SQL, or is the other engine's
  const foreign = entry.file.encryption
    ? undefined
    : originError(head.bytes(), meta, action, entry);
  if (foreign) throw foreign;
  if (held) yield held;
}

/**
 * The main file's SQL, still compressed: {@linkcode readCompressedFile} of the main file. What an
 * engine restores, told the compression (`RestoreOptions.compression`).
 */
export function readCompressedSql(
  storage: Storage,
  meta: BackupMeta,
  encryption: EncryptionSettings | undefined,
  action: string,
): Promise<AsyncIterable<Uint8Array>> {
  return readCompressedFile(storage, meta, mainEntry(meta), encryption, action);
}

/**
 * The content of one file of a backup (`entry`, from `storedFiles(meta)`), still compressed as
 * `entry.file.compression` says (gzip, zstd or none): checked as {@linkcode readCheckedFile}
 * does, and decrypted with the identity file when that file is encrypted (a missing or wrong
 * identity is a {@linkcode UsageError}, thrown before any byte is read). Decompress it with
 * `new Decompressor({ format: entry.file.compression })` (`decompressor.ts`), or hand it to an
 * engine's restore with `compression: entry.file.compression`.
 */
export async function readCompressedFile(
  storage: Storage,
  meta: BackupMeta,
  entry: BackupFileEntry,
  encryption: EncryptionSettings | undefined,
  action: string,
): Promise<AsyncIterable<Uint8Array>> {
  const identities = entry.file.encryption
    ? await identitiesFor(meta, encryption, action, entry.file)
    : [];
  const stored = await readCheckedFile(storage, meta, entry, action);
  if (!entry.file.encryption) return stored;
  // the main file is "the backup", as before parts existed; a part is named
  const what = entry.part ? `backup "${meta.id}" file "${entry.file.name}"` : `backup "${meta.id}"`;
  return decryptStream(stored, identities, what);
}

/** Why an encrypted backup cannot be read here, and how to give the key. */
function noIdentityMessage(meta: BackupMeta, file: StoredFile, action: string): string {
  return `Cannot ${action} backup "${meta.id}": it is encrypted (age, for ${
    file.encryption?.recipients.join(", ")
  }) and no identity file was given (use --identity FILE or BACKUP_AGE_IDENTITY_FILE)`;
}

/**
 * The identities that decrypt `file` of `meta` (default its main file; a part's `file` for a
 * part), read from the configured identity file; without one, a one-line
 * {@linkcode UsageError} saying how to give it.
 */
export async function identitiesFor(
  meta: BackupMeta,
  encryption: EncryptionSettings | undefined,
  action: string,
  file: StoredFile = meta.file,
): Promise<string[]> {
  if (!encryption?.identityFile) throw new UsageError(noIdentityMessage(meta, file, action));
  const identities = await readIdentityFile(encryption.identityFile);
  const ours = new Set(await identityFingerprints(identities));
  const recipients = file.encryption?.recipients ?? [];
  if (!recipients.some((fingerprint) => ours.has(fingerprint))) {
    throw new UsageError(
      `Cannot ${action} backup "${meta.id}": none of the identities in "${encryption.identityFile}" ` +
        `matches its recipients (${recipients.join(", ")}); use the identity file of one of them`,
    );
  }
  return identities;
}
