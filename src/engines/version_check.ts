/**
 * Whether a target can take a backup, judged from what the sidecar recorded, before anything is
 * touched: a restore that fails halfway through a script, on a `CREATE TABLE ... STRICT` or a
 * catalog column an older PostgreSQL lacks, wastes the time of a person who is in a hurry.
 *
 * - PostgreSQL: the backup records the server version it was taken from (`engineVersion`). A
 *   target server of an older major version is refused: the script is written for the source's
 *   catalogs and syntax. It often loads anyway (pg_dump's output of a newer server frequently
 *   does), hence an override (`restore --ignore-version`) rather than a hard stop. Minor versions
 *   never change what can be created, and a newer target is always fine.
 * - SQLite: what matters is not the version that wrote the backup but the features its schema
 *   uses. The dump records them (sidecar `features`, found by `sqlite/_features.ts` in the schema
 *   statements) and the library that will load the backup must be at least as new as each.
 *   Backups made before features were recorded, and features this build does not know, are not
 *   checked.
 *
 * The functions here are pure; engines read the target's version (`Engine.targetVersion`).
 */

/** What a backup's sidecar says it needs of the target. */
export interface BackupFacts {
  /** Server (PostgreSQL) or library (SQLite) version the backup was taken with. */
  engineVersion: string;
  /** Features the backup's schema uses (SQLite; see {@linkcode SQLITE_FEATURES}). */
  features?: string[];
}

/** A version as numbers: `15.4 (Debian 15.4-1)` is `[15, 4]`, `3.45.1` is `[3, 45, 1]`. */
export type Version = number[];

/** Reads the leading dotted numbers of a version string; `undefined` when it has none. */
export function parseVersion(text: string): Version | undefined {
  const match = /^\s*(\d+(?:\.\d+)*)/.exec(text);
  return match ? match[1].split(".").map(Number) : undefined;
}

/** Negative, zero or positive as `a` is older than, the same as, or newer than `b`. */
export function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * A PostgreSQL major version as text: the first number since 10 (`15.4` is `15`), the first two
 * before (`9.6.24` is `9.6`).
 */
export function postgresMajor(version: Version): Version {
  return version[0] >= 10 ? version.slice(0, 1) : version.slice(0, 2);
}

/**
 * Why a PostgreSQL server of version `target` should not load a backup taken from
 * `backup.engineVersion`, or `undefined` when it can (same or newer major, or a version that
 * cannot be read).
 */
export function checkPostgresTarget(backup: BackupFacts, target: string): string | undefined {
  const source = parseVersion(backup.engineVersion);
  const server = parseVersion(target);
  if (!source || !server) return undefined;
  const [from, to] = [postgresMajor(source), postgresMajor(server)];
  if (compareVersions(to, from) >= 0) return undefined;
  return `it was taken from PostgreSQL ${from.join(".")} (${
    short(backup.engineVersion)
  }) and the target server runs the older PostgreSQL ${to.join(".")} (${
    short(target)
  }), which may not create what it holds`;
}

/** A SQLite feature a schema may use, and the first library version that has it. */
export interface SqliteFeature {
  /** In words, for messages: "STRICT tables". */
  label: string;
  /** First SQLite version with it. */
  since: string;
}

/**
 * The SQLite features a backup records, by id (sidecar `features`), with the release that
 * brought each. Only what a schema statement (table, index, view, trigger) can contain matters:
 * `RETURNING` and `DROP COLUMN` never appear in a schema, and `WITHOUT ROWID` (3.8.2) is older
 * than any library this tool runs with.
 */
export const SQLITE_FEATURES: Readonly<Record<string, SqliteFeature>> = {
  "upsert": { label: "upserts (ON CONFLICT ... DO) in triggers", since: "3.24.0" },
  "window-functions": { label: "window functions (OVER)", since: "3.25.0" },
  "nulls-first-last": { label: "NULLS FIRST/LAST", since: "3.30.0" },
  "generated-columns": { label: "generated columns", since: "3.31.0" },
  "function:iif": { label: "iif()", since: "3.32.0" },
  "strict": { label: "STRICT tables", since: "3.37.0" },
  "json-arrow": { label: "the -> and ->> operators", since: "3.38.0" },
  "function:unixepoch": { label: "unixepoch()", since: "3.38.0" },
  "function:format": { label: "format()", since: "3.38.0" },
  "right-full-join": { label: "RIGHT and FULL joins", since: "3.39.0" },
  "is-distinct-from": { label: "IS [NOT] DISTINCT FROM", since: "3.39.0" },
  "function:unhex": { label: "unhex()", since: "3.41.0" },
  "fts5-contentless-delete": { label: "FTS5 contentless_delete tables", since: "3.43.0" },
  "function:octet_length": { label: "octet_length()", since: "3.43.0" },
  "function:timediff": { label: "timediff()", since: "3.43.0" },
  "function:concat": { label: "concat()", since: "3.44.0" },
  "function:concat_ws": { label: "concat_ws()", since: "3.44.0" },
  "function:string_agg": { label: "string_agg()", since: "3.44.0" },
};

/**
 * Why a SQLite library of version `target` cannot load a backup whose schema uses
 * `backup.features`, naming each feature it lacks with the version that brought it; `undefined`
 * when it can (or nothing was recorded).
 */
export function checkSqliteTarget(backup: BackupFacts, target: string): string | undefined {
  const library = parseVersion(target);
  if (!library) return undefined;
  const missing = (backup.features ?? [])
    .flatMap((id) => SQLITE_FEATURES[id] ? [SQLITE_FEATURES[id]] : [])
    .filter((f) => compareVersions(library, parseVersion(f.since)!) < 0)
    .sort((a, b) => compareVersions(parseVersion(b.since)!, parseVersion(a.since)!));
  if (missing.length === 0) return undefined;
  const named = missing.map((f) => `${f.label} (${f.since})`);
  const list = named.length === 1
    ? named[0]
    : `${named.slice(0, -1).join(", ")} and ${named[named.length - 1]}`;
  return `the SQLite library here is ${short(target)} and cannot create ${list}, which its ` +
    "schema uses";
}

/** The first word of a version string (`15.4 (Debian 15.4-1.pgdg120+1)` is `15.4`). */
function short(version: string): string {
  return version.trim().split(/\s+/)[0];
}
