/**
 * Gathers what {@linkcode diagnoseData} needs to name the damage of a data file that does not
 * match its sidecar: its size, the hash of its first bytes, the start of its SQL, and whether it
 * is another backup's file. Runs only once a check has failed, so it may read the file again; it
 * uses what the failed check already saw.
 */
import { createHash } from "node:crypto";
import type { Storage } from "../storage/storage.ts";
import { type BackupFileEntry, type BackupMeta, storedFiles } from "./backup_file.ts";
import { listBackups } from "./catalog.ts";
import { IntegrityError } from "./errors.ts";
import {
  corruptionMessage,
  type DataFacts,
  diagnoseData,
  type Diagnosis,
  HEAD_BYTES,
  sqlHead,
  type SqlOrigin,
  sqlOrigin,
} from "./corruption.ts";

/** What a failed check saw of the data file; {@linkcode diagnoseStored} reads what is missing. */
export interface Observed {
  /** The whole file's size, if it was read to the end. */
  size?: number;
  /** The whole file's SHA-256, if it was read to the end. */
  sha256?: string;
  /** SHA-256 of its first `meta.sizes.compressed` bytes, if it was longer. */
  prefixSha256?: string;
  /** Its first {@linkcode HEAD_BYTES} bytes (or all of them, if shorter). */
  head?: Uint8Array;
}

/** The main data file of `meta` as a {@linkcode BackupFileEntry} (the first of `storedFiles`). */
export function mainEntry(meta: BackupMeta): BackupFileEntry {
  return { file: meta.file, size: meta.sizes.compressed };
}

/**
 * Whether `entry` holds a dump whose origin (our header, the sidecar's engine) can be told: the
 * main file of a one-database backup and each `database` part; not a server backup's globals
 * (roles, no database dump) nor the tar of the files beside.
 */
export function holdsDump(meta: BackupMeta, entry: BackupFileEntry): boolean {
  return entry.part ? entry.part.kind === "database" : meta.server === undefined;
}

/** What the sidecar records of `entry`, for {@linkcode diagnoseData}. */
function recordedOf(meta: BackupMeta, entry: BackupFileEntry): DataFacts["recorded"] {
  return { size: entry.size, sha256: entry.file.sha256, engine: meta.engine };
}

/**
 * Names the damage of one file of `meta` (`entry`, default its main file), reading from
 * `storage` what `observed` lacks. A file that holds another file's bytes (of another backup, or
 * another part of the same one) is told as swapped.
 */
export async function diagnoseStored(
  storage: Storage,
  meta: BackupMeta,
  observed: Observed = {},
  entry: BackupFileEntry = mainEntry(meta),
): Promise<Diagnosis> {
  const key = entry.file.name;
  const size = observed.size ?? (await storage.stat(key)).size;
  const recorded = recordedOf(meta, entry);
  const facts: DataFacts = {
    recorded,
    actual: { size, ...(observed.sha256 ? { sha256: observed.sha256 } : {}) },
  };
  if (size === 0) return diagnoseData(facts);
  const others = (await listBackups(storage)).filter((b) => b.id !== meta.id && b.meta);
  const candidates = [
    ...storedFiles(meta).filter((f) => f.file.name !== key).map((f) => ({ id: meta.id, f })),
    ...others.flatMap((b) => storedFiles(b.meta!).map((f) => ({ id: b.id, f }))),
  ];
  let sha256 = observed.sha256;
  if (sha256 === undefined && candidates.some((c) => c.f.size === size)) {
    sha256 = await hashOf(storage, key, Infinity);
  }
  const swapped = candidates.find((c) => c.f.file.sha256 === sha256);
  if (swapped) {
    facts.swappedWith = swapped.id;
    if (swapped.id === meta.id || entry.part || swapped.f.part) {
      facts.swappedFile = swapped.f.file.name;
    }
  }
  if (!entry.file.encryption && holdsDump(meta, entry)) {
    facts.origin = originOf(observed.head ?? await headOf(storage, key), meta, entry);
  }
  if (size > recorded.size) {
    facts.actual.prefixSha256 = observed.prefixSha256 ?? await hashOf(storage, key, recorded.size);
  }
  return diagnoseData(facts);
}

/**
 * The origin of the SQL that `head` (a data file's first bytes) starts, if it decompresses with
 * `entry`'s compression (default the main file's).
 */
export function originOf(
  head: Uint8Array,
  meta: BackupMeta,
  entry: BackupFileEntry = mainEntry(meta),
): SqlOrigin | undefined {
  const sql = sqlHead(head, entry.file.compression);
  return sql === undefined ? undefined : sqlOrigin(sql);
}

/**
 * The {@linkcode IntegrityError} of a file of `meta` (`entry`, default its main file) that does
 * not match its sidecar entry, with its diagnosis and the file's key; when the diagnosis itself
 * cannot read the store, the plain size and hash facts.
 */
