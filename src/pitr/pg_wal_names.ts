/**
 * PostgreSQL's WAL file names, read as the server writes them, and the gaps in an archive of
 * them: pure functions, so the rules that decide "this archive can restore" are tested by tables.
 *
 * A segment is `TTTTTTTTLLLLLLLLSSSSSSSS` (timeline, then the segment number split in "log" and
 * "seg" halves, hex); beside segments the archive holds `TTTTTTTT.history` (a timeline's
 * ancestry), `<segment>.XXXXXXXX.backup` (a base backup's label) and `<segment>.partial` (the
 * last, unfinished segment of a timeline a promotion left).
 */

/** What a name in the archive is. */
export type WalFileKind = "segment" | "history" | "backup" | "partial";

/** A parsed WAL file name. */
export interface WalFileName {
  name: string;
  kind: WalFileKind;
  timeline: number;
  /** The segment's position in the log (with {@linkcode segmentNumber}); absent for history. */
  log?: number;
  seg?: number;
}

const SEGMENT = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;
const HISTORY = /^([0-9A-F]{8})\.history$/;
const BACKUP = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})\.[0-9A-F]{8}\.backup$/;
const PARTIAL = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})\.partial$/;

/** The name parsed, or `undefined` for anything the archiver never sends. */
export function parseWalFileName(name: string): WalFileName | undefined {
  const history = HISTORY.exec(name);
  if (history) return { name, kind: "history", timeline: parseInt(history[1], 16) };
  for (
    const [kind, pattern] of [["segment", SEGMENT], ["backup", BACKUP], [
      "partial",
      PARTIAL,
    ]] as const
  ) {
    const match = pattern.exec(name);
    if (match) {
      return {
        name,
        kind,
        timeline: parseInt(match[1], 16),
        log: parseInt(match[2], 16),
        seg: parseInt(match[3], 16),
      };
    }
  }
  return undefined;
}

/** Segments in one "log" (4 GiB of WAL) at `segmentSize` bytes a segment. */
function segmentsPerLog(segmentSize: number): number {
  return 0x100000000 / segmentSize;
}

/** The absolute number of a segment (`log * segments per log + seg`). */
export function segmentNumber(file: Pick<WalFileName, "log" | "seg">, segmentSize: number): number {
  return (file.log ?? 0) * segmentsPerLog(segmentSize) + (file.seg ?? 0);
}

const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, "0");

/** The name of segment `number` of `timeline`. */
export function segmentName(timeline: number, number: number, segmentSize: number): string {
  const perLog = segmentsPerLog(segmentSize);
  return hex8(timeline) + hex8(Math.floor(number / perLog)) + hex8(number % perLog);
}

/** An LSN (`16/B374D848`) as a number of bytes (exact below 2^53: 8 PiB of WAL). */
export function parseLsn(lsn: string): number {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn.trim());
  if (!match) throw new Error(`"${lsn}" is not a WAL position (expected like 0/3000028)`);
  return parseInt(match[1], 16) * 0x100000000 + parseInt(match[2], 16);
}

/** The segment holding the byte at `lsn`. */
export function segmentOfLsn(lsn: number, segmentSize: number): number {
  return Math.floor(lsn / segmentSize);
}

/** Missing segments of one timeline, from `first` to `last` inclusive (names). */
export interface WalGap {
  timeline: number;
  first: string;
  last: string;
  /** How many segments are missing. */
  count: number;
}

/**
 * The runs of segment numbers missing from `byNumber` (number to the name archived for it, on
 * whichever timeline) between `start` (a base backup's first segment) and the newest (pure).
 */
export function chainGaps(
  byNumber: ReadonlyMap<number, string>,
  start: number,
  size: number,
): WalGap[] {
  const numbers = [...byNumber.keys()].filter((n) => n >= start).sort((a, b) => a - b);
  const gaps: WalGap[] = [];
  let previous = start - 1;
  for (const n of numbers) {
    if (n > previous + 1) {
      const timeline = parseWalFileName(byNumber.get(n)!)!.timeline;
      gaps.push({
        timeline,
        first: segmentName(timeline, previous + 1, size),
        last: segmentName(timeline, n - 1, size),
        count: n - previous - 1,
      });
    }
    previous = n;
  }
  return gaps;
}

/**
 * The archive's segments and partials by number from `start` on, on `timeline` and later ones,
 * as recovery to the latest timeline reads them: a promotion continues the numbers on a newer
 * timeline, whose files win from its first one on; an older timeline's files past that point
 * (an old primary that kept writing) are not on the way.
 */
export function segmentsByNumber(
  names: readonly string[],
  timeline: number,
  start: number,
  size: number,
): Map<number, string> {
  const firstOf = new Map<number, number>(); // timeline -> its first segment number
  for (const name of names) {
    const file = parseWalFileName(name);
    if (!file || (file.kind !== "segment" && file.kind !== "partial")) continue;
    const n = segmentNumber(file, size);
    firstOf.set(file.timeline, Math.min(firstOf.get(file.timeline) ?? n, n));
  }
  const superseded = (t: number, n: number) =>
    [...firstOf].some(([other, first]) => other > t && other >= timeline && first <= n);
  const byNumber = new Map<number, string>();
  for (const name of [...names].sort()) {
    const file = parseWalFileName(name);
    if (!file || (file.kind !== "segment" && file.kind !== "partial")) continue;
    if (file.timeline < timeline) continue;
    const n = segmentNumber(file, size);
    if (n < start || superseded(file.timeline, n)) continue;
    const held = byNumber.get(n);
    // a full segment beats the .partial of the same number and timeline
    if (held && parseWalFileName(held)!.timeline === file.timeline && file.kind === "partial") {
      continue;
    }
    byNumber.set(n, name);
  }
  return byNumber;
}
