/**
 * `createScheduler()`: the `auto` loop (`runScheduler`) as an object an application holds, with
 * the shape the source document uses (`updateConfig({enabled, type: "interval", interval, …})`,
 * `start()`). Changing the config while it runs lets the cycle in progress finish and then
 * schedules afresh; `stop()` resolves once the cycle in progress is done.
 */
import { parseDuration } from "../config/duration.ts";
import { isTimeZone } from "../config/schema.ts";
import { UsageError } from "../core/errors.ts";
import type { EventListener, OpsEvent, RunFailedEvent, RunOkEvent } from "../core/events.ts";
import { checkSchedule, describeSchedule, type Schedule } from "../core/schedule.ts";
import { type CycleOptions, type CycleResult, runCycle, runScheduler } from "../core/scheduler.ts";
import { fanOut } from "./_deps.ts";
import {
  type BackupManager,
  openBackupManager,
  type OpenOptions,
  runReporterOf,
} from "./backup_manager.ts";
import type { RunReporter } from "../core/notify/run_reporter.ts";
import type { Settings } from "./settings.ts";

/** What the scheduler runs and when; {@linkcode BackupScheduler.updateConfig} changes it. */
export interface SchedulerConfig {
  /** Whether backups are scheduled at all. `false` stops scheduling (a cycle in progress ends). */
  enabled: boolean;
  /** `interval`: every `interval` ms; `cron`: at the times of `cron` in `timezone`. */
  type: "interval" | "cron";
  /** Milliseconds between backups (type `interval`), at least 1000. */
  interval?: number;
  /** A 5-field (or 6-field, with seconds) cron expression (type `cron`), e.g. `"0 2 * * *"`. */
  cron?: string;
  /** IANA zone of `cron`. Default the `timezone` setting. */
  timezone?: string;
  /** What each cycle backs up: `full` (schema and data) or `schema`. Default `full`. */
  backupType: "full" | "schema";
  /** Stored in each new backup's sidecar. Default none. */
  description?: string;
  /** Verify each new backup. Default `true` (the `schedule.verify` setting). */
  verify: boolean;
  /** Also restore each new backup into a scratch database. Default `false`. */
  restoreTest: boolean;
  /** Retries of a failed cycle, with doubling backoff. Default 3. */
  retries: number;
  /** Wait before the first retry, in ms; doubles with each one. Default 60 000. */
  retryBackoff: number;
}

/** Options of {@linkcode createScheduler}. */
export interface CreateSchedulerOptions extends OpenOptions {
  /** Settings of the database and stores (as `openBackupManager`'s); ignored with `manager`. */
  settings?: Settings;
  /** Use this manager's database, stores, clock and events instead of opening one. */
  manager?: BackupManager;
  /** The first config, on top of the settings' `schedule` section. Default: that section. */
  config?: Partial<SchedulerConfig>;
}

/** The event names {@linkcode BackupScheduler.on} accepts: each event's `type`, and aliases. */
export type SchedulerEventName = OpsEvent["type"] | "backup" | "failure" | "*";

/** The event a name delivers: `backup` is `run-ok`, `failure` is `run-failed`, `*` is every one. */
export type SchedulerEventOf<K extends SchedulerEventName> = K extends "backup" ? RunOkEvent
  : K extends "failure" ? RunFailedEvent
  : K extends "*" ? OpsEvent
  : Extract<OpsEvent, { type: K }>;

/** What the scheduler is doing, for a health page. */
export interface SchedulerStatus {
  /** `start()` was called and `stop()` was not. */
  started: boolean;
  /** Whether the loop is scheduling now (started and enabled). */
  running: boolean;
  /** A cycle (create, verify, cleanup) is in progress. */
  busy: boolean;
  /** The config in force. */
  config: SchedulerConfig;
  /** The schedule in words (`every 1d`, `cron "0 2 * * *" in UTC`); absent when not set. */
  schedule?: string;
  /** When the next cycle (or retry) is due; absent when none is scheduled. */
  nextRun?: Date;
  /** How the last cycle ended. */
  lastRun?: { time: Date; outcome: CycleResult["outcome"]; backupId?: string; error?: string };
  /** Why the loop itself stopped, when it failed (e.g. the store could not be listed). */
  error?: string;
}

