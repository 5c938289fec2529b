/**
 * Continuous replication of a SQLite database in WAL mode (issue 13), Litestream's design: the
 * replicator holds a read transaction on a connection of its own, so no checkpoint can restart
 * the log under it; each `step()` reads the frames appended since the last one straight from the
 * `-wal` file, checks their salts and checksum chain (`sqlite_wal.ts`), and ships those up to the
 * last commit as one segment; then it lets go of the read transaction for an instant (so the
 * application's checkpoints can restart the log) and takes it again. A log that was restarted or
 * rewritten meanwhile (other salts, another checkpoint sequence, a file shorter than what was
 * read) is never continued: a new generation starts with a fresh snapshot, so a chain with a hole
 * is never shipped. The application keeps writing: the replicator only reads.
 *
 * The snapshot is the database file copied while the read transaction is held, with the frames
 * already in the log applied: a checkpoint may copy pages into the file during the copy, but only
 * pages of frames the snapshot applies anyway.
 */
import { DatabaseSync } from "node:sqlite";
import type { Storage } from "../storage/storage.ts";
import type { Clock } from "../core/clock.ts";
import {
  FRAME_HEADER_BYTES,
  parseWalHeader,
  readFrame,
  WAL_HEADER_BYTES,
  type WalFrame,
  type WalHeader,
} from "./sqlite_wal.ts";
import {
  generationId,
  segmentKeys,
  type SegmentManifest,
  snapshotKeys,
  type SnapshotManifest,
  writeManifest,
  writeStored,
} from "./sqlite_pitr_store.ts";

/** Options of {@linkcode SqliteReplicator}. */
export interface ReplicatorOptions {
  clock: Clock;
  /** At most this many WAL bytes are read by one step (the rest waits for the next). */
  maxStepBytes?: number;
}

/** What one step did. */
export interface StepResult {
  /** A new generation was started (first step, or the log was restarted by someone else). */
  newGeneration?: { id: string; reason: string };
  /** Frames and commits shipped in a segment by this step. */
  frames: number;
  commits: number;
}

/** Replicates one database into `store`; `step()` on a timer, `close()` at the end. */
export class SqliteReplicator {
  readonly #path: string;
  readonly #store: Storage;
  readonly #clock: Clock;
  readonly #maxStepBytes: number;
  #db: DatabaseSync | undefined;
  #generation: string | undefined;
  #header: WalHeader | undefined;
  /** Offset of the next frame to read in the WAL file. */
  #offset = WAL_HEADER_BYTES;
  #checksum: [number, number] = [0, 0];
  #sequence = 0;

  constructor(path: string, store: Storage, options: ReplicatorOptions) {
    this.#path = path;
    this.#store = store;
    this.#clock = options.clock;
    this.#maxStepBytes = options.maxStepBytes ?? 64 << 20;
  }

  /** The generation being extended. */
  get generation(): string | undefined {
    return this.#generation;
  }

  /** Ships what was committed since the last step (the first step takes the snapshot). */
  async step(): Promise<StepResult> {
    this.#holdReadTransaction();
    const wal = await this.#readWalHead();
    const restarted = this.#restartReason(wal);
    if (restarted !== undefined) {
      const id = await this.#newGeneration(wal);
      this.#release();
      return { newGeneration: { id, reason: restarted }, frames: 0, commits: 0 };
    }
    const shipped = await this.#shipFrames();
    this.#release();
    return { frames: shipped.frames, commits: shipped.commits };
  }

  /** Ships what is committed, then lets go of the database. */
  async close(): Promise<void> {
    try {
      if (this.#generation) await this.step();
    } finally {
      this.#db?.close();
      this.#db = undefined;
    }
  }

  /** Ends the read transaction and begins another, so waiting checkpoints may restart the log. */
  #release(): void {
    this.#db?.exec("COMMIT");
  }

