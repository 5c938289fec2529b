import type { Command } from "npm:commander@15.1.0";
import {
  type CommandDeps,
  flagSetting,
  locationFlags,
  serviceContext,
  settingsFor,
  withCompressionOption,
  withJobsOption,
  withLocationOptions,
  withStallTimeoutOption,
} from "../deps.ts";
import type { SettingValue } from "../../config/environment.ts";
import type { Config } from "../../config/schema.ts";
import { parseDuration } from "../../config/duration.ts";
import { BackupManagerError, ExitCode, messageOf, UsageError } from "../../core/errors.ts";
import { replicateAllUntil } from "../pitr_replicate_loop.ts";
import { baseBackupsUntil } from "../pitr_base_schedule.ts";
import type { EventListener, OpsEvent } from "../../core/events.ts";
import { checkSchedule, type Schedule } from "../../core/schedule.ts";
import { exclusiveGate, runScheduler, type SchedulerResult } from "../../core/scheduler.ts";
import { formatLogLine } from "../log.ts";
import { policyOf } from "./cleanup.ts";
import { destinationsFor } from "../destinations.ts";
import { retentionSettings, withRetentionOptions } from "../retention_flags.ts";
import { notifierFor, runReporterFor } from "../notifications.ts";
import { isSeveral } from "../../core/series.ts";
import { seriesScheduling } from "../series_schedule.ts";
import { runMaintenanceSchedule } from "../../core/maintenance_slot.ts";
import { maintainOptionsOf } from "../maintain_settings.ts";
import { withSeriesOption } from "../series.ts";

const HELP = `
Each run takes the lock, creates a backup, verifies it (--restore-test: also restores it into a
scratch database), applies the retention policy, and writes a "run" line to the audit log. A failed
run is retried with doubling backoff; a run that finds the lock busy (a manual run, cron) is
skipped. With --every, the first run waits until one interval after the newest backup.
Logs go to stdout, one line per event. SIGINT/SIGTERM: the run in progress finishes, then auto
exits 0; a second signal abandons it cleanly (no partial file, lock released, exit 130).
With --once, the exit code is the run's: 0, 6 when the lock was busy, or the failure's code.

Examples:
  $ backup-manager auto --every 6h
  $ backup-manager auto --cron "0 2 * * *" --tz Europe/Berlin --keep-daily 7
  $ backup-manager auto --once --restore-test --log-format json
  $ backup-manager auto --every 1h --compression zstd:3 --jobs 2`;

/** Typed arguments of `auto`. */
export interface AutoArgs {
  /** `--series NAME`: with several databases, back up only this series (default every one). */
  series?: string;
  once: boolean;
  /** Schedule, retry, retention and log flags given; they win over env and the config file. */
  settings: SettingValue[];
  /** `--copy-to` stores, on top of the configured `copies`. */
  copyTo: string[];
  database?: string;
  dir?: string;
}

/** Checks and types the raw options of `auto`; values are checked with the settings. */
export function parseAutoArgs(
  raw: Record<string, unknown>,
  given: (name: string) => boolean = () => true,
): AutoArgs {
  return {
    once: raw.once === true,
    settings: [
      flagSetting("schedule.every", "--every", raw.every),
      flagSetting("schedule.cron", "--cron", raw.cron),
      flagSetting("schedule.timezone", "--tz", raw.tz),
      flagSetting("schedule.type", "--type", raw.type),
      flagSetting("schedule.verify", "--no-verify", given("verify") ? raw.verify : undefined),
      flagSetting("schedule.restoreTest", "--restore-test", raw.restoreTest),
      flagSetting("schedule.retries", "--retries", raw.retries),
      flagSetting("schedule.retryBackoff", "--retry-backoff", raw.retryBackoff),
      ...retentionSettings(raw),
      flagSetting("log.format", "--log-format", raw.logFormat),
      flagSetting("compression", "--compression", raw.compression),
      flagSetting("jobs", "--jobs", raw.jobs),
      flagSetting("stallTimeout", "--stall-timeout", raw.stallTimeout),
    ],
    database: raw.database as string | undefined,
    copyTo: Array.isArray(raw.copyTo) ? raw.copyTo as string[] : [],
    series: raw.series as string | undefined,
    dir: raw.dir as string | undefined,
  };
}

