/**
 * `verify`'s check of one stored file of a backup (the main file or a part): size and SHA-256
 * against its sidecar entry, decryption when it is encrypted and an identity is at hand,
 * decompression to the end and to the recorded raw size, the dump's origin for SQL, and for the
 * tar of the files beside, every header read through `checkTar`. One pass over the stored bytes.
 */
import { createHash } from "node:crypto";
import { pipeline, Readable } from "node:stream";
import type { BackupFileEntry, BackupMeta } from "./backup_file.ts";
import { messageOf, UsageError } from "./errors.ts";
import { decryptStream, readIdentityFile } from "./crypto/age.ts";
import { identitiesFor } from "./stored_data.ts";
import { Decompressor } from "./decompressor.ts";
import { contentCheck, type DataCheck, dataFileCheck } from "./data_diagnosis.ts";
import type { EncryptionSettings } from "./context.ts";
import type { Storage } from "../storage/storage.ts";
import { StorageNotFoundError } from "../storage/storage.ts";
import type { Phase, Watchdog } from "./watchdog.ts";
import { checkTar } from "./files/tar_read.ts";

/** Options of {@linkcode checkStoredFile}. */
export interface FileCheckOptions {
  /** Where the identity file is, for an encrypted file. Default none: stored bytes only. */
  encryption?: EncryptionSettings;
  /** Ticks on every chunk; a stall ends the check with its error. */
  dog: Watchdog;
  /** The phase of reading the store, for the stall line. */
  reading: Phase;
}

/**
 * The prefix of a file's check names: empty for a one-database backup's main file (`size`,
 * `checksum`, `gzip`, as before parts existed), `globals ` for a server backup's main file,
 * `database "NAME" ` for a database part, `files ` for the files part.
 */
export function checkPrefix(meta: BackupMeta, entry: BackupFileEntry): string {
  if (!entry.part) return meta.server ? "globals " : "";
  return entry.part.kind === "files" ? "files " : `database "${entry.part.name}" `;
}

/**
 * Checks `entry` of `meta` in one pass and returns its checks (named with
 * {@linkcode checkPrefix}) and whether all passed. A missing or unreadable file is one failed
 * `data file` check naming it; the store's stall is thrown.
 */
export async function checkStoredFile(
  storage: Storage,
  meta: BackupMeta,
  entry: BackupFileEntry,
  options: FileCheckOptions,
): Promise<{ ok: boolean; checks: DataCheck[] }> {
  const { dog, reading } = options;
  const prefix = checkPrefix(meta, entry);
  const checks: DataCheck[] = [];
  const key = entry.file.name;
  let stream: ReadableStream<Uint8Array>;
  try {
    stream = await dog.wait(reading, storage.read(key));
  } catch (error) {
    if (dog.stalled) throw dog.stalled;
    checks.push({
      name: `${prefix}data file`,
      ok: false,
      detail: error instanceof StorageNotFoundError
        ? `its data file "${key}" is missing`
        : `cannot read "${key}": ${messageOf(error)}`,
    });
    return { ok: false, checks };
  }
  // without an identity, an encrypted file's stored bytes are still checked
  let identities: string[] | undefined;
  let noIdentity: string | undefined;
  if (entry.file.encryption) {
    // an identity file that was given but cannot be read is the user's mistake: say so (exit 2)
    const file = options.encryption?.identityFile;
    if (file) await readIdentityFile(file);
    try {
      identities = await identitiesFor(meta, options.encryption, "decrypt", entry.file);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      noIdentity = options.encryption?.identityFile
        ? error.message
        : "encrypted, and no identity file was given (--identity FILE or BACKUP_AGE_IDENTITY_FILE)";
    }
  }
  let stored = hashing(stream, dog);
  const content = !entry.file.encryption
    ? stored
    : identities
    ? decryptStream(stored, identities, `backup "${meta.id}" file "${key}"`)
    : undefined;
  const format = entry.file.compression;
  const isTar = entry.part?.kind === "files";
  const read = content ? await decompressedContent(content, format, isTar) : undefined;
  if (!stored.complete) {
    // decryption or decompression stopped early (damage): hash the whole file on its own
    stored = hashing(await dog.wait(reading, storage.read(key)), dog);
    await drain(stored);
  }
  const sha = stored.hash.digest("hex");
  const sizeOk = stored.size === entry.size;
  const shaOk = sha === entry.file.sha256;
  if (sizeOk && shaOk) {
    checks.push({ name: `${prefix}size`, ok: true, detail: `${stored.size} bytes` });
    checks.push({ name: `${prefix}checksum`, ok: true, detail: `sha256 ${sha}` });
  } else {
    const check = await dataFileCheck(storage, meta, { size: stored.size, sha256: sha }, entry);
    checks.push({ ...check, name: `${prefix}${check.name}` });
  }
  // the check is named by the format: "gzip", "zstd", or "sql" ("tar") when not compressed
  const name = prefix + (format === "none" ? (isTar ? "tar" : "sql") : format);
  if (!read) {
    // an encrypted file this machine cannot read: the stored bytes are all it can vouch for
    checks.push({ name, ok: true, detail: `not checked: ${noIdentity}` });
    return { ok: sizeOk && shaOk, checks };
  }
  const foreign = sizeOk && shaOk && !isTar ? contentCheck(meta, read.head, entry) : undefined;
  if (foreign) {
    checks.push({ ...foreign, name: `${prefix}${foreign.name}` });
    return { ok: false, checks };
  }
  const raw = entry.part?.sizes.raw ?? meta.sizes.raw;
  const what = isTar ? "tar" : "SQL";
  const rawOk = read.error === undefined && read.raw === raw;
  checks.push({
    name: entry.file.encryption ? `${prefix}decrypt and ${name.slice(prefix.length)}` : name,
    ok: rawOk,
    detail: read.error
      ? read.error
      : rawOk
      ? `${read.raw} bytes of ${what}`
      : `${
        format === "none" ? "holds" : "decompresses to"
      } ${read.raw} bytes, the sidecar records ${raw}`,
  });
  let tarOk = true;
  if (isTar && read.error === undefined) {
    const recorded = entry.part?.entries;
    tarOk = read.tarError === undefined &&
      (recorded === undefined || read.entries === recorded);
    checks.push({
      name: `${prefix}archive`,
      ok: tarOk,
      detail: read.tarError
        ? `the tar is damaged (${read.tarError})`
        : tarOk
        ? `${read.entries} entries, every header read`
        : `holds ${read.entries} entries, the sidecar records ${recorded}`,
    });
  }
  return { ok: sizeOk && shaOk && rawOk && tarOk, checks };
}