  #holdReadTransaction(): void {
    if (!this.#db) {
      this.#db = new DatabaseSync(this.#path, { timeout: 5000 });
      const mode = String(this.#db.prepare("PRAGMA journal_mode").get()?.journal_mode);
      if (mode !== "wal") {
        this.#db.close();
        this.#db = undefined;
        throw new Error(`"${this.#path}" is in ${mode} journal mode: replication needs WAL`);
      }
    }
    this.#db.exec("BEGIN");
    // the first read takes the snapshot that keeps the log from being restarted
    this.#db.prepare("SELECT count(*) FROM sqlite_schema").get();
  }

  async #readWalHead(): Promise<{ header?: WalHeader; size: number }> {
    let bytes: Uint8Array;
    try {
      const file = await Deno.open(`${this.#path}-wal`);
      try {
        const size = (await file.stat()).size;
        bytes = new Uint8Array(Math.min(size, WAL_HEADER_BYTES));
        await readExactly(file, bytes);
        if (size < WAL_HEADER_BYTES) return { size };
        return { header: parseWalHeader(bytes), size };
      } finally {
        file.close();
      }
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return { size: 0 };
      throw error;
    }
  }

  #restartReason(wal: { header?: WalHeader; size: number }): string | undefined {
    const current = this.#header;
    if (!this.#generation || !current) return "the first snapshot";
    if (!wal.header) return wal.size === 0 ? undefined : "the WAL header was cut";
    const h = wal.header;
    if (h.salt1 !== current.salt1 || h.salt2 !== current.salt2) {
      return "the WAL was restarted (new salts)";
    }
    if (h.checkpointSequence !== current.checkpointSequence) {
      return "the WAL's checkpoint sequence changed";
    }
    if (wal.size < this.#offset) return "the WAL is shorter than what was shipped";
    return undefined;
  }

  /** Reads the valid frames after `#offset` up to the last commit among them. */
  async #readCommitted(): Promise<{ bytes: Uint8Array; frames: WalFrame[] } | undefined> {
    const header = this.#header!;
    let file: Deno.FsFile;
    try {
      file = await Deno.open(`${this.#path}-wal`);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
    try {
      const size = (await file.stat()).size;
      const frameBytes = FRAME_HEADER_BYTES + header.pageSize;
      const available = Math.floor((size - this.#offset) / frameBytes);
      const count = Math.min(available, Math.max(1, Math.floor(this.#maxStepBytes / frameBytes)));
      if (count <= 0) return undefined;
      const bytes = new Uint8Array(count * frameBytes);
      await file.seek(this.#offset, Deno.SeekMode.Start);
      await readExactly(file, bytes);
      const frames: WalFrame[] = [];
      let previous: readonly [number, number] = this.#checksum;
      let committed = 0;
      for (let i = 0; i < count; i++) {
        const frame = readFrame(bytes, i * frameBytes, i, header, previous);
        if (!frame) break;
        frames.push(frame);
        previous = frame.checksum;
        if (frame.commitSize !== 0) committed = frames.length;
      }
      if (committed === 0) return undefined;
      return {
        bytes: bytes.subarray(0, committed * frameBytes),
        frames: frames.slice(0, committed),
      };
    } finally {
      file.close();
    }
  }

  async #shipFrames(): Promise<{ frames: number; commits: number }> {
    const read = await this.#readCommitted();
    if (!read) return { frames: 0, commits: 0 };
    const seenAt = this.#clock.now().toISOString();
    const commits = read.frames.filter((f) => f.commitSize !== 0).map((f) => ({
      frame: f.index,
      seenAt,
    }));
    const sequence = this.#sequence + 1;
    const keys = segmentKeys(this.#generation!, sequence);
    const stored = await writeStored(this.#store, keys.data, [read.bytes]);
    const endChecksum = read.frames[read.frames.length - 1].checksum;
    const manifest: SegmentManifest = {
      formatVersion: 1,
      generation: this.#generation!,
      sequence,
      frames: read.frames.length,
      startChecksum: [...this.#checksum],
      endChecksum: [...endChecksum],
      commits,
      stored,
    };
    await writeManifest(this.#store, keys.manifest, manifest);
    this.#sequence = sequence;
    this.#offset += read.bytes.length;
    this.#checksum = [...endChecksum];
    return { frames: read.frames.length, commits: commits.length };
  }

  /**
   * A new generation: the database file copied under the read transaction, with every committed
   * frame of the log applied, stored as the snapshot; the chain continues after those frames.
   */
  async #newGeneration(wal: { header?: WalHeader; size: number }): Promise<string> {
    const now = this.#clock.now();
    const id = generationId(now);
    const temp = await Deno.makeTempFile({ prefix: "backup-manager-snapshot-" });
    try {
      await Deno.copyFile(this.#path, temp);
      this.#generation = id;
      this.#sequence = 0;
      this.#offset = WAL_HEADER_BYTES;
      this.#header = wal.header;
      this.#checksum = wal.header ? [...wal.header.checksum] : [0, 0];
      let size = (await Deno.stat(temp)).size;
      if (wal.header) {
        // apply the log's committed frames to the copy, in bounded reads
        for (;;) {
          const read = await this.#readCommitted();
          if (!read) break;
          size = await applyToFile(temp, read.bytes, read.frames, wal.header.pageSize);
          this.#offset += read.bytes.length;
          this.#checksum = [...read.frames[read.frames.length - 1].checksum];
        }
      }
      // every commit the snapshot holds was made by now: it stands for this moment
      const takenAt = this.#clock.now();
      const keys = snapshotKeys(id);
      const file = await Deno.open(temp);
      let stored;
      try {
        stored = await writeStored(this.#store, keys.data, file.readable);
      } finally {
        try {
          file.close();
        } catch {
          // closed by its stream
        }
      }
      const header = wal.header ?? {
        pageSize: 0,
        salt1: 0,
        salt2: 0,
        checkpointSequence: 0,
        bigEndian: false,
      };
      const manifest: SnapshotManifest = {
        formatVersion: 1,
        generation: id,
        takenAt: takenAt.toISOString(),
        wal: {
          pageSize: header.pageSize,
          salt1: header.salt1,
          salt2: header.salt2,
          checkpointSequence: header.checkpointSequence,
          bigEndian: header.bigEndian,
        },
        checksum: [...this.#checksum],
        size,
        stored: { key: stored.key, sha256: stored.sha256, size: stored.size },
      };
      await writeManifest(this.#store, keys.manifest, manifest);
      return id;
    } finally {
      await Deno.remove(temp).catch(() => {});
    }
  }
}

/**
 * Writes each frame's page of `bytes` (frames as in the WAL) at its place in the database file
 * `path`, then cuts the file to the last commit frame's size. Returns the file's new size.
 */
export async function applyToFile(
  path: string,
  bytes: Uint8Array,
  frames: readonly WalFrame[],
  pageSize: number,
): Promise<number> {
  const file = await Deno.open(path, { read: true, write: true });
  try {
    let size = (await file.stat()).size;
    for (const frame of frames) {
      const page = bytes.subarray(
        frame.offset + FRAME_HEADER_BYTES,
        frame.offset + FRAME_HEADER_BYTES + pageSize,
      );
      await file.seek((frame.pageNumber - 1) * pageSize, Deno.SeekMode.Start);
      await writeAll(file, page);
      if (frame.commitSize !== 0) size = frame.commitSize * pageSize;
    }
    await file.truncate(size);
    return size;
  } finally {
    file.close();
  }
}

async function readExactly(file: Deno.FsFile, into: Uint8Array): Promise<void> {
  let read = 0;
  while (read < into.length) {
    const n = await file.read(into.subarray(read));
    if (n === null) throw new Error("the WAL ended while it was read");
    read += n;
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}
