/**
 * Typed errors. Each class carries the process exit code the CLI uses for it, so the mapping from
 * failure to exit code lives in one place and is documented in the README ("Exit codes").
 */

/** Exit codes, stable and documented: scripts and monitors branch on them. */
export const ExitCode = {
  Ok: 0,
  Failure: 1,
  Usage: 2,
  NotFound: 3,
  Ambiguous: 4,
  Integrity: 5,
  Refused: 6,
  Storage: 7,
  Database: 8,
  NotImplemented: 9,
  /**
   * A run whose bytes stopped moving for `stallTimeout` was abandoned by the watchdog: a lock
   * wait, a hung server, a stuck worker. Its own code, so a monitor tells a hang from a failure.
   */
  Stalled: 10,
  /** Stopped by SIGINT/SIGTERM before it finished (128 + SIGINT, as shells report it). */
  Interrupted: 130,
} as const;

/** Base class of every error this tool expects; anything else is a bug and exits with 1. */
export class BackupManagerError extends Error {
  /** Process exit code for this failure. */
  readonly exitCode: number = ExitCode.Failure;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad command line, flag or setting. */
export class UsageError extends BackupManagerError {
  override readonly exitCode: number = ExitCode.Usage;
}

/** A backup id (or part of one) matched no backup. */
export class BackupNotFoundError extends BackupManagerError {
  override readonly exitCode: number = ExitCode.NotFound;
}

/** A database file or server that was expected to exist does not. */
export class DatabaseNotFoundError extends BackupManagerError {
  override readonly exitCode: number = ExitCode.NotFound;
}

/** A part of an id matched several backups; the candidates are listed in the message. */
export class AmbiguousIdError extends BackupManagerError {
  override readonly exitCode: number = ExitCode.Ambiguous;

  constructor(readonly query: string, readonly candidates: string[]) {
    super(
      `Cannot choose a backup for "${query}": it matches ${candidates.length} backups (${
        candidates.map((c) => `"${c}"`).join(", ")
      }); give more of the id`,
    );
  }
}

/** A backup failed an integrity check: checksum, gzip stream, sidecar or restore test. */
export class IntegrityError extends BackupManagerError {
  override readonly exitCode: number = ExitCode.Integrity;
}

/** The operation needs a confirmation (or --force) it did not get. */
export class RefusedError extends BackupManagerError {
  override readonly exitCode: number = ExitCode.Refused;
}

/**
 * Another run holds the lock of the backup directory. A refusal (exit 6), not a failure: the
 * other run is doing the work, so cron and the scheduler skip rather than alarm.
 */
export class LockBusyError extends RefusedError {}

/**
 * The target is older than the backup needs (a PostgreSQL server of an older major version, a
 * SQLite library without a feature the schema uses): refused before anything is touched, exit 6;
 * `restore --ignore-version` tries anyway.
 */
export class TargetVersionError extends RefusedError {}

/** The run was asked to stop (SIGINT/SIGTERM) and abandoned its work cleanly. */
export class InterruptedError extends BackupManagerError {
  override readonly exitCode: number = ExitCode.Interrupted;
}

/** The backup store could not be read or written. */
export class StorageError extends BackupManagerError {
  override readonly exitCode: number = ExitCode.Storage;
}

/** The database could not be opened, read or written. */
export class DatabaseError extends BackupManagerError {
  override readonly exitCode: number = ExitCode.Database;
}

/**
 * The stall watchdog (`watchdog.ts`) abandoned the run: nothing moved for `stallTimeout`. The
 * message names the phase it stalled in and what to check; `cause` is what the abandoned work
 * threw, if it gave up in time.
 */
export class StalledError extends BackupManagerError {
  override readonly exitCode: number = ExitCode.Stalled;
}

/**
 * A `before` hook failed (exited non-zero, timed out, could not start), so the operation did not
 * begin: nothing was touched. Exit 1, like any failure: the run did not do its job.
 */
export class HookFailedError extends BackupManagerError {}

/** A feature that is planned but not built yet; says so instead of pretending. */
export class NotImplementedError extends BackupManagerError {
  override readonly exitCode: number = ExitCode.NotImplemented;
}

/** The message of an unknown thrown value, for wrapping into a typed error. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