/** The schedule the settings describe, or `undefined` when none is set. */
export function scheduleOf(config: Config): Schedule | undefined {
  const { every, cron, timezone } = config.schedule;
  if (every !== undefined) return { every: parseDuration(every)! };
  if (cron !== undefined) return { cron, timezone: timezone ?? config.timezone };
  return undefined;
}

/** `schedule.maintenance` as a schedule, or `undefined` when maintenance is not scheduled. */
export function maintenanceScheduleOf(config: Config): Schedule | undefined {
  const m = config.schedule.maintenance;
  if (!m) return undefined;
  if (m.every !== undefined) return { every: parseDuration(m.every)! };
  return { cron: m.cron!, timezone: m.timezone ?? config.timezone };
}

/**
 * The log's listener of the scheduler's events (notifications and pings listen too, see
 * `runAuto`). A listener that throws is reported once on stderr and never fails a backup.
 */
export function eventListeners(config: Config, deps: CommandDeps): EventListener[] {
  return [(event) => {
    const line = formatLogLine(event, config.log.format);
    if (line) deps.io.stdout(line);
  }];
}

/** Runs the scheduler until a signal stops it, or one run with `--once`. */
export async function runAuto(args: AutoArgs, deps: CommandDeps): Promise<number> {
  const config = settingsFor(deps, [...locationFlags(args), ...args.settings]);
  const schedule = scheduleOf(config);
  if (!schedule && !args.once) {
    throw new UsageError(
      'Cannot run "auto": no schedule is set (use --every 6h or --cron "0 2 * * *", BACKUP_INTERVAL or BACKUP_CRON, "schedule" in the config file, or --once)',
    );
  }
  if (schedule) checkSchedule(schedule);
  const result = await scheduleRuns(config, deps, {
    schedule,
    once: args.once,
    copyTo: args.copyTo,
    series: args.series,
    keepRetention: args.settings.some((s) =>
      s.value !== undefined && s.path.startsWith("retention")
    ),
  });
  if (result.interrupted) return ExitCode.Interrupted;
  if (!args.once || !result.last) return ExitCode.Ok;
  if (result.last.outcome === "ok") {
    return result.last.copyFailures ? ExitCode.Storage : ExitCode.Ok;
  }
  const error = result.last.error;
  return error instanceof BackupManagerError ? error.exitCode : ExitCode.Failure;
}

/**
 * Runs the scheduler the settings describe until the interrupts stop it (or one cycle with
 * `once`), logging its events and sending its pings and notifications; `auto` and `serve` both
 * run it. The first signal finishes the cycle in progress, the second abandons it.
 */
