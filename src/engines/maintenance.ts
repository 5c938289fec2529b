/**
 * What engines report of routine maintenance (`maintain`) and what they answer to the health
 * queries of `check`: the types at the seam, so the core and the CLI judge and print the same
 * figures whatever the engine.
 */

/** Options of `Engine.maintain`. */
export interface MaintainOptions {
  /** Say what would be done, change nothing (no VACUUM, no optimize, no checkpoint). */
  dryRun?: boolean;
  /** Whether a SQLite VACUUM may run when it is worth it. Default `true`. */
  vacuum?: boolean;
  /** SQLite: VACUUM only when it frees at least this many bytes. Default 64 MiB. */
  vacuumMinBytes?: number;
  /** SQLite: ... and at least this share of the file (0-1). Default 0.1. */
  vacuumMinRatio?: number;
  /**
   * How long a step waits for another session's lock before it is skipped ("skipped: busy")
   * rather than failed. Default 5 000 ms.
   */
  busyTimeoutMs?: number;
  /**
   * Free bytes on the filesystem holding `path` (`undefined`: cannot tell). Default: `statfs`.
   * Tests inject a small disk.
   */
  freeSpace?: (path: string) => Promise<number | undefined>;
  /** Called with each step's name as it starts; for progress display. */
  onStep?: (step: string) => void;
  /** Abandons the maintenance between steps (PostgreSQL: the running statement too). */
  signal?: AbortSignal;
}

/** Defaults of {@linkcode MaintainOptions}. */
export const MAINTAIN_DEFAULTS = {
  vacuumMinBytes: 64 * 1024 * 1024,
  vacuumMinRatio: 0.1,
  busyTimeoutMs: 5_000,
} as const;

/** How one step went. `planned`: what a dry run would do. */
export type StepOutcome = "done" | "skipped" | "warning" | "failed" | "planned";

/** One step of a maintenance run, with its figures. */
export interface MaintenanceStep {
  /** `optimize`, `checkpoint`, `integrity`, `vacuum`, `vacuum analyze "public"."t"`, `amcheck`. */
  name: string;
  outcome: StepOutcome;
  /** One line with the figures: frames, bytes, dead tuples, indexes checked, why skipped. */
  detail: string;
  durationMs: number;
  /** Bytes the step gave back to the filesystem. */
  bytesFreed?: number;
}

/** What `Engine.maintain` did. */
export interface MaintenanceReport {
  steps: MaintenanceStep[];
  /**
   * `ok`: the checks found nothing; `failed`: they found corruption (see `problems`); `skipped`:
   * no check ran (a dry run, amcheck not installed on PostgreSQL).
   */
  integrity: "ok" | "failed" | "skipped";
  /** The first problems the checks found (at most {@linkcode MAX_PROBLEMS}). */
  problems: string[];
  /** The database's size before and after, in bytes. */
  sizeBefore: number;
  sizeAfter: number;
  durationMs: number;
  dryRun: boolean;
}

/** How many integrity problems a report keeps. */
export const MAX_PROBLEMS = 20;

/** What `check` asks a database: read-only queries, each bounded by `timeoutMs`. */
export interface HealthQueries {
  /** `SELECT max(column) FROM table` for each. */
  freshness: { table: string; column: string }[];
  /** User SQL returning one number each. */
  checks: { name: string; sql: string }[];
  /** Statement timeout of each query (PostgreSQL). Default 10 000 ms. */
  timeoutMs?: number;
}

/** One query's answer: the value, or the one-line error that stopped it. */
export type QueryAnswer<T> = { value: T } | { error: string };

/** What the database answered to {@linkcode HealthQueries}, in their order. */
export interface HealthAnswers {
  /** The database's size in bytes (SQLite: file plus WAL; PostgreSQL: `pg_database_size`). */
  sizeBytes: number;
  /**
   * The newest value of each freshness column, as text or a number (`null`: no row has one);
   * the core reads it as epoch seconds or milliseconds, ISO text or a timestamp.
   */
  freshness: QueryAnswer<string | number | null>[];
  /** Each check's number. */
  checks: QueryAnswer<number>[];
}

/** The first column of a check's first row as a number; anything else is the check's error. */
export function numberOf(value: unknown): number {
  const number = typeof value === "bigint"
    ? Number(value)
    : typeof value === "number"
    ? value
    : typeof value === "string" && value.trim() !== ""
    ? Number(value)
    : NaN;
  if (!Number.isFinite(number)) {
    throw new Error(
      value === undefined
        ? "the query returned no row"
        : value === null
        ? "the query returned NULL, not a number"
        : `the query returned ${JSON.stringify(String(value))}, not a number`,
    );
  }
  return number;
}