export async function mismatchError(
  storage: Storage,
  meta: BackupMeta,
  action: string,
  observed: Observed,
  entry: BackupFileEntry = mainEntry(meta),
): Promise<IntegrityError> {
  let diagnosis: Diagnosis;
  try {
    diagnosis = await diagnoseStored(storage, meta, observed, entry);
  } catch {
    diagnosis = diagnoseData({
      recorded: recordedOf(meta, entry),
      actual: { size: observed.size ?? entry.size + 1 },
    });
  }
  return new IntegrityError(corruptionMessage(action, meta.id, entry.file.name, diagnosis));
}

/**
 * The {@linkcode IntegrityError} of a file that matches its sidecar entry but whose SQL is not
 * what the sidecar says (not ours, or the other engine's): only a forged sidecar does that.
 * `undefined` when the SQL is what it should be, cannot be told from `head`, or `entry` holds no
 * dump (see {@linkcode holdsDump}).
 */
export function originError(
  head: Uint8Array,
  meta: BackupMeta,
  action: string,
  entry: BackupFileEntry = mainEntry(meta),
): IntegrityError | undefined {
  if (!holdsDump(meta, entry)) return undefined;
  const origin = originOf(head, meta, entry);
  if (origin === undefined || origin === meta.engine) return undefined;
  const diagnosis = diagnoseData({
    recorded: recordedOf(meta, entry),
    actual: { size: entry.size, sha256: entry.file.sha256 },
    origin,
  });
  return new IntegrityError(corruptionMessage(action, meta.id, entry.file.name, diagnosis));
}

/** One of `verify`'s checks: its name, whether it passed, and what it found. */
export interface DataCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * `verify`'s check of a file (`entry`, default the main file) whose size or SHA-256 differs from
 * the sidecar: one failed `data file` check naming the file and its damage in the words
 * `restore` uses.
 */
export async function dataFileCheck(
  storage: Storage,
  meta: BackupMeta,
  observed: Observed,
  entry: BackupFileEntry = mainEntry(meta),
): Promise<DataCheck> {
  const diagnosis = await diagnoseStored(storage, meta, observed, entry);
  return {
    name: "data file",
    ok: false,
    detail: `its data file "${entry.file.name}" ${diagnosis.detail}`,
  };
}

/**
 * `verify`'s check that bytes matching the sidecar hold the SQL it describes (`head`: the SQL's
 * first lines): a failed `content` check when they are not ours or the other engine's (a forged
 * sidecar), `undefined` when they are, cannot be told, or `entry` holds no dump.
 */
export function contentCheck(
  meta: BackupMeta,
  head: string | undefined,
  entry: BackupFileEntry = mainEntry(meta),
): DataCheck | undefined {
  if (!holdsDump(meta, entry)) return undefined;
  const origin = head === undefined ? undefined : sqlOrigin(head);
  if (origin === undefined || origin === meta.engine) return undefined;
  const diagnosis = diagnoseData({
    recorded: recordedOf(meta, entry),
    actual: { size: entry.size, sha256: entry.file.sha256 },
    origin,
  });
  return {
    name: "content",
    ok: false,
    detail: `its data file "${entry.file.name}" ${diagnosis.detail}`,
  };
}

/** SHA-256 of the first `limit` bytes of `key`. */
async function hashOf(storage: Storage, key: string, limit: number): Promise<string> {
  const hash = createHash("sha256");
  let taken = 0;
  const stream = await storage.read(key);
  for await (const chunk of stream) {
    const part = chunk.subarray(0, Math.min(chunk.length, limit - taken));
    hash.update(part);
    taken += part.length;
    if (taken >= limit) break; // leaving the loop cancels the stream
  }
  return hash.digest("hex");
}

/** The first {@linkcode HEAD_BYTES} bytes of `key`. */
async function headOf(storage: Storage, key: string): Promise<Uint8Array> {
  const head = new HeadBuffer();
  const stream = await storage.read(key);
  for await (const chunk of stream) {
    if (head.add(chunk)) break;
  }
  return head.bytes();
}

/** Collects the first {@linkcode HEAD_BYTES} bytes of a stream, copied. */
export class HeadBuffer {
  #parts: Uint8Array[] = [];
  #size = 0;

  /** Keeps what it still needs of `chunk`; `true` once it has all it needs. */
  add(chunk: Uint8Array): boolean {
    if (this.#size < HEAD_BYTES) {
      const part = new Uint8Array(chunk.subarray(0, HEAD_BYTES - this.#size));
      this.#parts.push(part);
      this.#size += part.length;
    }
    return this.#size >= HEAD_BYTES;
  }

  /** The bytes collected. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#size);
    let at = 0;
    for (const part of this.#parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}
