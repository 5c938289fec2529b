/**
 * The one stream of operational events: the service's actions (also written to the audit log)
 * and the scheduler's cycles. The log prints them, notifications and health pings listen to
 * them; every listener sees the same facts. Events never hold a secret.
 */
import type { AuditEntry } from "./audit.ts";

/** Receives events; must not throw (a listener's failure must never fail a backup). */
export type EventListener = (event: OpsEvent) => void;

/** Something happened to the backups or the scheduler. */
export type OpsEvent =
  | ActionEvent
  | WarningEvent
  | SchedulerStartEvent
  | RunStartEvent
  | RunOkEvent
  | RunFailedEvent
  | RunSkippedEvent
  | SchedulerStopEvent
  | HookOutputEvent;

/** An audited action finished (create, restore, verify, delete, pin, unpin, run). */
export interface ActionEvent {
  type: "action";
  time: Date;
  entry: AuditEntry;
}

/** Something went wrong that did not fail the operation (e.g. the audit log is not writable). */
export interface WarningEvent {
  type: "warning";
  time: Date;
  /** With several databases: the series it belongs to (`src/core/series.ts`). */
  series?: string;
  message: string;
}

/** `auto` started: what it will do and when. */
export interface SchedulerStartEvent {
  type: "scheduler-start";
  time: Date;
  /** The schedule in words, e.g. `every 6h` or `cron "0 2 * * *" in Europe/Berlin`. */
  schedule: string;
  /** The next runs, soonest first (empty with `--once`). */
  next: Date[];
}

/** A cycle (create, verify, cleanup) begins. */
export interface RunStartEvent {
  type: "run-start";
  time: Date;
  /** With several databases: the series it belongs to (`src/core/series.ts`). */
  series?: string;
  /** 1 for the scheduled run, 2… for retries. */
  attempt: number;
  /** 1 + the configured retries. */
  attempts: number;
}

/** A cycle finished: a backup was created (and verified, and old ones cleaned up). */
export interface RunOkEvent {
  type: "run-ok";
  time: Date;
  /** With several databases: the series it belongs to (`src/core/series.ts`). */
  series?: string;
  attempt: number;
  backupId: string;
  durationMs: number;
  /** Backups the cleanup deleted. */
  deleted: number;
  /** When the next cycle is due; absent with `--once` or when stopping. */
  next?: Date;
}

/** A cycle failed. */
export interface RunFailedEvent {
  type: "run-failed";
  time: Date;
  /** With several databases: the series it belongs to (`src/core/series.ts`). */
  series?: string;
  attempt: number;
  attempts: number;
  /** One line, no secrets. */
  error: string;
  /** When it is tried again; absent when this was the last attempt (the schedule goes on). */
  retryAt?: Date;
  next?: Date;
}

/** A cycle did not run because another run holds the lock. */
export interface RunSkippedEvent {
  type: "run-skipped";
  time: Date;
  /** With several databases: the series it belongs to (`src/core/series.ts`). */
  series?: string;
  reason: string;
  next?: Date;
}

/** `auto` is stopping, after a signal or after `--once`. */
export interface SchedulerStopEvent {
  type: "scheduler-stop";
  time: Date;
  reason: string;
}

/** One line a hook printed (`hooks.ts`); the CLI shows it on stderr, prefixed with the hook's name. */
export interface HookOutputEvent {
  type: "hook-output";
  time: Date;
  /** The hook's name (its `name`, else its program's base name: never its arguments). */
  hook: string;
  stage: "before" | "after" | "failure";
  stream: "stdout" | "stderr";
  /** Without its newline; a long line is cut. */
  line: string;
}