/** A running (or stopped) schedule of backup cycles. */
export interface BackupScheduler {
  /** Starts scheduling (when `enabled`); calling it again does nothing. */
  start(): void;
  /**
   * Stops scheduling. The cycle in progress finishes first (with `abandon`, it is abandoned
   * cleanly: no partial file, the lock released); resolves once nothing runs.
   */
  stop(options?: { abandon?: boolean }): Promise<void>;
  /**
   * Changes the config; throws `UsageError` for a bad one (nothing changes then). While running,
   * the cycle in progress finishes and the next run is computed from the new schedule (an
   * interval counts from the newest backup). The returned promise resolves once it applies.
   */
  updateConfig(patch: Partial<SchedulerConfig>): Promise<void>;
  /** The current config. */
  getConfig(): SchedulerConfig;
  /** What the scheduler is doing. */
  status(): SchedulerStatus;
  /** When the next cycle (or retry) is due; `undefined` when none is scheduled. */
  nextRun(): Date | undefined;
  /**
   * Runs one cycle now, outside the schedule (no retries), and returns how it ended; a cycle
   * already in progress holds the lock, so this one is `skipped`.
   */
  runNow(): Promise<CycleResult>;
  /** Calls `listener` for each event named; returns a function that unsubscribes it. */
  on<K extends SchedulerEventName>(
    name: K,
    listener: (event: SchedulerEventOf<K>) => void,
  ): () => void;
}

/**
 * A scheduler of backup cycles (take the lock, create, verify, clean up, copy, notify), as
 * `auto` runs them. It starts stopped; without a schedule in the settings, also disabled.
 *
 * @example
 * ```ts
 * const scheduler = createScheduler({ settings: { database: "./data/app.db" } });
 * scheduler.updateConfig({
 *   enabled: true,
 *   type: "interval",
 *   interval: 24 * 60 * 60 * 1000,
 *   backupType: "full",
 *   description: "Daily automatic backup",
 * });
 * scheduler.start();
 * // on shutdown: await scheduler.stop();
 * ```
 */
export function createScheduler(options: CreateSchedulerOptions = {}): BackupScheduler {
  const { manager: given, settings, config, ...open } = options;
  const listeners = new Set<EventListener>();
  const emit = fanOut(() => listeners);
  const manager = given ?? openBackupManager(settings, { ...open, onEvent: emit });
  // a manager's own listener hears its scheduler too
  if (given?.context.onEvent) listeners.add(given.context.onEvent);
  if (options.onEvent) listeners.add(options.onEvent);
  const warn = (message: string) =>
    emit({ type: "warning", time: manager.context.clock.now(), message });
  return new Handle(manager, emit, listeners, config ?? {}, runReporterOf(manager, warn));
}

class Handle implements BackupScheduler {
  readonly #manager: BackupManager;
  readonly #emit: EventListener;
  readonly #listeners: Set<EventListener>;
  #config: SchedulerConfig;
  #started = false;
  #loop?: { stop: AbortController; abort: AbortController; done: Promise<void> };
  #queue: Promise<void> = Promise.resolve();
  #busy = false;
  #next?: Date;
  #last?: SchedulerStatus["lastRun"];
  #error?: string;
  readonly #reporter?: RunReporter;

