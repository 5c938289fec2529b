/**
 * `verify --pitr`: every object of a point-in-time store read back and checked, as `verify` does
 * for dumps. Each stored object against the SHA-256 its manifest recorded (always possible, even
 * encrypted), then, when it can be read (not encrypted, or with the identity), decompressed to
 * its recorded size and SHA-256 (WAL files) and, for a base backup, its tar read to the end.
 * The chains are checked from the manifests: SQLite segments in sequence with their checksums
 * continuing from the snapshot, PostgreSQL's WAL without a gap after the oldest base backup.
 */
import { createHash } from "node:crypto";
import type { Storage } from "../storage/storage.ts";
import { messageOf } from "../core/errors.ts";
import { checkTar } from "../core/files/tar_read.ts";
import {
  listGenerations,
  listSegments,
  readStored,
  type StoredObject,
} from "./sqlite_pitr_store.ts";
import { listBaseBackups } from "./pg_base_backup.ts";
import { archivedNames, listArchive } from "./pg_wal_archive.ts";
import { chainGaps, parseWalFileName, segmentNumber, segmentsByNumber } from "./pg_wal_names.ts";

/** One finding. */
export interface PitrCheck {
  /** The object's key, or what was checked (`chain …`). */
  what: string;
  ok: boolean;
  detail: string;
}

/** What the store held and what failed. */
export interface PitrVerifyReport {
  objects: number;
  /** Objects whose content could only be checksummed (encrypted, no identity). */
  checksumOnly: number;
  failures: PitrCheck[];
}

/** Verifies every object and chain in `store`. */
export async function verifyPitrStore(
  store: Storage,
  identities: string[] = [],
  onObject?: (done: number) => void,
): Promise<PitrVerifyReport> {
  const report: PitrVerifyReport = { objects: 0, checksumOnly: 0, failures: [] };
  const check = async (stored: StoredObject, expect: Expect) => {
    report.objects++;
    onObject?.(report.objects);
    try {
      const full = await checkObject(store, stored, identities, expect);
      if (!full) report.checksumOnly++;
    } catch (error) {
      report.failures.push({ what: stored.key, ok: false, detail: messageOf(error) });
    }
  };
  for (const generation of await listGenerations(store)) {
    await check(generation.stored, { size: generation.size });
    let previous: { sequence: number; end: [number, number] } | undefined;
    let chainBroken = false;
    for (const segment of await listSegments(store, generation.generation)) {
      await check(segment.stored, { size: segment.stored.raw });
      const expected = previous ? previous.sequence + 1 : 1;
      const start = previous?.end ?? generation.checksum;
      const broken = segment.sequence !== expected
        ? `segment ${expected} is missing (a restore stops before it)`
        : !segment.restart && String(segment.startChecksum) !== String(start)
        ? `segment ${segment.sequence} does not continue the chain (a restore stops before it)`
        : undefined;
      if (broken && !chainBroken) {
        report.failures.push({ what: `chain ${generation.generation}`, ok: false, detail: broken });
        chainBroken = true; // once per generation: what follows a hole is unreachable anyway
      }
      previous = { sequence: segment.sequence, end: segment.endChecksum };
    }
  }
  const bases = await listBaseBackups(store);
  for (const base of bases) await check(base.stored, { size: base.stored.raw, tar: true });
  for (const wal of await listArchive(store)) {
    await check(wal.stored, { size: wal.size, sha256: wal.sha256 });
  }
  if (bases.length > 0) {
    const size = bases[0].walSegmentSize;
    const start = segmentNumber(parseWalFileName(bases[0].startWal)!, size);
    const byNumber = segmentsByNumber(await archivedNames(store), bases[0].timeline, start, size);
    for (const gap of chainGaps(byNumber, start, size)) {
      report.failures.push({
        what: "WAL chain",
        ok: false,
        detail: `${gap.first}${gap.count > 1 ? ` to ${gap.last}` : ""} missing`,
      });
    }
  }
  return report;
}

/** What an object must decompress to. */
interface Expect {
  size?: number;
  sha256?: string;
  tar?: boolean;
}

/** Checks one object; `false` when only its stored bytes could be checked. */
async function checkObject(
  store: Storage,
  stored: StoredObject,
  identities: string[],
  expect: Expect,
): Promise<boolean> {
  if (stored.encrypted && identities.length === 0) {
    const hash = createHash("sha256");
    for await (const chunk of await store.read(stored.key)) hash.update(chunk);
    if (hash.digest("hex") !== stored.sha256) {
      throw new Error("does not match its recorded SHA-256");
    }
    return false;
  }
  const hash = createHash("sha256");
  let size = 0;
  const content = (async function* () {
    for await (const chunk of readStored(store, stored, identities)) {
      hash.update(chunk);
      size += chunk.byteLength;
      yield chunk;
    }
  })();
  if (expect.tar) await checkTar(content);
  else for await (const _ of content) { /* read to the end: the checks run as it is read */ }
  if (expect.size !== undefined && size !== expect.size) {
    throw new Error(`decompresses to ${size} bytes, its manifest says ${expect.size}`);
  }
  if (expect.sha256 && hash.digest("hex") !== expect.sha256) {
    throw new Error("its content does not match the SHA-256 it was pushed with");
  }
  return true;
}
