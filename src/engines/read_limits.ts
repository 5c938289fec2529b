/**
 * How much a restore reads before it calls the input hostile. A backup is input: a small gzip
 * can expand to many GB, and one endless statement would grow a reader's buffer without end.
 * The bounds come from what the sidecar says our dump wrote, with room to spare; a forged
 * sidecar can raise them, never past SQLite's own statement limit.
 */
import type { ExpectedContent } from "./engine.ts";

/** Limits of one restore's reading; see {@linkcode readLimits}. */
export interface ReadLimits {
  /** Decompressed SQL bytes past which the input is refused. */
  maxSqlBytes: number;
  /** Bytes one statement (or one COPY row) may take. */
  maxStatementBytes: number;
}

/** Slack over the sidecar's raw size: a limit, not a check of the size (the checksum is that). */
export const RAW_SIZE_MARGIN = 1 << 20;
/**
 * The least statement limit. Our dumps aim at 1 MiB per INSERT (`_dump_pages.ts`) and longer
 * statements hold one big row, never more than its table's data; schema statements are small.
 */
export const MIN_STATEMENT_BYTES = 16 << 20;
/** SQLite's SQLITE_MAX_SQL_LENGTH default: no longer statement can run anyway. */
export const MAX_STATEMENT_BYTES = 1_000_000_000;

/**
 * The limits for a backup whose sidecar says `expected`: the raw size plus 1 MiB, and a
 * statement of at most its largest table's data plus 1 MiB (at least 16 MiB, at most SQLite's
 * 1e9 bytes). Without a sidecar: no size limit, statements up to 1e9 bytes.
 */
export function readLimits(expected?: ExpectedContent): ReadLimits {
  if (expected === undefined) {
    return { maxSqlBytes: Infinity, maxStatementBytes: MAX_STATEMENT_BYTES };
  }
  const largest = Math.max(0, ...expected.tables.map((t) => t.bytes));
  return {
    maxSqlBytes: expected.rawBytes + RAW_SIZE_MARGIN,
    maxStatementBytes: Math.min(
      MAX_STATEMENT_BYTES,
      Math.max(MIN_STATEMENT_BYTES, largest + RAW_SIZE_MARGIN),
    ),
  };
}