  constructor(
    manager: BackupManager,
    emit: EventListener,
    listeners: Set<EventListener>,
    initial: Partial<SchedulerConfig>,
    reporter: RunReporter | undefined,
  ) {
    this.#manager = manager;
    this.#emit = emit;
    this.#listeners = listeners;
    this.#config = checked({ ...configOf(manager), ...initial });
    listeners.add((event) => this.#track(event));
    this.#reporter = reporter;
    if (reporter) listeners.add(reporter.listener);
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    void this.#reconcile();
  }

  async stop(options: { abandon?: boolean } = {}): Promise<void> {
    this.#started = false;
    if (options.abandon) this.#loop?.abort.abort();
    await this.#reconcile();
    await this.#reporter?.settled(); // the last run's pings and notifications go out first
  }

  updateConfig(patch: Partial<SchedulerConfig>): Promise<void> {
    this.#config = checked({ ...this.#config, ...patch });
    return this.#reconcile(true);
  }

  getConfig(): SchedulerConfig {
    return { ...this.#config };
  }

  status(): SchedulerStatus {
    const schedule = scheduleOf(this.#config, this.#manager);
    return {
      started: this.#started,
      running: this.#loop !== undefined,
      busy: this.#busy,
      config: this.getConfig(),
      ...(schedule ? { schedule: describeSchedule(schedule) } : {}),
      ...(this.#next ? { nextRun: this.#next } : {}),
      ...(this.#last ? { lastRun: this.#last } : {}),
      ...(this.#error ? { error: this.#error } : {}),
    };
  }

  nextRun(): Date | undefined {
    return this.#next;
  }

  async runNow(): Promise<CycleResult> {
    const { context } = this.#manager;
    const result = await runCycle({ ...context, actor: "scheduler", onEvent: this.#emit }, {
      ...this.#cycleOptions(),
      attempt: 1,
      attempts: 1,
    });
    const time = context.clock.now();
    const next = this.#next;
    if (result.outcome === "ok") {
      const { backupId, deleted, durationMs } = result;
      this.#emit({ type: "run-ok", time, attempt: 1, backupId, deleted, durationMs, next });
    } else if (result.outcome === "skipped") {
      this.#emit({ type: "run-skipped", time, reason: result.error.message, next });
    } else {
      this.#emit({
        type: "run-failed",
        time,
        attempt: 1,
        attempts: 1,
        error: result.error.message,
        next,
      });
    }
    return result;
  }

  on<K extends SchedulerEventName>(
    name: K,
    listener: (event: SchedulerEventOf<K>) => void,
  ): () => void {
    const type = name === "backup" ? "run-ok" : name === "failure" ? "run-failed" : name;
    const wrapped: EventListener = (event) => {
      if (type === "*" || event.type === type) listener(event as SchedulerEventOf<K>);
    };
    this.#listeners.add(wrapped);
    return () => this.#listeners.delete(wrapped);
  }

  /** Brings the loop in line with started/enabled/config, one change at a time. */
  #reconcile(changed = false): Promise<void> {
    const step = this.#queue.then(async () => {
      const want = this.#started && this.#config.enabled;
      if (this.#loop && (!want || changed)) await this.#halt();
      if (want && !this.#loop) this.#launch();
    });
    this.#queue = step.catch(() => {});
    return step;
  }

  async #halt(): Promise<void> {
    const loop = this.#loop;
    if (!loop) return;
    loop.stop.abort();
    await loop.done;
  }

  #launch(): void {
    const schedule = scheduleOf(this.#config, this.#manager)!;
    const stop = new AbortController();
    const abort = new AbortController();
    this.#error = undefined;
    const done = runScheduler(this.#manager.context, {
      ...this.#cycleOptions(),
      schedule,
      retries: this.#config.retries,
      retryBackoffMs: this.#config.retryBackoff,
      stop: stop.signal,
      signal: abort.signal,
      onEvent: this.#emit,
    }).then(() => {}, (error: unknown) => {
      this.#error = error instanceof Error ? error.message : String(error);
      this.#emit({
        type: "warning",
        time: this.#manager.context.clock.now(),
        message: this.#error,
      });
    }).finally(() => {
      if (this.#loop?.done === done) this.#loop = undefined;
      this.#busy = false;
      this.#next = undefined;
    });
    this.#loop = { stop, abort, done };
  }

  #cycleOptions(): CycleOptions {
    const { config, destinations } = this.#manager;
    return {
      type: this.#config.backupType,
      verify: this.#config.verify,
      restoreTest: this.#config.restoreTest,
      policy: config.retention,
      timeZone: config.timezone,
      destinations,
      ...(this.#config.description === undefined ? {} : { description: this.#config.description }),
    };
  }

