import type { Config } from "../config/schema.ts";
import { parseDuration } from "../config/duration.ts";
import { messageOf } from "../core/errors.ts";
import type { EventListener } from "../core/events.ts";
import type { Exclusive } from "../core/scheduler.ts";
import { listBaseBackups } from "../pitr/pg_base_backup.ts";
import { type CommandDeps, serviceContext } from "./deps.ts";
import { runReporterFor } from "./notifications.ts";
import { baseBackupRun } from "./pg_base_backup_command.ts";
import { pitrLocation } from "./pitr_store.ts";

/** Options of {@linkcode baseBackupsUntil}. */
export interface BaseScheduleOptions {
  /** The log's listener: each base backup's audit line, warnings. */
  onEvent: EventListener;
  /** The gate `auto`'s cycles go through, so a base backup never runs beside a dump. */
  exclusive?: Exclusive;
}

/**
 * `pitr.baseBackupEvery` in `auto` and `serve`: a base backup of the PostgreSQL server whenever
 * the newest one in the store is that old (at once when there is none), until `stop`. Anchored on
 * the store, so a restarted `auto` does not take one early; a failure is logged and notified once
 * per run of failures, and retried after `schedule.retryBackoff`.
 */
export async function baseBackupsUntil(
  config: Config,
  deps: CommandDeps,
  stop: AbortSignal,
  options: BaseScheduleOptions,
): Promise<void> {
  const everyMs = parseDuration(config.pitr.baseBackupEvery!)!;
  const retryMs = Math.max(1000, parseDuration(config.schedule.retryBackoff) ?? 60_000);
  const { store } = pitrLocation(config, deps);
  const context = { ...serviceContext(config, deps), actor: "scheduler" as const, ...options };
  const warn = (message: string) =>
    options.onEvent({ type: "warning", time: deps.clock.now(), message });
  const reporter = runReporterFor(config, context, deps, warn);
  let failing = false;
  let due: Date | undefined;
  while (!stop.aborted) {
    if (!due) {
      const newest = (await listBaseBackups(store).catch(() => [])).at(-1);
      due = newest ? new Date(Date.parse(newest.stoppedAt) + everyMs) : deps.clock.now();
    }
    await deps.clock.sleepUntil(due, stop);
    if (stop.aborted) break;
    try {
      const run = () => baseBackupRun(config, deps, context, { warn });
      const { manifest } = await (options.exclusive ? options.exclusive(run) : run());
      if (failing) await reporter.succeeded(manifest.id);
      failing = false;
      due = undefined;
    } catch (error) {
      if (deps.interrupts.abort.aborted) break;
      warn(`base backup failed (retried in ${Math.round(retryMs / 1000)} s): ${messageOf(error)}`);
      if (!failing) await reporter.failed(`Base backup failed: ${messageOf(error)}`);
      failing = true;
      due = new Date(deps.clock.now().getTime() + retryMs);
    }
  }
  await reporter.settled();
}
