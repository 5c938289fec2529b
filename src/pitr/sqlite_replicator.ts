/**
 * Continuous replication of a SQLite database in WAL mode (issue 13), after Litestream's design:
 * the replicator always holds a read transaction on a connection of its own (renewed after each
 * step), so the application's checkpoints (TRUNCATE ones too) copy frames into the database file
 * but cannot restart the log under it; each `step()` reads the frames appended since the last one
 * straight from the `-wal` file, checks their salts and checksum chain (`sqlite_wal.ts`), and
 * ships those up to the last commit as one segment. Past `checkpointBytes` of log it checkpoints
 * the log itself with the application's writers held off (the write lock taken on a second
 * connection) after shipping everything, so the next write restarts the log from a fully shipped
 * state: the next step ships what is left of the old log and continues the same generation in the
 * new one. A log restarted in any other way (restarted twice, rewritten, or overwriting frames
 * past what was shipped) is never continued: a new generation starts with a fresh snapshot, so a
 * chain with a hole is never shipped. The replicator only reads the application's data.
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
  WAL_HEADER_BYTES,
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
import {
  applyToFile,
  type CommittedFrames,
  logEnd,
  readCommittedFrames,
  readExactly,
  walBytesUpTo,
  walIdentity,
} from "./wal_file_io.ts";
import { pruneGenerations, sweepReplicationStore } from "./sqlite_pitr_retention.ts";

/** Options of {@linkcode SqliteReplicator}. */
export interface ReplicatorOptions {
  clock: Clock;
  /** At most this many WAL bytes are read by one step (the rest waits for the next). Default 64 MiB. */
  maxStepBytes?: number;
  /**
   * Once this many bytes of the current log are shipped, the replicator checkpoints the log
   * itself so it can restart (the held read transaction keeps the application's checkpoints from
   * restarting it). Default 4 MiB (about SQLite's 1,000-page autocheckpoint).
   */
  checkpointBytes?: number;
  /** How long the replicator waits for the application's write lock. Default 5 000 ms. */
  busyTimeoutMs?: number;
  /** A generation this old gets a new snapshot (a new generation). Default 24 h. */
  snapshotEveryMs?: number;
  /** Generations whose span ended longer ago than this are removed. Default 7 days. */
  keepMs?: number;
  /** age recipients: snapshots and segments are stored encrypted for them. Default none. */
  recipients?: string[];
}

/** What one step did. */
export interface StepResult {
  /** A new generation was started (first step, or the log was restarted by someone else). */
  newGeneration?: { id: string; reason: string };
  /** Frames and commits shipped by this step. */
  frames: number;
  commits: number;
  /** The replicator checkpointed the log (it restarts with the next write). */
  checkpointed?: boolean;
}

/** Replicates one database into `store`; `step()` on a timer, `close()` at the end. */
export class SqliteReplicator {
  readonly #path: string;
  readonly #store: Storage;
  readonly #clock: Clock;
  readonly #maxStepBytes: number;
  readonly #checkpointBytes: number;
  readonly #busyTimeoutMs: number;
  readonly #snapshotEveryMs: number;
  readonly #keepMs: number;
  readonly #recipients: string[];
  #generationAt = 0;
  #swept = false;
  #db: DatabaseSync | undefined;
  #held = false;
  #generation: string | undefined;
  #header: WalHeader | undefined;
  /** Offset of the next frame to read in the WAL file. */
  #offset = WAL_HEADER_BYTES;
  #checksum: [number, number] = [0, 0];
  #sequence = 0;
  /** The next segment starts a restarted log of the same generation (this header). */
  #restarted: WalHeader | undefined;
  /** The replicator's own checkpoint left the log to be restarted: every old frame is shipped. */
  #expectRestart = false;

  constructor(path: string, store: Storage, options: ReplicatorOptions) {
    this.#path = path;
    this.#store = store;
    this.#clock = options.clock;
    this.#maxStepBytes = options.maxStepBytes ?? 64 << 20;
    this.#checkpointBytes = options.checkpointBytes ?? 4 << 20;
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 5_000;
    this.#snapshotEveryMs = options.snapshotEveryMs ?? 24 * 3600_000;
    this.#keepMs = options.keepMs ?? 7 * 24 * 3600_000;
    this.#recipients = options.recipients ?? [];
  }

  /** The generation being extended. */
  get generation(): string | undefined {
    return this.#generation;
  }