  /** Follows the events for `status()` and `nextRun()`. */
  #track(event: OpsEvent): void {
    switch (event.type) {
      case "scheduler-start":
        this.#next = event.next[0];
        break;
      case "run-start":
        this.#busy = true;
        break;
      case "run-ok":
        this.#busy = false;
        this.#next = event.next ?? this.#next;
        this.#last = { time: event.time, outcome: "ok", backupId: event.backupId };
        break;
      case "run-failed":
        this.#busy = false;
        this.#next = event.retryAt ?? event.next ?? this.#next;
        this.#last = { time: event.time, outcome: "failed", error: event.error };
        break;
      case "run-skipped":
        this.#next = event.next ?? this.#next;
        this.#last = { time: event.time, outcome: "skipped", error: event.reason };
        break;
      case "scheduler-stop":
        this.#next = undefined;
        break;
    }
  }
}

/** The settings' `schedule` section as a scheduler config. */
function configOf(manager: BackupManager): SchedulerConfig {
  const { schedule, timezone } = manager.config;
  return {
    enabled: schedule.every !== undefined || schedule.cron !== undefined,
    type: schedule.cron !== undefined ? "cron" : "interval",
    ...(schedule.every !== undefined ? { interval: parseDuration(schedule.every)! } : {}),
    ...(schedule.cron !== undefined ? { cron: schedule.cron } : {}),
    timezone: schedule.timezone ?? timezone,
    backupType: schedule.type,
    verify: schedule.verify,
    restoreTest: schedule.restoreTest,
    retries: schedule.retries,
    retryBackoff: parseDuration(schedule.retryBackoff)!,
  };
}

/** The core's schedule for a config; `undefined` when the config names none. */
function scheduleOf(config: SchedulerConfig, manager: BackupManager): Schedule | undefined {
  if (config.type === "interval") {
    return config.interval === undefined ? undefined : { every: config.interval };
  }
  return config.cron === undefined
    ? undefined
    : { cron: config.cron, timezone: config.timezone ?? manager.config.timezone };
}

/** A config that can run, or a one-line `UsageError` naming the field. */
function checked(config: SchedulerConfig): SchedulerConfig {
  const bad = (field: string, value: unknown, expected: string) =>
    new UsageError(
      `Invalid scheduler config "${field}"${
        value === undefined ? "" : ` (${JSON.stringify(value)})`
      }: expected ${expected}`,
    );
  if (config.type !== "interval" && config.type !== "cron") {
    throw bad("type", config.type, '"interval" or "cron"');
  }
  if (config.backupType !== "full" && config.backupType !== "schema") {
    throw bad("backupType", config.backupType, '"full" or "schema"');
  }
  const interval = config.interval;
  if (interval !== undefined && (!Number.isFinite(interval) || interval < 1000)) {
    throw bad("interval", interval, "milliseconds, at least 1000");
  }
  if (config.timezone !== undefined && !isTimeZone(config.timezone)) {
    throw bad("timezone", config.timezone, 'an IANA time zone such as "Europe/Berlin" or "UTC"');
  }
  if (!Number.isInteger(config.retries) || config.retries < 0) {
    throw bad("retries", config.retries, "a whole number ≥ 0");
  }
  if (!Number.isFinite(config.retryBackoff) || config.retryBackoff < 0) {
    throw bad("retryBackoff", config.retryBackoff, "milliseconds ≥ 0");
  }
  if (config.enabled) {
    if (config.type === "interval" && interval === undefined) {
      throw bad("interval", undefined, 'milliseconds between backups with type "interval"');
    }
    if (config.type === "cron") {
      if (config.cron === undefined) {
        throw bad("cron", undefined, 'a cron expression such as "0 2 * * *" with type "cron"');
      }
      checkSchedule({ cron: config.cron, timezone: config.timezone });
    }
  }
  return config;
}
