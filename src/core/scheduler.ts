/**
 * The `auto` loop: at each scheduled time, one cycle (lock → create → verify → cleanup → audit
 * `run` line); a failed cycle is retried with doubling backoff; a busy lock skips the cycle. Time
 * comes from an injected {@linkcode SleepingClock}, so tests run weeks of schedule at once.
 *
 * Stopping: `stop` lets the cycle in progress finish and starts no other; `signal` abandons the
 * cycle in progress cleanly (no partial file, the lock released).
 */
import { cleanup } from "./cleanup.ts";
import { type Destination, syncDestination } from "./copy.ts";
import { createBackup } from "./create.ts";
import type { ServiceContext } from "./context.ts";
import { verifyBackup } from "./verify.ts";
import type { BackupType } from "./backup_file.ts";
import { isGood, listBackups } from "./catalog.ts";
import type { SleepingClock } from "./clock.ts";
import { IntegrityError, InterruptedError, LockBusyError, messageOf } from "./errors.ts";
import type { EventListener, OpsEvent } from "./events.ts";
import { recordAction } from "./audit.ts";
import { lockDirectoryOf, withLock } from "./lock.ts";
import { sweepAfterLock } from "./scratch_sweep.ts";
import type { RetentionPolicy } from "./retention.ts";
import { describeSchedule, nextRun, nextRuns, type Schedule } from "./schedule.ts";

/** What one cycle does. */
export interface CycleOptions {
  /** Default `full`. */
  type?: Extract<BackupType, "full" | "schema">;
  /** Verify the new backup (checksum, gzip, sidecar). Default `true`. */
  verify?: boolean;
  /** Also restore it into a scratch database. Default `false`. */
  restoreTest?: boolean;
  /** Cleanup after a good backup. Default: no rule (nothing is deleted). */
  policy?: RetentionPolicy;
  /** IANA zone the policy's days, weeks, months and years are counted in. Default `UTC`. */
  timeZone?: string;
  /** Abandons the cycle in progress (cleanly) when aborted. */
  signal?: AbortSignal;
  /** Further stores each cycle brings up to date and cleans by their own retention. */
  destinations?: Destination[];
  /** Stored in each new backup's sidecar (`createBackup`'s `description`). Default none. */
  description?: string;
}

/** Options of {@linkcode runScheduler}. */
export interface SchedulerOptions extends CycleOptions {
  /** When to run; required unless `once`. */
  schedule?: Schedule;
  /** Run one cycle (with its retries) now, then return. Default `false`. */
  once?: boolean;
  /** Retries of a failed cycle. Default 3. */
  retries?: number;
  /** Wait before the first retry; doubles with each one. Default 60 000 ms. */
  retryBackoffMs?: number;
  /** How many next runs the start event lists. Default 3. */
  preview?: number;
  /** Finish the cycle in progress, then return. */
  stop?: AbortSignal;
  /** Receives every event: the scheduler's, and the actions of its cycles. */
  onEvent?: EventListener;
  /**
   * Several databases: the series each cycle backs up, asked afresh before every cycle (a glob
   * matched again), each in turn with its own context, policy, copies and retries; one failing
   * does not stop the others. Their events carry `series`. Default: the context's database alone.
   */
  targets?: () => Promise<CycleTarget[]>;
  /**
   * Runs each cycle through this gate: `auto` passes the one its maintenance uses too, so a
   * backup due during a VACUUM waits for it rather than find the lock busy and skip its slot.
   */
  exclusive?: Exclusive;
}

/** Runs the functions it is given one at a time, in order. */
export type Exclusive = <T>(fn: () => Promise<T>) => Promise<T>;

/** A new {@linkcode Exclusive} gate. */
export function exclusiveGate(): Exclusive {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>) => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => {});
    return run;
  };
}

/** One series of a cycle over several databases (see {@linkcode SchedulerOptions.targets}). */
export interface CycleTarget {
  series: string;
  context: SchedulerContext;
  policy?: RetentionPolicy;
  destinations?: Destination[];
}

/** The outcome of one cycle. */
export type CycleResult =
  | {
    outcome: "ok";
    backupId: string;
    deleted: number;
    durationMs: number;
    /** Copies to destinations that failed (the backup is good; the next cycle retries them). */
    copyFailures?: string[];
  }
  | { outcome: "failed"; error: Error; durationMs: number }
  | { outcome: "skipped"; error: LockBusyError };

/** How the scheduler ended. */
export interface SchedulerResult {
  /** The last cycle's result, if any ran. */
  last?: CycleResult;
  /** Whether it ended because `signal` abandoned a cycle. */
  interrupted: boolean;
}

/** What a cycle runs on: a service context whose clock can sleep. */
export type SchedulerContext = ServiceContext & { clock: SleepingClock };

