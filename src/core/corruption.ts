/**
 * What is wrong with a backup's data file, told from what was observed: its size, its SHA-256,
 * the SHA-256 of its first bytes, the start of its SQL and the other backups in the store. Pure:
 * `data_diagnosis.ts` gathers the facts, this module names the damage, so every front end
 * (`verify`, `restore`, `copy`, the API) says the same words for the same damage.
 */
import { gunzipSync, zstdDecompressSync } from "node:zlib";
import type { Compression } from "./compression.ts";

/** The engines a backup may come from, as the sidecar names them. */
export type EngineKind = "sqlite" | "postgres";

/** Where a piece of SQL comes from, told by its first lines. */
export type SqlOrigin = EngineKind | "foreign";

/** What the sidecar records and what the store holds, for {@linkcode diagnoseData}. */
export interface DataFacts {
  /** The sidecar's size, SHA-256 and engine. */
  recorded: { size: number; sha256: string; engine: EngineKind };
  /** The stored file's size; its SHA-256 and that of its first `recorded.size` bytes if known. */
  actual: { size: number; sha256?: string; prefixSha256?: string };
  /** Another backup in the same store whose sidecar records `actual.sha256`. */
  swappedWith?: string;
  /**
   * The key of the file whose bytes these are, when that is a part, or another file of the same
   * backup (two parts swapped): then the message names the file, not only the backup.
   */
  swappedFile?: string;
  /** Where the SQL at the start of the file comes from, when it could be decompressed. */
  origin?: SqlOrigin;
}

/** The kinds of damage a data file can have, each with its own message. */
export type CorruptionKind =
  | "empty"
  | "swapped"
  | "foreign"
  | "other-engine"
  | "truncated"
  | "appended"
  | "replaced"
  | "damaged";

/** One damage: its kind and what to say after `its data file "NAME"`. */
export interface Diagnosis {
  kind: CorruptionKind;
  /** A phrase: `is truncated (10 of 20 bytes)`. */
  detail: string;
  /** What the user can do about it. */
  advice: string;
}

const ENGINE_NAMES: Record<EngineKind, string> = { sqlite: "SQLite", postgres: "PostgreSQL" };

/** `SQLite` or `PostgreSQL`, as people write them. */
export function engineName(engine: EngineKind): string {
  return ENGINE_NAMES[engine];
}

const ANOTHER = "restore another backup";

/**
 * Names the damage of a data file whose size or SHA-256 differs from its sidecar (or whose SQL is
 * not what the sidecar says), most specific first: empty, another backup's file, not our SQL, the
 * other engine's SQL, then by size: shorter, longer, the same size.
 */
export function diagnoseData(facts: DataFacts): Diagnosis {
  const { recorded, actual } = facts;
  if (actual.size === 0) {
    return {
      kind: "empty",
      detail: `is empty (0 bytes, the sidecar records ${recorded.size})`,
      advice: ANOTHER,
    };
  }
  if (facts.swappedFile !== undefined) {
    return {
      kind: "swapped",
      detail: `holds the data of "${facts.swappedFile}" (files swapped)`,
      advice: "give each data file its own name, or restore another backup",
    };
  }
  if (facts.swappedWith !== undefined) {
    return {
      kind: "swapped",
      detail: `holds backup "${facts.swappedWith}"'s data (files swapped)`,
      advice: "give each data file its own backup's name, or restore another backup",
    };
  }
  if (facts.origin === "foreign") {
    return {
      kind: "foreign",
      detail: "is not a backup-manager dump (its SQL has no backup-manager header)",
      advice: ANOTHER,
    };
  }
  if (facts.origin !== undefined && facts.origin !== recorded.engine) {
    return {
      kind: "other-engine",
      detail: `holds a ${engineName(facts.origin)} dump, the sidecar describes a ${
        engineName(recorded.engine)
      } backup`,
      advice: ANOTHER,
    };
  }
  if (actual.size < recorded.size) {
    return {
      kind: "truncated",
      detail: `is truncated (${actual.size} of ${recorded.size} bytes)`,
      advice: "an upload or copy stopped early; " + ANOTHER,
    };
  }
  if (actual.size > recorded.size) {
    const extra = actual.size - recorded.size;
    if (actual.prefixSha256 === recorded.sha256) {
      return {
        kind: "appended",
        detail:
          `has ${extra} bytes appended after its end (its first ${recorded.size} bytes match)`,
        advice: `cut it to ${recorded.size} bytes, or ${ANOTHER}`,
      };
    }
    return {
      kind: "replaced",
      detail:
        `is not the file the sidecar describes (${actual.size} bytes, the sidecar records ${recorded.size})`,
      advice: ANOTHER,
    };
  }
  if (actual.sha256 !== undefined && actual.sha256 === recorded.sha256) {
    // only the SQL's origin can be wrong here, and that was handled above
    return { kind: "damaged", detail: "holds SQL the sidecar does not describe", advice: ANOTHER };
  }
  return {
    kind: "damaged",
    detail: `is damaged (bytes changed: ${actual.size} bytes as recorded, but another SHA-256)`,
    advice: ANOTHER,
  };
}

