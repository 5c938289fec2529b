import type { Command } from "commander";
import type { Io } from "./io.ts";
import type { Clock, ServiceContext } from "../core/backup_service.ts";
import { engineFor } from "../engines/registry.ts";
import { LocalStorage } from "../storage/local.ts";
import { resolveSettings } from "./settings.ts";

/** What commands need from outside: io and a clock (tests pass fakes). */
export interface CommandDeps {
  io: Io;
  clock: Clock;
  /** Set by a command's action: the process exit code. */
  setExitCode(code: number): void;
}

/** Builds the service context from the merged settings. */
export function contextFor(
  flags: { database?: string; dir?: string },
  deps: CommandDeps,
): ServiceContext {
  const settings = resolveSettings(flags, deps.io.env);
  return {
    storage: new LocalStorage(settings.dir),
    engine: engineFor(settings.database),
    database: settings.database,
    clock: deps.clock,
  };
}

/** Adds `--dir` and (unless `database` is false) `--database` to a command. */
export function withLocationOptions(command: Command, database = true): Command {
  command.option("--dir <dir>", "backup directory (env BACKUP_DIR, default ./backups)");
  if (database) {
    command.option(
      "--database <url|path>",
      "database: a SQLite path or sqlite:PATH (env DATABASE_URL, default ./data/app.db)",
    );
  }
  return command;
}