/**
 * Runs cycles until `stop` (or after one with `once`). Interval schedules are anchored on the
 * newest good backup of the type: a restarted `auto` does not back up again before one interval
 * has passed. Runs missed while a cycle overran are skipped, not made up in a burst.
 */
export async function runScheduler(
  base: SchedulerContext,
  options: SchedulerOptions,
): Promise<SchedulerResult> {
  const context: SchedulerContext = { ...base, actor: "scheduler", onEvent: options.onEvent };
  const { clock } = context;
  const emit = options.onEvent ?? (() => {});
  const stop = options.stop;
  const schedule = options.schedule;
  if (!options.once && !schedule) throw new TypeError("runScheduler() needs a schedule");

  let due = options.once
    ? clock.now()
    : await firstRunOf(context, schedule!, options.type, options.targets);
  emit({
    type: "scheduler-start",
    time: clock.now(),
    schedule: options.once ? "once" : describeSchedule(schedule!),
    next: options.once ? [] : [due, ...nextRuns(schedule!, due, (options.preview ?? 3) - 1)],
  });
  let last: CycleResult | undefined;
  const attempts = 1 + (options.retries ?? 3);
  while (!stop?.aborted) {
    await clock.sleepUntil(due, stop);
    if (stop?.aborted) break;
    const slot = due;
    for (const target of options.targets ? await options.targets() : [undefined]) {
      // a target's events carry its series; its context and options are its own
      const emitOf = options.onEvent ?? (() => {});
      const emit = target ? (e: OpsEvent) => emitOf(tagged(e, target.series)) : emitOf;
      const cycleContext: SchedulerContext = target
        ? { ...target.context, actor: "scheduler", onEvent: emit }
        : context;
      const cycleOptions = target
        ? { ...options, policy: target.policy, destinations: target.destinations }
        : options;
      for (let attempt = 1; attempt <= attempts && !stop?.aborted; attempt++) {
        const cycle = () => runCycle(cycleContext, { ...cycleOptions, attempt, attempts });
        last = await (options.exclusive ? options.exclusive(cycle) : cycle());
        const next = options.once || stop?.aborted ? undefined : upcoming(schedule!, slot, clock);
        const now = clock.now();
        if (last.outcome === "ok") {
          emit({ type: "run-ok", time: now, attempt, ...pick(last), next });
          break;
        }
        if (last.outcome === "skipped") {
          emit({ type: "run-skipped", time: now, reason: last.error.message, next });
          break;
        }
        if (last.error instanceof InterruptedError) {
          emit({ type: "run-failed", time: now, attempt, attempts, error: last.error.message });
          emit({ type: "scheduler-stop", time: clock.now(), reason: "interrupted" });
          return { last, interrupted: true };
        }
        const backoff = (options.retryBackoffMs ?? 60_000) * 2 ** (attempt - 1);
        const retryAt = new Date(now.getTime() + backoff);
        const retry = attempt < attempts && (!next || retryAt < next) && !stop?.aborted;
        emit({
          type: "run-failed",
          time: now,
          attempt,
          attempts,
          error: last.error.message,
          ...(retry ? { retryAt } : {}),
          next,
        });
        if (!retry) break;
        await clock.sleepUntil(retryAt, stop);
      }
      if (stop?.aborted) break;
    }
    if (options.once) break;
    due = upcoming(schedule!, slot, clock);
  }
  emit({
    type: "scheduler-stop",
    time: clock.now(),
    reason: options.once ? "one run done (--once)" : "asked to stop",
  });
  return { last, interrupted: false };
}

/**
 * One cycle under the lock: create, verify, cleanup; then its audit `run` line. A busy lock
 * skips it (nothing is recorded: the other run is doing the work).
 */
