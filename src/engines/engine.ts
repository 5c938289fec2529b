/**
 * The seam between backups and databases. An engine knows one kind of database: how to read a
 * consistent snapshot of it as plain SQL, how to load such SQL back all-or-nothing, and how to
 * describe a database (tables, row counts) for dry runs and restore tests. It knows nothing of
 * backup files, checksums or retention; `src/core` does.
 *
 * A "location" is the engine's own address of one database: a file path for SQLite, a connection
 * URL for PostgreSQL. Engines never put secrets from a location into what they return.
 */
import type { BackupFacts } from "./version_check.ts";
import type {
  HealthAnswers,
  HealthQueries,
  MaintainOptions,
  MaintenanceReport,
} from "./maintenance.ts";
export type { BackupFacts };
import type { ServerCapability } from "./server_capability.ts";
import type { TableColumns } from "./table_columns.ts";
export type { ServerCapability };

export interface Engine {
  /** Which engine this is; recorded in sidecars. */
  readonly kind: EngineKind;
  /** The location with any secret removed, for messages, logs and sidecars. */
  redact(location: string): string;
  /**
   * The database's short name (a SQLite file's name, a PostgreSQL database's name): what a person
   * types to confirm a restore over HTTP.
   */
  databaseName(location: string): string;
  /** Whether the database at `location` exists (and can be reached). */
  exists(location: string): Promise<boolean>;
  /**
   * Whether an existing database holds no objects of its own. Engines that restore into an
   * existing database (PostgreSQL) implement it: an empty target is restored into without
   * replacing anything, a non-empty one only with `clean`. Absent: an existing target is always
   * replaced as a whole (SQLite).
   */
  isEmpty?(location: string): Promise<boolean>;
  /**
   * Tables, row counts, versions of the database; throws `DatabaseNotFoundError` if absent.
   * `signal` abandons it (exact row counts wait for a table another session locked).
   */
  describe(location: string, options?: { signal?: AbortSignal }): Promise<DatabaseInfo>;
  /**
   * Writes a consistent snapshot of the database as plain SQL to `sink`, chunk by chunk; resolves
   * with what was written once the last chunk has been accepted.
   */
  dump(location: string, sink: ChunkSink, options?: DumpOptions): Promise<DumpSummary>;
  /**
   * Loads gzip-compressed plain SQL (as `dump` writes it, compressed as backups store it) into
   * the database at `location`, all-or-nothing: on any error the target is exactly as it was.
   * The input stays compressed so the engine can decompress on another thread.
   */
  restore(
    location: string,
    gzippedSql: AsyncIterable<Uint8Array>,
    options?: RestoreOptions,
  ): Promise<RestoreSummary>;
  /** A fresh, empty database for restore tests, removed by `drop()`. */
  createScratch(): Promise<ScratchDatabase>;
  /**
   * Scratch things this engine's runs made for `location` (restore temporaries, load and
   * restore-test databases; named by `src/core/scratch_names.ts`) that are still there: a killed
   * run leaves them. Each says whether its owner can still be using it.
   */
  findScratch?(location: string, now: Date): Promise<ScratchLeftover[]>;
  /**
   * Removes one leftover that {@linkcode findScratch} found stale; one in use after all (a
   * database someone is connected to) is refused, never forced.
   */
  removeScratch?(location: string, leftover: ScratchLeftover): Promise<void>;
  /**
   * The version of what would load a backup into `location`: the PostgreSQL server's (from the
   * target database, or the server's maintenance database when the target does not exist yet),
   * the SQLite library's. A restore compares it with the backup's facts (`checkTarget`) before
   * it touches anything.
   */
  targetVersion?(location: string): Promise<string>;
  /**
   * Pure: why a target of version `target` cannot take a backup with `facts`, as a clause for
   * "Cannot restore backup ...: <it>", or `undefined` when it can (`version_check.ts`).
   */
  checkTarget?(facts: BackupFacts, target: string): string | undefined;
  /**
   * Routine maintenance of the database at `location` (`maintenance.ts`): SQLite optimize,
   * checkpoint, integrity check and a VACUUM when it is worth it; PostgreSQL VACUUM (ANALYZE) of
   * the tables that need it and the amcheck checks. Corruption is reported, not thrown.
   */
  maintain?(location: string, options?: MaintainOptions): Promise<MaintenanceReport>;
  /** Answers `check`'s read-only health queries (freshness, size, user SQL). */
  queryHealth?(location: string, queries: HealthQueries): Promise<HealthAnswers>;
  /** The columns of every table of the live database, read-only, for `diff`. */
  columns?(location: string): Promise<TableColumns>;
  /**
   * A whole server's backup (`create --all-databases`, `restore --all`): engines whose databases
   * live on a server with shared roles implement it (PostgreSQL; `server_capability.ts`).
   */
  readonly server?: ServerCapability;
}

/** A scratch thing found by {@linkcode Engine.findScratch}. */
export interface ScratchLeftover {
  /** A file or directory path, or a database name. */
  name: string;
  /** What it was for: `restore`, `verify`, `load`, `scratch`, or `legacy` (an older name). */
  kind: string;
  /** Bytes it takes (files with their companions; a database's size). */
  size: number;
  /** Why its owner can no longer be using it; absent while it may be (it is kept). */
  stale?: string;
}

/** Engines this build knows. */
export type EngineKind = "sqlite" | "postgres";