/**
 * What a cheap look (a listing: sizes, no hash) can tell of a data file whose size differs from
 * the sidecar's; `undefined` when the sizes agree. Longer files are not judged further here:
 * appended bytes and another file look the same until `verify` hashes them.
 */
export function diagnoseSize(recorded: number, actual: number): Diagnosis | undefined {
  if (actual === recorded) return undefined;
  if (actual === 0) {
    return {
      kind: "empty",
      detail: `is empty (0 bytes, the sidecar records ${recorded})`,
      advice: ANOTHER,
    };
  }
  if (actual < recorded) {
    return {
      kind: "truncated",
      detail: `is truncated (${actual} of ${recorded} bytes)`,
      advice: "an upload or copy stopped early; " + ANOTHER,
    };
  }
  return {
    kind: "replaced",
    detail: `has ${actual - recorded} bytes more than the ${recorded} the sidecar records`,
    advice: "run verify to tell appended bytes from another file",
  };
}

/** The one-line message of a damaged data file: `Cannot restore backup "x": its data file …`. */
export function corruptionMessage(
  action: string,
  id: string,
  file: string,
  diagnosis: Diagnosis,
): string {
  return `Cannot ${action} backup "${id}": its data file "${file}" ${diagnosis.detail}; ${diagnosis.advice}`;
}

/** The one-line message of a data file that is not in the store. */
export function missingDataMessage(action: string, id: string, file: string): string {
  return `Cannot ${action} backup "${id}": its data file "${file}" is missing; ${ANOTHER}`;
}

/** Why a backup of one engine is refused by the other: `a SQLite backup cannot restore into PostgreSQL`. */
export function engineMismatchMessage(
  action: string,
  id: string,
  backup: EngineKind,
  target: EngineKind,
): string {
  return `Cannot ${action} backup "${id}": a ${engineName(backup)} backup cannot restore into ${
    engineName(target)
  } (choose a ${engineName(target)} backup, or a ${engineName(backup)} --database)`;
}

/** The SQLite dump's first line (`src/engines/sqlite/_dump.ts`). */
const SQLITE_HEADER = "-- backup-manager SQLite dump\n";
/** The line of a PostgreSQL dump that names us (`src/engines/postgres/_script.ts`). */
const POSTGRES_HEADER =
  /^--\n-- PostgreSQL database dump\n--\n\n-- Dumped from database version [^\n]*\n-- Dumped by backup-manager \(/;

/**
 * Where SQL that starts with `head` comes from: our SQLite dump, our PostgreSQL dump, or anything
 * else (a `pg_dump` or `sqlite3 .dump` file, text, junk). `head` needs the first 300 characters.
 */
export function sqlOrigin(head: string): SqlOrigin {
  if (head.startsWith(SQLITE_HEADER)) return "sqlite";
  if (POSTGRES_HEADER.test(head)) return "postgres";
  return "foreign";
}

/** Stored bytes {@linkcode sqlHead} looks at: enough for the header through any compression. */
export const HEAD_BYTES = 4096;

/**
 * The start of the SQL in `stored` (the first bytes of a data file, compressed as `format`), or
 * `undefined` when they do not decompress (the damage is then told by size and hash). A cut
 * stream decompresses as far as it goes; the output is bounded.
 */
export function sqlHead(stored: Uint8Array, format: Compression): string | undefined {
  const input = stored.subarray(0, HEAD_BYTES);
  let sql: Uint8Array;
  try {
    if (format === "gzip") {
      sql = gunzipSync(input, { finishFlush: 2, /* Z_SYNC_FLUSH */ maxOutputLength: 1 << 22 });
    } else if (format === "zstd") {
      sql = zstdDecompressSync(input, { maxOutputLength: 1 << 22 });
    } else sql = input;
  } catch {
    return undefined;
  }
  if (sql.length === 0) return undefined;
  return new TextDecoder().decode(sql.subarray(0, 512));
}