export async function scheduleRuns(
  config: Config,
  deps: CommandDeps,
  options: {
    schedule?: Schedule;
    once: boolean;
    copyTo: string[];
    /** Several databases: retention flags were given (they win over `retentionPerDatabase`). */
    keepRetention?: boolean;
    /** Several databases: only this series. */
    series?: string;
  },
): Promise<SchedulerResult> {
  const warn = (message: string) => onEvent({ type: "warning", time: deps.clock.now(), message });
  // several databases: each cycle backs up every series in turn, each reporting on its own
  const several = isSeveral(config.database)
    ? seriesScheduling(config, deps, {
      copyTo: options.copyTo,
      keepRetention: options.keepRetention ?? false,
      only: options.series,
      warn,
    })
    : undefined;
  const context = several?.context ?? { ...serviceContext(config, deps), clock: deps.clock };
  // reporting problems become warning lines of the log, in its format
  const reporter = several ?? runReporterFor(config, context, deps, warn);
  const listeners = [...eventListeners(config, deps), reporter.listener];
  const onEvent = (event: OpsEvent) => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        deps.io.stderr(`Warning: an event listener failed: ${(error as Error).message}\n`);
      }
    }
  };
  const { interrupts, clock } = deps;
  interrupts.allowGracefulStop();
  const announce = () =>
    onEvent({
      type: "warning",
      time: clock.now(),
      message: interrupts.abort.aborted
        ? "abandoning the run in progress (a third signal exits at once)"
        : "stopping after the run in progress (a second signal abandons it)",
    });
  interrupts.stop.addEventListener("abort", announce, { once: true });
  interrupts.abort.addEventListener("abort", announce, { once: true });
  // schedule.maintenance: its own loop beside the backups', sharing their lock
  const stopMaintenance = new AbortController();
  const exclusive = exclusiveGate();
  const maintenance = maintenanceScheduleOf(config);
  const maintaining = maintenance && !options.once
    ? runMaintenanceSchedule(deps.clock, {
      schedule: maintenance,
      targets: async () =>
        several
          ? (await several.targets()).map((t) => ({ series: t.series, context: t.context }))
          : [{ context }],
      maintain: {
        ...maintainOptionsOf(config),
        notify: (event) => notifierFor(config, deps, warn).notify(event),
      },
      stop: AbortSignal.any([interrupts.stop, stopMaintenance.signal]),
      signal: interrupts.abort,
      onEvent,
      exclusive,
    })
    : undefined;
  // pitr.enabled: the SQLite database's WAL replicated beside the schedule (restore --at)
  const stopReplication = new AbortController();
  const replicating = config.pitr.enabled && !options.once &&
      (several !== undefined || context.engine.kind === "sqlite")
    ? replicateAllUntil(config, deps, AbortSignal.any([interrupts.stop, stopReplication.signal]))
      .catch((error) => warn(`replication stopped: ${messageOf(error)}`))
    : undefined;
  // pitr.baseBackupEvery: PostgreSQL base backups for restore --at, through the same gate
  const stopBase = new AbortController();
  const basing = config.pitr.baseBackupEvery && !options.once && !several &&
      context.engine.kind === "postgres"
    ? baseBackupsUntil(config, deps, AbortSignal.any([interrupts.stop, stopBase.signal]), {
      onEvent,
      exclusive,
    }).catch((error) => warn(`base backups stopped: ${messageOf(error)}`))
    : undefined;
  const result = await runScheduler(context, {
    schedule: options.schedule,
    once: options.once,
    type: config.schedule.type,
    verify: config.schedule.verify,
    restoreTest: config.schedule.restoreTest,
    retries: config.schedule.retries,
    retryBackoffMs: parseDuration(config.schedule.retryBackoff)!,
    policy: policyOf(config),
    timeZone: config.timezone,
    destinations: several ? [] : destinationsFor(config, deps, options.copyTo),
    ...(several ? { targets: several.targets } : {}),
    stop: interrupts.stop,
    signal: interrupts.abort,
    onEvent,
    exclusive,
  });
  stopMaintenance.abort();
  stopReplication.abort();
  stopBase.abort();
  await maintaining;
  await replicating;
  await basing;
  await reporter.settled(); // pings and notifications of the last run go out before exiting
  return result;
}

/** Registers `auto`. */
export function registerAuto(program: Command, deps: CommandDeps): void {
  const command = withRetentionOptions(program.command("auto"))
    .description("run backups on a schedule: create, verify, cleanup (or one run with --once)")
    .option("--every <duration>", "run at this interval, e.g. 6h (env BACKUP_INTERVAL)")
    .option("--cron <expression>", 'run at these times, e.g. "0 2 * * *" (env BACKUP_CRON)')
    .option("--tz <zone>", "time zone of --cron, e.g. Europe/Berlin (env BACKUP_TZ)")
    .option("--once", "run once now (with retries) and exit: for cron and systemd timers")
    .option("--type <type>", "full or schema (default full)")
    .option("--no-verify", "do not verify each new backup")
    .option("--restore-test", "also restore each new backup into a scratch database")
    .option("--retries <n>", "retries of a failed run (default 3)")
    .option("--retry-backoff <duration>", "wait before the first retry, doubling (default 1m)")
    .option("--log-format <format>", "human or json (env BACKUP_LOG_FORMAT)")
    .option(
      "--copy-to <dir|s3://bucket/prefix>",
      'also copy each backup to this store (repeatable; config "copies")',
      (value: string, previous: string[]) => [...previous, value],
      [],
    );
  withStallTimeoutOption(withJobsOption(withCompressionOption(command)))
    .addHelpText("after", HELP);
  withSeriesOption(withLocationOptions(command), "back up").action(async (raw, cmd: Command) => {
    const given = (name: string) => cmd.getOptionValueSource(name) === "cli";
    deps.setExitCode(await runAuto(parseAutoArgs(raw, given), deps));
  });
}