export async function runCycle(
  context: SchedulerContext,
  options: CycleOptions & { attempt?: number; attempts?: number },
): Promise<CycleResult> {
  const { clock } = context;
  const started = clock.now();
  const elapsed = () => Math.max(0, clock.now().getTime() - started.getTime());
  const attempt = options.attempt ?? 1;
  let backupId: string | undefined;
  try {
    return await withLock(lockDirectoryOf(context), { command: "auto cycle", clock }, async () => {
      context.onEvent?.({
        type: "run-start",
        time: started,
        attempt,
        attempts: options.attempts ?? 1,
      });
      // what interrupted runs left (here and at the destinations) goes first; never fails the run
      await sweepAfterLock(context, {
        stores: [context.storage, ...(options.destinations ?? []).map((d) => d.storage)],
      });
      const meta = await createBackup(context, {
        type: options.type,
        description: options.description,
        signal: options.signal,
      });
      backupId = meta.id;
      if (options.verify ?? true) {
        const result = await verifyBackup(context, meta.id, { restoreTest: options.restoreTest });
        if (!result.ok) {
          throw new IntegrityError(
            `Backup "${meta.id}" failed verification: ${
              result.checks.filter((c) => !c.ok).map((c) => c.detail).join("; ")
            }`,
          );
        }
      }
      // the sweep above removed the engine's scratch already
      const report = await cleanup(context, options.policy ?? {}, {
        timeZone: options.timeZone,
        scratch: false,
      });
      let deleted = report.decisions.filter((d) => d.action === "delete").length;
      const failures = report.failures.map((f) => f.error);
      const copyFailures: string[] = [];
      for (const destination of options.destinations ?? []) {
        const sync = await syncDestination(context, destination, options);
        copyFailures.push(
          ...(sync.error ? [sync.error] : []),
          ...sync.failures.map((f) => `${f.id} to ${sync.destination}: ${f.error}`),
        );
        const remote = await cleanup(
          { ...context, storage: destination.storage },
          destination.policy,
          { timeZone: options.timeZone, scratch: false },
        ).catch((error) => {
          failures.push(messageOf(error));
          return undefined;
        });
        deleted += remote?.decisions.filter((d) => d.action === "delete").length ?? 0;
        failures.push(...(remote?.failures.map((f) => f.error) ?? []));
      }
      // the backup is good: no retry; deletes and copies are tried again by the next cycle
      if (failures.length) {
        context.onEvent?.({
          type: "warning",
          time: clock.now(),
          message: `Cleanup could not remove ${failures.length} file(s): ${failures.join("; ")}`,
        });
      }
      if (copyFailures.length) {
        context.onEvent?.({
          type: "warning",
          time: clock.now(),
          message: `Could not copy ${copyFailures.length} backup(s): ${copyFailures.join("; ")}`,
        });
      }
      const errors = [
        ...(failures.length ? [`cleanup: ${failures.join("; ")}`] : []),
        ...(copyFailures.length ? [`copy: ${copyFailures.join("; ")}`] : []),
      ];
      await recordAction(context, {
        action: "run",
        target: meta.id,
        outcome: errors.length ? "failed" : "ok",
        ...(errors.length ? { error: errors.join("; ") } : {}),
        details: { attempt, deleted, durationMs: elapsed() },
      });
      return {
        outcome: "ok",
        backupId: meta.id,
        deleted,
        durationMs: elapsed(),
        ...(copyFailures.length ? { copyFailures } : {}),
      };
    });
  } catch (error) {
    if (error instanceof LockBusyError) return { outcome: "skipped", error };
    const failure = error instanceof Error ? error : new Error(String(error));
    await recordAction(context, {
      action: "run",
      target: backupId ?? context.engine.redact(context.database),
      outcome: "failed",
      error: messageOf(failure),
      details: { attempt, durationMs: elapsed() },
    }, failure);
    return { outcome: "failed", error: failure, durationMs: elapsed() };
  }
}

/** {@linkcode firstRun} of the context, or the soonest of the targets' (several databases). */
async function firstRunOf(
  context: SchedulerContext,
  schedule: Schedule,
  type: CycleOptions["type"],
  targets: SchedulerOptions["targets"],
): Promise<Date> {
  if (!targets) return await firstRun(context, schedule, type);
  const dues = await Promise.all(
    (await targets()).map((t) => firstRun(t.context, schedule, type)),
  );
  return dues.length ? new Date(Math.min(...dues.map((d) => d.getTime()))) : context.clock.now();
}

/** `event` marked with the series it belongs to (the log and notifications name it). */
export function tagged(event: OpsEvent, series: string): OpsEvent {
  return Object.assign({}, event, { series });
}

/** The first run: now, or one interval after the newest good backup of the type if that is later. */
async function firstRun(
  context: SchedulerContext,
  schedule: Schedule,
  type: CycleOptions["type"] = "full",
): Promise<Date> {
  const now = context.clock.now();
  if (!("every" in schedule)) return nextRun(schedule, now);
  const newest = (await listBackups(context.storage)).find((b) => b.type === type && isGood(b));
  if (!newest) return now;
  const due = new Date(newest.createdAt.getTime() + schedule.every);
  return due > now ? due : now;
}

/**
 * The first slot after `slot` that is still ahead: slots missed by an overrunning cycle are
 * skipped. Intervals keep their phase (a 6h schedule started at 02:00 stays on 02:00, 08:00…).
 */
export function upcoming(schedule: Schedule, slot: Date, clock: SleepingClock): Date {
  const now = clock.now().getTime();
  if (!("every" in schedule)) return nextRun(schedule, new Date(Math.max(now, slot.getTime())));
  const missed = Math.max(0, Math.floor((now - slot.getTime()) / schedule.every));
  return new Date(slot.getTime() + (missed + 1) * schedule.every);
}

function pick(result: Extract<CycleResult, { outcome: "ok" }>) {
  return { backupId: result.backupId, deleted: result.deleted, durationMs: result.durationMs };
}