/** Receives dump output; the returned promise applies backpressure. */
export type ChunkSink = (chunk: Uint8Array) => Promise<void>;

/** Options of {@linkcode Engine.dump}. */
export interface DumpOptions {
  /** `full` (default) writes schema and data; `schema` writes the schema only. */
  type?: "full" | "schema";
  /**
   * Only tables matching one of these patterns (`*` and `?` wildcards; `schema.table` or a bare
   * table name). Empty or absent: every table.
   */
  tables?: string[];
  /** Tables matching one of these patterns are left out (schema and data). */
  excludeTables?: string[];
  /** Called now and then with the rows written so far; for progress display. */
  onProgress?: (progress: DumpProgress) => void;
  /**
   * At most this many threads (SQLite) or connections (PostgreSQL) the dump uses at once, besides
   * the caller's compression thread. Default: the number of cores (`navigator.hardwareConcurrency`).
   */
  jobs?: number;
  /**
   * Abandons the dump when aborted (the stall watchdog, SIGINT): the engine stops what it waits
   * on (PostgreSQL cancels its running queries, a lock wait included) and fails; the caller
   * keeps nothing.
   */
  signal?: AbortSignal;
}

/** Progress of a dump in flight. */
export interface DumpProgress {
  table: string;
  tableRows: number;
  totalRows: number;
  bytes: number;
}

/** Options of {@linkcode Engine.restore}. */
export interface RestoreOptions {
  /** Replace an existing database at the location. Default `false`: refuse if it exists. */
  replace?: boolean;
  /**
   * PostgreSQL: drop the objects the backup contains before recreating them, in the same
   * transaction, so a non-empty target can be restored into.
   */
  clean?: boolean;
  /** PostgreSQL: create the target database when it does not exist. */
  create?: boolean;
  /** PostgreSQL: skip `ALTER ... OWNER TO` (restoring into a cluster without the same roles). */
  noOwner?: boolean;
  /** PostgreSQL: skip `GRANT`/`REVOKE` (restoring into a cluster without the same roles). */
  noPrivileges?: boolean;
  /** Called now and then with the SQL bytes consumed so far. */
  onProgress?: (bytes: number) => void;
  /** At most this many threads or connections the restore uses at once. Default: the cores. */
  jobs?: number;
  /**
   * How the input is compressed, as the sidecar records it: `gzip` (default), `zstd` or `none`.
   * The engine decompresses on its own thread.
   */
  compression?: Compression;
  /**
   * Abandons the restore when aborted, as {@linkcode DumpOptions.signal} does; the target stays
   * as it was.
   */
  signal?: AbortSignal;
  /**
   * What the backup's sidecar says the script holds. With it the engine checks what it restored
   * before the result replaces anything (`restore_check.ts`) and bounds what it reads by it
   * (`read_limits.ts`). Default: nothing compared, only SQLite's own limits.
   */
  expected?: ExpectedContent;
}

/** A backup's content as its sidecar records it: see {@linkcode RestoreOptions.expected}. */
export interface ExpectedContent {
  /** Tables with their rows (0 for a schema-only backup) and SQL bytes of their data. */
  tables: { name: string; rows: number; bytes: number }[];
  /** The SQL's size uncompressed (`sizes.raw`). */
  rawBytes: number;
  /**
   * Whether the engine compares the restored tables with `tables`. Default `true`; `verify
   * --restore-test` compares on its own to report every difference, and passes `false` to keep
   * only the bounds.
   */
  compare?: boolean;
}

/** How a backup's SQL is compressed; the sidecar records it. */
export type Compression = "gzip" | "zstd" | "none";

/** The default of {@linkcode DumpOptions.jobs} and {@linkcode RestoreOptions.jobs}. */
export function defaultJobs(): number {
  return Math.max(1, navigator.hardwareConcurrency ?? 1);
}

/** What a dump wrote, recorded in the sidecar. */
export interface DumpSummary {
  engineVersion: string;
  database: DatabaseIdentity;
  tables: TableStats[];
  /** Engine-specific settings that the dump reproduces (e.g. SQLite PRAGMAs). */
  settings: Record<string, string | number>;
  migration?: MigrationVersion;
  /**
   * What the backup needs of the library that loads it (SQLite: the features its schema uses,
   * `sqlite/_features.ts`), recorded in the sidecar for the version check before a restore.
   */
  features?: string[];
}

/** Where a database is, never with a password. */
export interface DatabaseIdentity {
  name: string;
  host?: string;
  path?: string;
}

/** Rows and bytes of SQL written for one table. */
export interface TableStats {
  name: string;
  rows: number;
  bytes: number;
}

/** What `describe` tells about a database. */
export interface DatabaseInfo {
  engineVersion: string;
  sizeBytes: number;
  tables: { name: string; rows: number }[];
  migration?: MigrationVersion;
}

/** The application's schema-migration state, when a known migrations table holds one. */
export interface MigrationVersion {
  table: string;
  version: string;
}

/** What a restore loaded. */
export interface RestoreSummary {
  bytes: number;
  statements: number;
  /**
   * What the restore left out and why, one line each (PostgreSQL `--create`: a database setting
   * of a role this server lacks). Absent when there is nothing to say.
   */
  warnings?: string[];
}

/** A throwaway database for restore tests. */
export interface ScratchDatabase {
  location: string;
  drop(): Promise<void>;
}
