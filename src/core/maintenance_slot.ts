/**
 * `schedule.maintenance`: `auto` maintains the database (every series') on its own schedule,
 * beside the backups'. Interval schedules are anchored on the last recorded `maintain`, so a
 * restarted `auto` does not VACUUM again before the interval has passed. Maintenance and backups
 * share the backup directory's lock and, within `auto`, one gate: a slot due while a backup runs
 * waits for it, and one that finds the lock held by another process (a manual run) retries until
 * the next slot rather than skip a week.
 */
import type { EventListener, OpsEvent } from "./events.ts";
import { InterruptedError, LockBusyError, messageOf } from "./errors.ts";
import { maintainDatabase, type MaintainDatabaseOptions } from "./maintain.ts";
import { lastMaintenance } from "./maintenance_record.ts";
import { nextRun, type Schedule } from "./schedule.ts";
import { type Exclusive, type SchedulerContext, tagged, upcoming } from "./scheduler.ts";

/** One database `auto` maintains. */
export interface MaintenanceTarget {
  /** Several databases: the series (its events carry it). */
  series?: string;
  context: SchedulerContext;
}

/** Options of {@linkcode runMaintenanceSchedule}. */
export interface MaintenanceScheduleOptions {
  schedule: Schedule;
  /** The databases to maintain, asked afresh before every slot (a glob matched again). */
  targets: () => Promise<MaintenanceTarget[]>;
  /** The engine's options and the notification of corruption. */
  maintain?: MaintainDatabaseOptions;
  /** Finish the maintenance in progress, then return. */
  stop?: AbortSignal;
  /** Abandons the maintenance in progress. */
  signal?: AbortSignal;
  onEvent?: EventListener;
  /**
   * How long a slot waits before trying the lock again while another process holds it. Default
   * a minute, or a tenth of the time to the next slot when that is shorter.
   */
  busyRetryMs?: number;
  /** The gate the backups' cycles go through (`SchedulerOptions.exclusive`): one at a time. */
  exclusive?: Exclusive;
}

/** Maintains every target at each slot of the schedule until `stop`. */
export async function runMaintenanceSchedule(
  clock: SchedulerContext["clock"],
  options: MaintenanceScheduleOptions,
): Promise<void> {
  const { schedule, stop } = options;
  let due = await firstSlot(clock.now(), schedule, await options.targets());
  while (!stop?.aborted) {
    await clock.sleepUntil(due, stop);
    if (stop?.aborted) break;
    const slot = due;
    const next = () => upcoming(schedule, slot, clock);
    for (const target of await options.targets()) {
      if (stop?.aborted) break;
      await maintainTarget(target, options, next);
    }
    due = next();
  }
}

/** The first slot: the earliest target's last maintenance plus the interval (now if never). */
async function firstSlot(now: Date, schedule: Schedule, targets: MaintenanceTarget[]) {
  if (!("every" in schedule)) return nextRun(schedule, now);
  let earliest = Infinity;
  for (const { context } of targets) {
    const last = await lastMaintenance(context.storage, context.engine.redact(context.database));
    if (!last) return now;
    earliest = Math.min(earliest, last.time.getTime() + schedule.every);
  }
  if (!Number.isFinite(earliest)) return now;
  return new Date(Math.max(now.getTime(), earliest));
}

async function maintainTarget(
  target: MaintenanceTarget,
  options: MaintenanceScheduleOptions,
  nextSlot: () => Date,
): Promise<void> {
  const listener = options.onEvent ?? (() => {});
  const emit = target.series ? (e: OpsEvent) => listener(tagged(e, target.series!)) : listener;
  const context: SchedulerContext = { ...target.context, actor: "scheduler", onEvent: emit };
  const { clock } = context;
  while (!options.stop?.aborted) {
    try {
      const run = () =>
        maintainDatabase(context, {
          ...options.maintain,
          ...(options.signal ? { signal: options.signal } : {}),
        });
      await (options.exclusive ? options.exclusive(run) : run());
      return; // the audit line (emitted as an action event) tells the log how it went
    } catch (error) {
      if (error instanceof InterruptedError || options.signal?.aborted) return;
      const now = clock.now().getTime();
      // a minute, or a tenth of the time to the next slot when that is shorter
      const retryMs = options.busyRetryMs ??
        Math.max(100, Math.min(60_000, (nextSlot().getTime() - now) / 10));
      const retryAt = new Date(now + retryMs);
      if (error instanceof LockBusyError && retryAt < nextSlot()) {
        await clock.sleepUntil(retryAt, options.stop);
        continue;
      }
      emit({
        type: "warning",
        time: clock.now(),
        message: `maintenance ${
          error instanceof LockBusyError ? "skipped until the next slot" : "failed"
        }: ${messageOf(error)}`,
      });
      return;
    }
  }
}
