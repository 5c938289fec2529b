import type { Command } from "commander";
import type { Io } from "./io.ts";
import type { ServiceContext } from "../core/backup_service.ts";
import type { SleepingClock } from "../core/clock.ts";
import { withLock } from "../core/lock.ts";
import type { Interrupts } from "./interrupts.ts";
import { engineFor } from "../engines/registry.ts";
import { LocalStorage } from "../storage/local.ts";
import { loadConfig } from "../config/load_config.ts";
import type { Config } from "../config/schema.ts";
import type { SettingValue } from "../config/environment.ts";

/** What commands need from outside: io, a clock and the signals (tests pass fakes). */
export interface CommandDeps {
  io: Io;
  clock: SleepingClock;
  interrupts: Interrupts;
  /** Set by a command's action: the process exit code. */
  setExitCode(code: number): void;
  /** The global `--config PATH`, read once the command line is parsed. */
  configPath?(): string | undefined;
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
  return loadConfig({
    configPath: deps.configPath?.(),
    cwd: deps.io.cwd,
    env: deps.io.env,
    flags,
  });
}

/** The service context (store, engine, clock) that `config` describes. */
export function serviceContext(config: Config, deps: CommandDeps): ServiceContext {
  return {
    storage: new LocalStorage(config.backupDir),
    engine: engineFor(config.database, deps.io.env),
    database: config.database,
    clock: deps.clock,
    actor: "cli",
    onEvent: (event) => {
      if (event.type === "warning") deps.io.stderr(`Warning: ${event.message}\n`);
    },
  };
}

/** The `--database` / `--dir` flags as settings. */
export function locationFlags(flags: { database?: string; dir?: string }): SettingValue[] {
  return [
    flagSetting("database", "--database", flags.database),
    flagSetting("backupDir", "--dir", flags.dir),
  ];
}

/** Builds the service context from the merged settings, with `--database` / `--dir` on top. */
export function contextFor(
  flags: { database?: string; dir?: string },
  deps: CommandDeps,
): ServiceContext {
  return serviceContext(settingsFor(deps, locationFlags(flags)), deps);
}

/**
 * Runs `fn` holding the backup directory's lock, so a manual run never collides with `auto` or
 * cron; a busy lock is a one-line refusal (exit 6) naming the holder.
 */
export async function locked<T>(
  context: ServiceContext,
  command: string,
  fn: () => Promise<T>,
): Promise<T> {
  return await withLock(context.storage.location, { command, clock: context.clock }, fn);
}

/** Adds `--dir` and (unless `database` is false) `--database` to a command. */
export function withLocationOptions(command: Command, database = true): Command {
  command.option("--dir <dir>", "backup directory (env BACKUP_DIR, default ./backups)");
  if (database) {
    command.option(
      "--database <url|path>",
      "database: a SQLite path, sqlite:PATH or postgres://user@host:port/db (env DATABASE_URL)",
    );
  }
  return command;
}
