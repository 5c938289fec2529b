/**
 * When `auto` runs: at a fixed interval, or at the times of a cron expression in a time zone
 * (through croner, which handles DST: a time skipped by the spring change runs at the end of the
 * gap, a time repeated in autumn runs once). Pure functions of (schedule, time).
 */
import { Cron } from "npm:croner@11.0.1";
import { UsageError } from "./errors.ts";
import { formatDuration } from "../config/duration.ts";

/** A schedule: every `every` ms, or at the times `cron` names in `timezone` (default UTC). */
export type Schedule =
  | { every: number }
  | { cron: string; timezone?: string };

/** The first time strictly after `after` that the schedule names. */
export function nextRun(schedule: Schedule, after: Date): Date {
  if ("every" in schedule) return new Date(after.getTime() + schedule.every);
  const next = cronOf(schedule).nextRun(after);
  if (!next) {
    throw new UsageError(`Cannot schedule cron "${schedule.cron}": it names no future time`);
  }
  return next;
}

/** The next `count` runs after `after`, for the preview `auto` prints at start. */
export function nextRuns(schedule: Schedule, after: Date, count: number): Date[] {
  const runs: Date[] = [];
  let at = after;
  for (let i = 0; i < count; i++) {
    at = nextRun(schedule, at);
    runs.push(at);
  }
  return runs;
}

/** The schedule in words: `every 6h`, `cron "0 2 * * *" in Europe/Berlin`. */
export function describeSchedule(schedule: Schedule): string {
  if ("every" in schedule) return `every ${formatDuration(schedule.every)}`;
  return `cron "${schedule.cron}" in ${schedule.timezone ?? "UTC"}`;
}

/**
 * Checks a schedule before anything runs: a cron expression croner cannot read, or an interval
 * under a second, is a {@linkcode UsageError} naming the setting.
 */
export function checkSchedule(schedule: Schedule): void {
  if ("every" in schedule) {
    if (schedule.every < 1000) {
      throw new UsageError(
        `Invalid value for schedule.every (--every / BACKUP_INTERVAL): expected at least "1s"`,
      );
    }
    return;
  }
  let next: Date | null;
  try {
    next = cronOf(schedule).nextRun(new Date(0));
  } catch (error) {
    throw new UsageError(
      `Invalid value "${schedule.cron}" for schedule.cron (--cron / BACKUP_CRON): ${
        error instanceof Error ? error.message.replace(/^CronPattern: /, "") : String(error)
      } (expected 5 or 6 fields, e.g. "0 2 * * *")`,
    );
  }
  if (!next) {
    throw new UsageError(
      `Invalid value "${schedule.cron}" for schedule.cron (--cron / BACKUP_CRON): it names no time`,
    );
  }
}

function cronOf(schedule: { cron: string; timezone?: string }): Cron {
  return new Cron(schedule.cron, { timezone: schedule.timezone ?? "UTC", paused: true });
}
