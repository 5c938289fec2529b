import type { Config } from "../config/schema.ts";
import { parseDuration } from "../config/duration.ts";
import { messageOf } from "../core/errors.ts";
import { withLock } from "../core/lock.ts";
import { sqlitePath } from "../engines/sqlite/sqlite_engine.ts";
import { SqliteReplicator } from "../pitr/sqlite_replicator.ts";
import { type CommandDeps, serviceContext, settingsFor } from "./deps.ts";
import type { SettingValue } from "../config/environment.ts";
import { isPostgresLocation } from "../core/series.ts";
import { prefixed, seriesPlan } from "./series.ts";
import { pitrLocation } from "./pitr_store.ts";

/**
 * Replicates the (SQLite) database `config` names under the store's `replicate` lock, a step
 * every `pitr.interval`, until `stop` aborts; then ships what is committed and returns the number
 * of commits shipped. `replicate` runs it alone, `auto` and `serve` beside their schedule when
 * `pitr.enabled`. A failed step is logged and retried by the next one.
 */
export async function replicateUntil(
  config: Config,
  deps: CommandDeps,
  stop: AbortSignal,
): Promise<number> {
  const context = serviceContext(config, deps);
  const path = sqlitePath(context.database);
  const { store, lockDirectory, location } = pitrLocation(config, deps);
  const intervalMs = parseDuration(config.pitr.interval)!;
  const { clock } = deps;
  const log = (level: "info" | "warn", message: string) => {
    const time = clock.now();
    deps.io.stdout(
      config.log.format === "json"
        ? JSON.stringify({ time: time.toISOString(), level, event: "replicate", message }) + "\n"
        : `${time.toISOString().slice(0, 19)}Z ${level.padEnd(5)} ${message}\n`,
    );
  };
  return await withLock(lockDirectory, { command: "replicate", clock }, async () => {
    const replicator = new SqliteReplicator(path, store, {
      clock,
      checkpointBytes: config.pitr.checkpointBytes,
      snapshotEveryMs: parseDuration(config.pitr.snapshotEvery)!,
      keepMs: config.pitr.keepDays * 24 * 3600_000,
      // encryption.recipients set: snapshots and segments are stored encrypted, as backups are
      recipients: context.encryption?.recipients ?? [],
    });
    log(
      "info",
      `replicating ${context.engine.redact(path)} to ${location} every ${config.pitr.interval}`,
    );
    let commits = 0;
    try {
      while (!stop.aborted) {
        const started = clock.now().getTime();
        try {
          const result = await replicator.step();
          commits += result.commits;
          if (result.newGeneration) {
            log(
              "info",
              `generation ${result.newGeneration.id} started: ${result.newGeneration.reason}`,
            );
          }
        } catch (error) {
          log("warn", `replication step failed (retried next step): ${messageOf(error)}`);
        }
        await clock.sleepUntil(new Date(started + intervalMs), stop);
      }
    } finally {
      await replicator.close();
    }
    log("info", `stopped: ${commits} commits shipped`);
    return commits;
  });
}

/**
 * {@linkcode replicateUntil} for whatever `config` names: one SQLite database, or with several
 * (a glob or a list) every SQLite series matched at the start, at once, each into its own
 * series' store (`<backupDir>/<series>/pitr/`) under its own lock, its log lines prefixed with
 * its name. PostgreSQL series are left to their WAL archiving (a warning). The commits shipped.
 */
export async function replicateAllUntil(
  config: Config,
  deps: CommandDeps,
  stop: AbortSignal,
  flags: SettingValue[] = [],
): Promise<number> {
  const plan = deps.series ? undefined : await seriesPlan(config, deps);
  if (!plan) return await replicateUntil(config, deps, stop);
  const runs = plan.current.map(async (series) => {
    const io = {
      ...deps.io,
      stdout: (text: string) => deps.io.stdout(prefixed(series.name, text)),
    };
    if (isPostgresLocation(series.database)) {
      io.stdout(
        `${
          deps.clock.now().toISOString().slice(0, 19)
        }Z warn  not replicated: a PostgreSQL database archives its WAL (wal-push)\n`,
      );
      return 0;
    }
    const seriesDeps: CommandDeps = { ...deps, series, io };
    return await replicateUntil(settingsFor(seriesDeps, flags), seriesDeps, stop);
  });
  return (await Promise.all(runs)).reduce((a, b) => a + b, 0);
}
