/**
 * The database as of a moment, from what continuous replication shipped (`sqlite_replicator.ts`):
 * the newest generation whose snapshot stands for a time at or before the target, then its
 * segments in order, each checked (SHA-256, salts, the checksum chain from the previous segment's
 * end), applied up to the last commit seen at or before the target. A segment missing or damaged
 * ends the chain there: the result is the last correct state before it, and says so. The result
 * is written to a temporary file, passes `PRAGMA integrity_check`, and only then is renamed to
 * `output`.
 */
import { DatabaseSync } from "node:sqlite";
import { basename, dirname, join } from "node:path";
import { currentOwner, scratchFileName } from "../core/scratch_names.ts";
import { replaceDatabaseFile } from "../engines/sqlite/sqlite_engine.ts";
import type { Storage } from "../storage/storage.ts";
import { BackupNotFoundError, IntegrityError } from "../core/errors.ts";
import { readFrame, type WalFrame, type WalHeader } from "./sqlite_wal.ts";
import {
  listGenerations,
  listSegments,
  readStored,
  type SnapshotManifest,
} from "./sqlite_pitr_store.ts";
import { applyToFile, concat } from "./wal_file_io.ts";

/** What {@linkcode restoreSqliteAt} recovered. */
export interface PointInTimeResult {
  generation: string;
  /** Segments applied (wholly or up to the cut). */
  segments: number;
  /** Commits applied after the snapshot. */
  commits: number;
  /** The time the recovered state reflects: the last applied commit's (or the snapshot's). */
  reflects: string;
  /** Why the chain ended before the target, when it did (a gap or a damaged segment). */
  stoppedEarly?: string;
}

/** What a restore to a moment would use, from the manifests alone (nothing is read or written). */
export interface PointInTimePlan {
  generation: string;
  /** When the generation's snapshot stands for. */
  snapshotAt: string;
  /** Segments with commits at or before the target, in an unbroken sequence. */
  segments: number;
  commits: number;
  /** The time the recovered state would reflect. */
  reflects: string;
  /** Why the chain ends before the target, when a segment is missing. */
  stoppedEarly?: string;
}

/** The newest generation whose snapshot is at or before `target` (`latest`: the newest). */
async function generationFor(store: Storage, target: Date): Promise<SnapshotManifest> {
  const generation = (await listGenerations(store))
    .filter((g) => new Date(g.takenAt).getTime() <= target.getTime()).pop();
  if (!generation) {
    throw new BackupNotFoundError(
      `Cannot restore to ${target.toISOString()}: no replicated snapshot is that old (run replicate first, or pick a later time)`,
    );
  }
  return generation;
}

/** Says which snapshot and segments a restore to `target` would apply. */
export async function planSqliteAt(store: Storage, target: Date): Promise<PointInTimePlan> {
  const generation = await generationFor(store, target);
  const plan: PointInTimePlan = {
    generation: generation.generation,
    snapshotAt: generation.takenAt,
    segments: 0,
    commits: 0,
    reflects: generation.takenAt,
  };
  let expected = 1;
  for (const segment of await listSegments(store, generation.generation)) {
    if (segment.sequence !== expected++) {
      return { ...plan, stoppedEarly: `segment ${expected - 1} is missing` };
    }
    const inTime = segment.commits.filter((c) => new Date(c.seenAt).getTime() <= target.getTime());
    if (inTime.length === 0) break;
    plan.segments++;
    plan.commits += inTime.length;
    plan.reflects = inTime[inTime.length - 1].seenAt;
    if (inTime.length < segment.commits.length) break;
  }
  return plan;
}

/**
 * Writes the database as of `target` to `output`: built in a scratch file beside it (named as a
 * restore's, so an interrupted run's is swept), checked, then renamed over it as a restore does
 * (an existing `output` in use by another process is refused). `identities` (age) read what
 * an encrypting replicator stored.
 */
export async function restoreSqliteAt(
  store: Storage,
  target: Date,
  output: string,
  identities: string[] = [],
): Promise<PointInTimeResult> {
  const generation = await generationFor(store, target);
  await Deno.mkdir(dirname(output), { recursive: true });
  const temp = join(
    dirname(output),
    scratchFileName(basename(output), "restore", currentOwner(new Date())),
  );
  try {
    const out = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
    try {
      for await (const chunk of readStored(store, generation.stored, identities)) {
        let written = 0;
        while (written < chunk.length) written += await out.write(chunk.subarray(written));
      }
    } finally {
      out.close();
    }
    const result = await applySegments(store, generation, target, temp, identities);
    checkIntegrity(temp);
    await replaceDatabaseFile(temp, output);
    return result;
  } finally {
    for (const suffix of ["", "-wal", "-shm", "-journal"]) {
      await Deno.remove(temp + suffix).catch(() => {});
    }
  }
}

async function applySegments(
  store: Storage,
  generation: SnapshotManifest,
  target: Date,
  path: string,
  identities: string[],
): Promise<PointInTimeResult> {
  let header = { ...generation.wal, checksum: generation.checksum } as WalHeader;
  const frameBytes = 24 + header.pageSize;
  let previous: readonly [number, number] = generation.checksum;
  let reflects = generation.takenAt;
  let segments = 0;
  let commits = 0;
  let expected = 1;
  const stopped = (why: string): PointInTimeResult => ({
    generation: generation.generation,
    segments,
    commits,
    reflects,
    stoppedEarly: why,
  });
  for (const segment of await listSegments(store, generation.generation)) {
    if (segment.sequence !== expected) {
      return stopped(`segment ${expected} is missing`);
    }
    expected++;
    const inTime = segment.commits.filter((c) => new Date(c.seenAt).getTime() <= target.getTime());
    if (inTime.length === 0) break;
    if (segment.restart) {
      // the log restarted after every frame of the old one was shipped: a chain of its own
      header = { ...segment.restart.wal, checksum: segment.startChecksum } as WalHeader;
      previous = segment.startChecksum;
    } else if (
      segment.startChecksum[0] !== previous[0] || segment.startChecksum[1] !== previous[1]
    ) {
      return stopped(`segment ${segment.sequence} does not continue the chain`);
    }
    let bytes: Uint8Array;
    try {
      const chunks: Uint8Array[] = [];
      for await (const chunk of readStored(store, segment.stored, identities)) chunks.push(chunk);
      bytes = concat(chunks);
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      return stopped(`segment ${segment.sequence} is damaged`);
    }
    const last = inTime[inTime.length - 1];
    const frames: WalFrame[] = [];
    let chain = previous;
    for (let i = 0; i <= last.frame; i++) {
      const frame = readFrame(bytes, i * frameBytes, i, header, chain);
      if (!frame) {
        return stopped(`segment ${segment.sequence} fails its frame checks at frame ${i}`);
      }
      frames.push(frame);
      chain = frame.checksum;
    }
    await applyToFile(path, bytes, frames, header.pageSize);
    segments++;
    commits += inTime.length;
    reflects = last.seenAt;
    previous = chain;
    if (inTime.length < segment.commits.length) break; // the target falls inside this segment
  }
  return { generation: generation.generation, segments, commits, reflects };
}

function checkIntegrity(path: string): void {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const rows = db.prepare("PRAGMA integrity_check").all().map((r) => String(r.integrity_check));
    if (rows.length !== 1 || rows[0] !== "ok") {
      throw new IntegrityError(
        `The recovered database fails integrity_check: ${rows[0]} (nothing was written)`,
      );
    }
  } finally {
    db.close();
  }
}