  /** Ships what was committed since the last step (the first step takes the snapshot). */
  async step(): Promise<StepResult> {
    if (!this.#swept) {
      await sweepReplicationStore(this.#store, this.#clock.now());
      this.#swept = true;
    }
    this.#hold();
    const wal = await this.#readWalHead();
    let reason = await this.#restartReason(wal);
    if (
      reason === undefined &&
      this.#clock.now().getTime() - this.#generationAt >= this.#snapshotEveryMs
    ) {
      await this.#shipAll(); // the old generation ends with everything committed so far
      reason = "the scheduled snapshot (pitr.snapshotEvery)";
    }
    if (reason !== undefined) {
      const id = await this.#newGeneration(await this.#readWalHead());
      this.#renew();
      await pruneGenerations(this.#store, this.#clock.now(), this.#keepMs);
      return { newGeneration: { id, reason }, frames: 0, commits: 0 };
    }
    const shipped = await this.#shipAll();
    let checkpointed = false;
    if (this.#offset - WAL_HEADER_BYTES >= this.#checkpointBytes) {
      checkpointed = await this.#checkpoint();
    }
    // a fresh snapshot: the application's checkpoints may copy what is shipped into the file,
    // and the held read still keeps the log from restarting
    this.#renew();
    return { ...shipped, ...(checkpointed ? { checkpointed } : {}) };
  }

  /** Ships what is committed, then lets go of the database. */
  async close(): Promise<void> {
    try {
      if (this.#generation) await this.step();
    } finally {
      if (this.#held) this.#db?.exec("COMMIT");
      this.#held = false;
      this.#db?.close();
      this.#db = undefined;
    }
  }

  #hold(): void {
    if (!this.#db) {
      this.#db = new DatabaseSync(this.#path, { timeout: this.#busyTimeoutMs });
      const mode = String(this.#db.prepare("PRAGMA journal_mode").get()?.journal_mode);
      if (mode !== "wal") {
        this.#db.close();
        this.#db = undefined;
        throw new Error(`"${this.#path}" is in ${mode} journal mode: replication needs WAL`);
      }
    }
    if (this.#held) return;
    this.#db.exec("BEGIN");
    // the first read takes the snapshot that keeps the log from being restarted
    this.#db.prepare("SELECT count(*) FROM sqlite_schema").get();
    this.#held = true;
  }

  /** Ends the read transaction and takes a new one at once. */
  #renew(): void {
    if (this.#held) this.#db!.exec("COMMIT");
    this.#held = false;
    this.#hold();
  }

  /**
   * Checkpoints the whole log so that it restarts, never continuing the generation over a hole:
   * after shipping everything, a RESTART checkpoint (which holds the application's writers off
   * while it waits for readers, for at most the busy timeout) copies the log into the database
   * file; what was committed between the shipping and the checkpoint is shipped right after.
   * Only when the shipped frames reach the end the checkpoint reported (`log` frames) does the
   * next step continue the generation in the new log; otherwise (a writer faster than the store,
   * whose restarted log may overwrite the old tail while it is shipped) the next step treats it
   * as a restart by someone else: it ships what is left or, when the new log overwrote it, starts
   * a new generation.
   */
  async #checkpoint(): Promise<boolean> {
    await this.#shipAll();
    this.#db!.exec("COMMIT");
    this.#held = false;
    const result = this.#db!.prepare("PRAGMA wal_checkpoint(RESTART)").get()!;
    if (Number(result.busy) !== 0) return false; // readers or writers did not let go: next time
    await this.#shipAll(); // the old log's last commits, before the new log can overwrite them
    const frameBytes = FRAME_HEADER_BYTES + this.#header!.pageSize;
    this.#expectRestart = this.#offset >= WAL_HEADER_BYTES + Number(result.log) * frameBytes;
    return true;
  }

  /**
   * Ships the commits in the log as it is now: up to its size when the call began, so a writer
   * that commits faster than segments are stored cannot keep the step going forever (the step
   * would never end, never checkpoint, and the log would grow without bound).
   */
  async #shipAll(): Promise<{ frames: number; commits: number }> {
    let frames = 0;
    let commits = 0;
    let limit: number;
    try {
      limit = (await Deno.stat(`${this.#path}-wal`)).size;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return { frames, commits };
      throw error;
    }
    for (;;) {
      const shipped = await this.#shipFrames(limit);
      if (shipped.frames === 0) return { frames, commits };
      frames += shipped.frames;
      commits += shipped.commits;
    }
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

  /**
   * Why the log cannot be continued (a new generation is needed), or `undefined`. A log that
   * restarted (the checkpoint sequence one more, new salts) continues the generation when what
   * is left of the old log past the shipped frames is still in the file: it is shipped first.
   */
  async #restartReason(wal: { header?: WalHeader; size: number }): Promise<string | undefined> {
    const current = this.#header;
    if (!this.#generation) return "the first snapshot";
    if (!wal.header) return wal.size === 0 ? undefined : "the WAL header was cut";
    if (!current) return "the WAL appeared";
    const h = wal.header;
    const sameLog = h.salt1 === current.salt1 && h.salt2 === current.salt2 &&
      h.checkpointSequence === current.checkpointSequence;
    if (sameLog) {
      return wal.size < this.#offset ? "the WAL is shorter than what was shipped" : undefined;
    }
    if (
      h.checkpointSequence !== current.checkpointSequence + 1 || h.pageSize !== current.pageSize
    ) {
      return "the WAL was restarted more than once, or rewritten, between two steps";
    }
    if (!this.#expectRestart) {
      // restarted by someone else: the old log's end must still be there to be shipped, and
      // still be there once it is (the new log grows over the old one while it is read)
      const overwritten = async () =>
        logEnd(await walBytesUpTo(`${this.#path}-wal`, this.#offset + 64 * 1024 * 1024), h) >
          this.#offset;
      if (await overwritten()) return "the WAL was restarted and overwrote frames not yet shipped";
      await this.#shipAll(); // the old log's last commits, under its old salts
      if (await overwritten()) {
        return "the WAL was restarted and overwrote frames while they were shipped";
      }
    }
    this.#expectRestart = false;
    this.#header = h;
    this.#offset = WAL_HEADER_BYTES;
    this.#checksum = [...h.checksum];
    this.#restarted = h;
    return undefined;
  }

  /** The committed frames after `#offset`, up to `limit` bytes of log and one step's bytes. */
  #readCommitted(limit: number): Promise<CommittedFrames | undefined> {
    return readCommittedFrames(`${this.#path}-wal`, {
      header: this.#header!,
      offset: this.#offset,
      checksum: this.#checksum,
      limit,
      maxBytes: this.#maxStepBytes,
    });
  }

  async #shipFrames(limit: number): Promise<{ frames: number; commits: number }> {
    const read = await this.#readCommitted(limit);
    if (!read) return { frames: 0, commits: 0 };
    const seenAt = this.#clock.now().toISOString();
    const commits = read.frames.filter((f) => f.commitSize !== 0).map((f) => ({
      frame: f.index,
      seenAt,
    }));
    const sequence = this.#sequence + 1;
    const keys = segmentKeys(this.#generation!, sequence);
    const stored = await writeStored(this.#store, keys.data, [read.bytes], this.#recipients);
    const endChecksum = read.frames[read.frames.length - 1].checksum;
    const restart = this.#restarted;
    const manifest: SegmentManifest = {
      formatVersion: 1,
      generation: this.#generation!,
      sequence,
      ...(restart ? { restart: { wal: walIdentity(restart) } } : {}),
      frames: read.frames.length,
      startChecksum: [...this.#checksum],
      endChecksum: [...endChecksum],
      commits,
      stored,
    };
    await writeManifest(this.#store, keys.manifest, manifest);
    this.#sequence = sequence;
    this.#restarted = undefined;
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
      this.#generationAt = now.getTime();
      this.#sequence = 0;
      this.#restarted = undefined;
      this.#expectRestart = false;
      this.#offset = WAL_HEADER_BYTES;
      this.#header = wal.header;
      this.#checksum = wal.header ? [...wal.header.checksum] : [0, 0];
      let size = (await Deno.stat(temp)).size;
      if (wal.header) {
        // apply the log's committed frames to the copy, in bounded reads, up to the log's size
        // when the copy began (a fast writer's later commits go to the first segment)
        const limit = Math.max(wal.size, (await Deno.stat(`${this.#path}-wal`)).size);
        for (;;) {
          const read = await this.#readCommitted(limit);
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
        stored = await writeStored(this.#store, keys.data, file.readable, this.#recipients);
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
        wal: walIdentity(header),
        checksum: [...this.#checksum],
        size,
        stored: {
          key: stored.key,
          sha256: stored.sha256,
          size: stored.size,
          ...(stored.encrypted ? { encrypted: true } : {}),
        },
      };
      await writeManifest(this.#store, keys.manifest, manifest);
      return id;
    } finally {
      await Deno.remove(temp).catch(() => {});
    }
  }
}
