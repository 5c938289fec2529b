/**
 * Gathers what {@linkcode diagnoseData} needs to name the damage of a data file that does not
 * match its sidecar: its size, the hash of its first bytes, the start of its SQL, and whether it
 * is another backup's file. Runs only once a check has failed, so it may read the file again; it
 * uses what the failed check already saw.
 */
import { createHash } from "node:crypto";
import type { Storage } from "../storage/storage.ts";
import type { BackupMeta } from "./backup_file.ts";
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

/** Names the damage of `meta`'s data file, reading from `storage` what `observed` lacks. */
export async function diagnoseStored(
  storage: Storage,
  meta: BackupMeta,
  observed: Observed = {},
): Promise<Diagnosis> {
  const key = meta.file.name;
  const size = observed.size ?? (await storage.stat(key)).size;
  const recorded = { size: meta.sizes.compressed, sha256: meta.file.sha256, engine: meta.engine };
  const facts: DataFacts = {
    recorded,
    actual: { size, ...(observed.sha256 ? { sha256: observed.sha256 } : {}) },
  };
  if (size === 0) return diagnoseData(facts);
  const others = (await listBackups(storage)).filter((b) => b.id !== meta.id && b.meta);
  let sha256 = observed.sha256;
  if (sha256 === undefined && others.some((b) => b.meta!.sizes.compressed === size)) {
    sha256 = await hashOf(storage, key, Infinity);
  }
  facts.swappedWith = others.find((b) => b.meta!.file.sha256 === sha256)?.id;
  if (!meta.file.encryption) {
    facts.origin = originOf(observed.head ?? await headOf(storage, key), meta);
  }
  if (size > recorded.size) {
    facts.actual.prefixSha256 = observed.prefixSha256 ?? await hashOf(storage, key, recorded.size);
  }
  return diagnoseData(facts);
}

/** The origin of the SQL that `head` (a data file's first bytes) starts, if it decompresses. */
export function originOf(head: Uint8Array, meta: BackupMeta): SqlOrigin | undefined {
  const sql = sqlHead(head, meta.file.compression);
  return sql === undefined ? undefined : sqlOrigin(sql);
}

/**
 * The {@linkcode IntegrityError} of a data file that does not match its sidecar, with its
 * diagnosis; when the diagnosis itself cannot read the store, the plain size and hash facts.
 */
export async function mismatchError(
  storage: Storage,
  meta: BackupMeta,
  action: string,
  observed: Observed,
): Promise<IntegrityError> {
  let diagnosis: Diagnosis;
  try {
    diagnosis = await diagnoseStored(storage, meta, observed);
  } catch {
    diagnosis = diagnoseData({
      recorded: { size: meta.sizes.compressed, sha256: meta.file.sha256, engine: meta.engine },
      actual: { size: observed.size ?? meta.sizes.compressed + 1 },
    });
  }
  return new IntegrityError(corruptionMessage(action, meta.id, meta.file.name, diagnosis));
}

/**
 * The {@linkcode IntegrityError} of a data file that matches its sidecar but whose SQL is not
 * what the sidecar says (not ours, or the other engine's): only a forged sidecar does that.
 * `undefined` when the SQL is what it should be, or cannot be told from `head`.
 */
export function originError(
  head: Uint8Array,
  meta: BackupMeta,
  action: string,
): IntegrityError | undefined {
  const origin = originOf(head, meta);
  if (origin === undefined || origin === meta.engine) return undefined;
  const diagnosis = diagnoseData({
    recorded: { size: meta.sizes.compressed, sha256: meta.file.sha256, engine: meta.engine },
    actual: { size: meta.sizes.compressed, sha256: meta.file.sha256 },
    origin,
  });
  return new IntegrityError(corruptionMessage(action, meta.id, meta.file.name, diagnosis));
}

/** One of `verify`'s checks: its name, whether it passed, and what it found. */
export interface DataCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * `verify`'s check of a data file whose size or SHA-256 differs from the sidecar: one failed
 * `data file` check naming the damage in the words `restore` uses.
 */
export async function dataFileCheck(
  storage: Storage,
  meta: BackupMeta,
  observed: Observed,
): Promise<DataCheck> {
  const diagnosis = await diagnoseStored(storage, meta, observed);
  return {
    name: "data file",
    ok: false,
    detail: `its data file "${meta.file.name}" ${diagnosis.detail}`,
  };
}

/**
 * `verify`'s check that bytes matching the sidecar hold the SQL it describes (`head`: the SQL's
 * first lines): a failed `content` check when they are not ours or the other engine's (a forged
 * sidecar), `undefined` when they are, or cannot be told.
 */
export function contentCheck(meta: BackupMeta, head: string | undefined): DataCheck | undefined {
  const origin = head === undefined ? undefined : sqlOrigin(head);
  if (origin === undefined || origin === meta.engine) return undefined;
  const diagnosis = diagnoseData({
    recorded: { size: meta.sizes.compressed, sha256: meta.file.sha256, engine: meta.engine },
    actual: { size: meta.sizes.compressed, sha256: meta.file.sha256 },
    origin,
  });
  return {
    name: "content",
    ok: false,
    detail: `its data file "${meta.file.name}" ${diagnosis.detail}`,
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
