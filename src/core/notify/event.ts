/**
 * What notifications say, independent of how they travel: every channel (JSON webhook, Slack,
 * email) renders the same event, so they never disagree about what happened.
 */
import type { HealthAssessment, HealthLevel, HealthReason } from "../health.ts";

/** Occasions a notification can be sent on (the `notifications.on` setting). */
export type NotifyKind = "failure" | "success" | "health";

/** One thing worth telling people. */
export interface NotifyEvent {
  kind: NotifyKind;
  time: Date;
  /** One line without the host, e.g. `Backup of "app.db" failed`. */
  summary: string;
  /** Further lines: the error, the health reasons. */
  details: string[];
  /** The database, redacted. */
  database: string;
  backupId?: string;
  error?: string;
  health?: { level: HealthLevel; previous: HealthLevel; reasons: HealthReason[] };
}

/** A run (scheduler cycle or `create`) that failed. */
export function failureEvent(
  time: Date,
  database: string,
  error: string,
): NotifyEvent {
  return {
    kind: "failure",
    time,
    summary: `Backup of "${database}" failed`,
    details: [error],
    database,
    error,
  };
}

/** A run that produced `backupId`. */
export function successEvent(time: Date, database: string, backupId: string): NotifyEvent {
  return {
    kind: "success",
    time,
    summary: `Backup of "${database}" succeeded: ${backupId}`,
    details: [],
    database,
    backupId,
  };
}

/** Health moved from `previous` to the assessment's level. */
export function healthEvent(
  time: Date,
  database: string,
  previous: HealthLevel,
  assessment: Pick<HealthAssessment, "level" | "reasons">,
): NotifyEvent {
  const { level, reasons } = assessment;
  const better = level === "healthy";
  return {
    kind: "health",
    time,
    summary: `Backup health of "${database}" is ${level} (was ${previous})`,
    details: better
      ? ["every health check passes"]
      : reasons.map((r) => `${r.level}: ${r.message}`),
    database,
    health: { level, previous, reasons },
  };
}
