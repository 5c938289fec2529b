import type { Command } from "npm:commander@15.1.0";
import type { Io } from "./io.ts";
import type { ServiceContext } from "../core/context.ts";
import type { SleepingClock } from "../core/clock.ts";
import { lockDirectoryOf, withLock } from "../core/lock.ts";
import { parseRecipients } from "../core/crypto/age.ts";
import { signingSettings } from "../core/signing.ts";
import type { Interrupts } from "./interrupts.ts";
import { engineFor } from "../engines/registry.ts";
import { lockDirectoryFor, openStorage, subStoreUrl } from "../storage/open_storage.ts";
import { isSeveral, parseDatabaseText, type Series } from "../core/series.ts";
import { UsageError } from "../core/errors.ts";
import type { Storage } from "../storage/storage.ts";
import { loadConfig } from "../config/load_config.ts";
import { parseTimeout } from "../config/duration.ts";
import type { Config } from "../config/schema.ts";
import type { SettingValue } from "../config/environment.ts";
import { type CompressionSpec, formatCompression, parseCompression } from "../core/compression.ts";
import { sweepAfterLock } from "../core/scratch_sweep.ts";
import { describeSweep } from "./log.ts";
import { hookLine, hookSettingsFor } from "./hook_settings.ts";

/** What commands need from outside: io, a clock and the signals (tests pass fakes). */
export interface CommandDeps {
  io: Io;
  clock: SleepingClock;
  interrupts: Interrupts;
  /** Set by a command's action: the process exit code. */
  setExitCode(code: number): void;
  /** The global `--config PATH`, read once the command line is parsed. */
  configPath?(): string | undefined;
  /**
   * The one series of several databases this run works on (`src/cli/series.ts` sets it):
   * {@linkcode settingsFor} then describes that series alone (its database, its sub-store, its
   * retention), so every command runs unchanged on it. Absent: the settings as they are.
   */
  series?: Series;
}

/** A setting given as a flag, for {@linkcode settingsFor}; `value` undefined means "not given". */
export function flagSetting(path: string, flag: string, value: unknown): SettingValue {
  return { path, value, source: flag };
}

/**
 * The validated settings every command reads: defaults < config file < environment < `flags`.
 * Throws a one-line `UsageError` (exit 2) naming the setting on any mistake.
 */
export function settingsFor(deps: CommandDeps, flags: SettingValue[] = []): Config {
  const config = loadConfig({
    configPath: deps.configPath?.(),
    cwd: deps.io.cwd,
    env: deps.io.env,
    flags,
  });
  if (!deps.series) return config;
  // retention flags (cleanup, auto) apply to every series, over `retentionPerDatabase`
  const retentionFlag = flags.some((f) => f.value !== undefined && f.path.startsWith("retention"));
  return seriesConfig(config, deps.series, { keepRetention: retentionFlag });
}

/**
 * The settings of one series of several databases: its database alone, its sub-store of the
 * store and of every copy (`<store>/<series>/`), and its retention (`retentionPerDatabase`
 * names it, or the general `retention`).
 */
export function seriesConfig(
  config: Config,
  series: Series,
  options: { keepRetention?: boolean } = {},
): Config {
  const own = options.keepRetention ? undefined : config.retentionPerDatabase[series.name];
  return {
    ...config,
    database: series.database,
    backupDir: subStoreUrl(config.backupDir, series.name),
    copies: config.copies.map((copy) => ({ ...copy, url: subStoreUrl(copy.url, series.name) })),
    retention: own ?? config.retention,
  };
}

/**
 * The one database the settings name, for commands and front ends that work on one; with a glob
 * or a list it refuses in one line (the CLI picks a series first, `src/cli/series.ts`).
 */
export function singleDatabase(config: Config): string {
  const setting = config.database;
  if (!isSeveral(setting)) return setting as string;
  throw new UsageError(
    `Cannot use "database" ${
      typeof setting === "string" ? `"${setting}"` : "list"
    } here: it names several databases (pick one with --series NAME, or give --database)`,
  );
}

/** The store at `url` (a directory or `s3://…`), reached with the `s3` settings. */
export function storageFor(url: string, config: Config, deps: CommandDeps): Storage {
  return openStorage(url, { s3: config.s3, env: deps.io.env });
}

/** The service context (store, engine, clock) that `config` describes. */
export function serviceContext(config: Config, deps: CommandDeps): ServiceContext {
  const database = singleDatabase(config);
  return {
    storage: storageFor(config.backupDir, config, deps),
    lockDirectory: lockDirectoryFor(config.backupDir, deps.io.env),
    engine: engineFor(database, deps.io.env),
    database,
    clock: deps.clock,
    actor: "cli",
    compression: parseCompression(config.compression),
    jobs: config.jobs,
    stallTimeoutMs: parseTimeout(config.stallTimeout),
    encryption: {
      recipients: config.encryption.recipients.length
        ? parseRecipients(config.encryption.recipients, "encryption.recipients")
        : [],
      ...(config.encryption.identityFile ? { identityFile: config.encryption.identityFile } : {}),
    },
    signing: signingSettings(config.signing),
    hooks: hookSettingsFor(config, deps),
    onEvent: (event) => {
      if (event.type === "warning") deps.io.stderr(`Warning: ${event.message}\n`);
      if (event.type === "hook-output") deps.io.stderr(hookLine(event, config.log.format));
      // a leftover of an interrupted run removed by the sweep after the lock: one line each
      if (event.type === "action" && event.entry.action === "sweep") {
        const line = describeSweep(event.entry);
        if (event.entry.outcome === "ok") {
          deps.io.stderr(line[0].toUpperCase() + line.slice(1) + "\n");
        }
      }
    },
  };
}