/** A stream's chunks, hashed and counted as they pass; `complete` once it ended by itself. */
interface Hashing extends AsyncIterable<Uint8Array> {
  hash: ReturnType<typeof createHash>;
  size: number;
  complete: boolean;
}

/**
 * Hashes and counts `stream`'s chunks as a reader takes them; each is a tick of `dog`, and a
 * stall ends the stream with the {@linkcode StalledError}.
 */
function hashing(stream: ReadableStream<Uint8Array>, dog: Watchdog): Hashing {
  const state: Hashing = {
    hash: createHash("sha256"),
    size: 0,
    complete: false,
    [Symbol.asyncIterator]: async function* () {
      for await (const chunk of stream) {
        if (dog.stalled) throw dog.stalled;
        dog.tick();
        state.hash.update(chunk);
        state.size += chunk.length;
        yield chunk;
      }
      state.complete = true;
    },
  };
  return state;
}

async function drain(stream: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _ of stream) {
    // hashed on the way
  }
}

/** What the decompressed content of a file turned out to be. */
interface Content {
  /** Bytes decompressed before the end or the first error. */
  raw: number;
  /** Why the stored bytes could not be read to the end (decryption, decompression). */
  error?: string;
  /** The first lines of SQL, to tell ours from anything else. */
  head?: string;
  /** Tar only: entries read, and why the archive is broken. */
  entries?: number;
  tarError?: string;
}

/**
 * Decompresses `source` to its end, counting the bytes; a tar's headers are read on the way
 * (`checkTar`). A damaged stream is an error message, never a throw (but a stall is).
 */
async function decompressedContent(
  source: AsyncIterable<Uint8Array>,
  format: BackupFileEntry["file"]["compression"],
  isTar: boolean,
): Promise<Content> {
  let sourceError: unknown;
  const guarded = async function* () {
    try {
      yield* source;
    } catch (error) {
      sourceError = error;
      throw error;
    }
  };
  const decompressor = new Decompressor({ format });
  let decompressError: Error | undefined;
  pipeline(Readable.from(guarded()), decompressor, (error) => {
    if (error && sourceError === undefined) decompressError = error;
  });
  let raw = 0;
  let head = "";
  const counted = async function* () {
    for await (const chunk of decompressor as AsyncIterable<Uint8Array>) {
      if (head.length < 512) head += new TextDecoder().decode(chunk.subarray(0, 512));
      raw += chunk.length;
      yield chunk;
    }
  };
  let entries: number | undefined;
  let tarError: string | undefined;
  const chunks = counted();
  try {
    if (isTar) {
      // a view without `return`: the tar reader stopping early leaves the stream to drain below
      const view = { [Symbol.asyncIterator]: () => ({ next: () => chunks.next() }) };
      try {
        entries = (await checkTar(view)).entries;
      } catch (error) {
        if (sourceError !== undefined || decompressError !== undefined) throw error;
        tarError = messageOf(error);
      }
    }
    for await (const _ of chunks) {
      // counted on the way (a tar's padding after its end included)
    }
  } catch (error) {
    decompressError ??= sourceError === undefined && error instanceof Error ? error : undefined;
  }
  // the pipeline's callback runs after the stream ends; let it
  await new Promise((resolve) => setTimeout(resolve, 0));
  const error = sourceError !== undefined
    ? messageOf(sourceError)
    : decompressError
    ? `the ${format} stream is damaged (${decompressError.message})`
    : undefined;
  return {
    raw,
    ...(error ? { error } : {}),
    ...(head ? { head } : {}),
    ...(entries !== undefined ? { entries } : {}),
    ...(tarError !== undefined ? { tarError } : {}),
  };
}
