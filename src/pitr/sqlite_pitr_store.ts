/**
 * Where continuous SQLite replication keeps what it ships, in a store of its own (flat keys):
 * generations, each a snapshot (the database file as of one WAL position) and the segments of
 * committed WAL frames after it, in order. Every data object is written compressed with its
 * SHA-256 and committed before the small JSON manifest that makes it count (the manifest last,
 * as backups' sidecars), so a replicator killed at any moment leaves a chain that restores to an
 * earlier, correct point.
 *
 * Keys: `<gen>.snapshot.db.gz` + `<gen>.snapshot.json`; `<gen>.<seq>.wal.gz` + `<gen>.<seq>.json`
 * (`<seq>` eight digits); a generation id is `g<UTC yyyymmddThhmmssSSSZ>`, sortable in time.
 */
import type { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { pipeline, Readable } from "node:stream";
import type { Storage } from "../storage/storage.ts";
import { StorageNotFoundError } from "../storage/storage.ts";
import { storedStream } from "../core/stored_stream.ts";
import { DEFAULT_COMPRESSION } from "../core/compression.ts";
import { Decompressor } from "../core/decompressor.ts";
import { IntegrityError } from "../core/errors.ts";
import { readAll } from "../core/catalog.ts";
import { decryptStream } from "../core/crypto/age.ts";
import type { WalHeader } from "./sqlite_wal.ts";

/** What a generation's snapshot manifest records. */
export interface SnapshotManifest {
  formatVersion: 1;
  generation: string;
  /** When the snapshot was taken (the state it holds), ISO 8601. */
  takenAt: string;
  /** The WAL this generation follows: its page size, salts and checkpoint sequence. */
  wal: Pick<WalHeader, "pageSize" | "salt1" | "salt2" | "checkpointSequence" | "bigEndian">;
  /** The WAL checksum after the snapshot's last frame: where the first segment's chain starts. */
  checksum: [number, number];
  /** Bytes of the database file as of the snapshot. */
  size: number;
  stored: StoredObject;
}

/** A stored snapshot or segment: gzip, then age when `encrypted`; the SHA-256 of what is stored. */
export interface StoredObject {
  key: string;
  sha256: string;
  size: number;
  /** Encrypted for the `encryption.recipients` of the replicator (age, after compression). */
  encrypted?: boolean;
}

/** A commit a segment holds, and when the replicator saw it. */
export interface SegmentCommit {
  /** Index of the commit frame within the segment (0-based). */
  frame: number;
  /** When it was first seen committed, ISO 8601: the recovery point's resolution is the poll. */
  seenAt: string;
}

/** What a segment manifest records. */
export interface SegmentManifest {
  formatVersion: 1;
  generation: string;
  sequence: number;
  /**
   * Present on the first segment of a log that restarted within the generation (after every
   * frame of the old one was shipped): the new log's header; its chain starts afresh.
   */
  restart?: { wal: SnapshotManifest["wal"] };
  /** Frames in the segment (headers and pages, as in the WAL); it ends with a commit frame. */
  frames: number;
  /** The chain's checksum before the first frame and after the last. */
  startChecksum: [number, number];
  endChecksum: [number, number];
  commits: SegmentCommit[];
  stored: StoredObject & { raw: number };
}

/** A generation id for a snapshot taken at `time`. */
export function generationId(time: Date): string {
  return "g" + time.toISOString().replace(/[-:.]/g, "");
}

/** The keys of a generation's snapshot. */
export function snapshotKeys(generation: string): { data: string; manifest: string } {
  return { data: `${generation}.snapshot.db.gz`, manifest: `${generation}.snapshot.json` };
}

/** The keys of segment `sequence` of a generation. */
export function segmentKeys(
  generation: string,
  sequence: number,
): { data: string; manifest: string } {
  const seq = String(sequence).padStart(8, "0");
  return { data: `${generation}.${seq}.wal.gz`, manifest: `${generation}.${seq}.json` };
}

/**
 * Writes `chunks` compressed (and encrypted for `recipients`, when any) under `key` and commits
 * it; its SHA-256 and sizes.
 */
export async function writeStored(
  store: Storage,
  key: string,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  recipients: string[] = [],
): Promise<StoredObject & { raw: number }> {
  const stream = storedStream(await store.create(key, { overwrite: true }), key, {
    compression: DEFAULT_COMPRESSION,
    recipients,
    jobs: 1,
  });
  try {
    for await (const chunk of chunks) await stream.write(chunk);
    const { file, sizes } = await stream.end();
    await stream.commit();
    return {
      key,
      sha256: file.sha256,
      size: sizes.compressed,
      raw: sizes.raw,
      ...(recipients.length > 0 ? { encrypted: true } : {}),
    };
  } catch (error) {
    await stream.abort();
    throw error;
  }
}

/** Writes a manifest (last: it makes its data count). */
export async function writeManifest(store: Storage, key: string, value: unknown): Promise<void> {
  const writer = await store.create(key, { overwrite: true });
  try {
    await writer.write(new TextEncoder().encode(JSON.stringify(value, null, 2) + "\n"));
    await writer.commit();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/** Reads a manifest; `undefined` when it is not there. */
export async function readManifest<T>(store: Storage, key: string): Promise<T | undefined> {
  try {
    return JSON.parse(new TextDecoder().decode(await readAll(store, key))) as T;
  } catch (error) {
    if (error instanceof StorageNotFoundError) return undefined;
    throw error;
  }
}

/**
 * The decompressed (and decrypted, with `identities`) bytes of a stored object, checked against
 * `stored.sha256` as they are read (a mismatch throws {@linkcode IntegrityError} at the end,
 * before the last chunk is given).
 */
export async function* readStored(
  store: Storage,
  stored: { key: string; sha256: string; encrypted?: boolean },
  identities: string[] = [],
): AsyncGenerator<Uint8Array> {
  const hash = createHash("sha256");
  const hashed = (async function* () {
    const stream = await store.read(stored.key);
    let held: Uint8Array | undefined;
    for await (const chunk of stream) {
      if (held) yield held;
      hash.update(chunk);
      held = chunk;
    }
    if (hash.digest("hex") !== stored.sha256) {
      throw new IntegrityError(`"${stored.key}" does not match its recorded SHA-256`);
    }
    if (held) yield held;
  })();
  const source = Readable.from(
    stored.encrypted ? decryptStream(hashed, identities, `"${stored.key}"`) : hashed,
  );
  const decompressor = new Decompressor({ format: "gzip" });
  pipeline(source, decompressor, () => {});
  for await (const chunk of decompressor as AsyncIterable<Buffer>) {
    yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
}

/** Every generation in the store with its snapshot manifest, oldest first. */
export async function listGenerations(store: Storage): Promise<SnapshotManifest[]> {
  const keys = (await store.list()).map((e) => e.key).filter((k) => k.endsWith(".snapshot.json"))
    .sort();
  const out: SnapshotManifest[] = [];
  for (const key of keys) {
    const manifest = await readManifest<SnapshotManifest>(store, key);
    if (manifest) out.push(manifest);
  }
  return out;
}

/** The segments of `generation` whose manifests exist, in sequence order. */
export async function listSegments(store: Storage, generation: string): Promise<SegmentManifest[]> {
  const pattern = new RegExp(`^${generation}\\.(\\d{8})\\.json$`);
  const keys = (await store.list()).map((e) => e.key).filter((k) => pattern.test(k)).sort();
  const out: SegmentManifest[] = [];
  for (const key of keys) {
    const manifest = await readManifest<SegmentManifest>(store, key);
    if (manifest) out.push(manifest);
  }
  return out;
}