/** The `--database` / `--dir` (and `--identity`) flags as settings. */
export function locationFlags(
  flags: { database?: string; dir?: string; identity?: string },
): SettingValue[] {
  return [
    flagSetting(
      "database",
      "--database",
      flags.database === undefined ? undefined : parseDatabaseText(flags.database),
    ),
    flagSetting("backupDir", "--dir", flags.dir),
    flagSetting("encryption.identityFile", "--identity", flags.identity),
  ];
}

/** The `--compression` / `--jobs` / `--stall-timeout` flags as settings. */
export function tuningFlags(
  flags: { compression?: CompressionSpec; jobs?: number; stallTimeout?: string },
): SettingValue[] {
  return [
    flagSetting(
      "compression",
      "--compression",
      flags.compression && formatCompression(flags.compression),
    ),
    flagSetting("jobs", "--jobs", flags.jobs),
    flagSetting("stallTimeout", "--stall-timeout", flags.stallTimeout),
  ];
}

/**
 * Builds the service context from the merged settings, with `--database` / `--dir` (and
 * `--compression` / `--jobs`) on top.
 */
export function contextFor(
  flags: {
    database?: string;
    dir?: string;
    identity?: string;
    compression?: CompressionSpec;
    jobs?: number;
    stallTimeout?: string;
  },
  deps: CommandDeps,
): ServiceContext {
  return serviceContext(settingsFor(deps, [...locationFlags(flags), ...tuningFlags(flags)]), deps);
}

/** Options of {@linkcode locked}. */
export interface LockedOptions {
  /**
   * Remove the stale leftovers of interrupted runs once the lock is held (`scratch_sweep.ts`).
   * Default `true`; `cleanup` does it itself, to report them.
   */
  sweep?: boolean;
  /** Stores whose partials the sweep looks at. Default: the context's store alone. */
  stores?: Storage[];
  /** Databases whose scratch the sweep looks for. Default: the context's database alone. */
  locations?: string[];
}

/**
 * Runs `fn` holding the backup directory's lock, so a manual run never collides with `auto` or
 * cron; a busy lock is a one-line refusal (exit 6) naming the holder. Holding the lock, it first
 * removes what interrupted runs left (one stderr line each; a failure is only a warning).
 */
export async function locked<T>(
  context: ServiceContext,
  command: string,
  fn: () => Promise<T>,
  options: LockedOptions = {},
): Promise<T> {
  return await withLock(lockDirectoryOf(context), { command, clock: context.clock }, async () => {
    if (options.sweep ?? true) await sweepAfterLock(context, options);
    return await fn();
  });
}

/** Adds `--identity FILE`, the age key that reads encrypted backups, to a command. */
export function withIdentityOption(command: Command): Command {
  return command.option(
    "--identity <file>",
    "age identity file that decrypts encrypted backups (env BACKUP_AGE_IDENTITY_FILE)",
  );
}

/** Adds `--jobs N`: threads or connections a dump or load uses at once. */
export function withJobsOption(command: Command): Command {
  return command.option(
    "--jobs <n>",
    "threads (SQLite) or connections (PostgreSQL) to use at once (env BACKUP_JOBS, default: the cores)",
  );
}

/** Adds `--stall-timeout DURATION`: how long a run may move no byte before it is abandoned. */
export function withStallTimeoutOption(command: Command): Command {
  return command.option(
    "--stall-timeout <duration>",
    'abandon the run after this long without progress, "off" never (env BACKUP_STALL_TIMEOUT, default 10m)',
  );
}

/** Adds `--compression FORMAT`: how new backups are compressed. */
export function withCompressionOption(command: Command): Command {
  return command.option(
    "--compression <format>",
    "gzip[:1-9], zstd[:1-19] or none (env BACKUP_COMPRESSION, default gzip:6)",
  );
}

/** Adds `--dir` and (unless `database` is false) `--database` to a command. */
export function withLocationOptions(command: Command, database = true): Command {
  command.option(
    "--dir <dir|s3://bucket/prefix>",
    "backup store: a directory or an S3 bucket (env BACKUP_DIR, default ./backups)",
  );
  if (database) {
    command.option(
      "--database <url|path>",
      'database: a SQLite path, sqlite:PATH or postgres://user@host:port/db; several: a glob ("./data/*.db") or a ";"-separated list (env DATABASE_URL)',
    );
  }
  return command;
}
