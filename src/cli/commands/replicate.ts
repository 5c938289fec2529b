import type { Command } from "npm:commander@15.1.0";
import {
  type CommandDeps,
  locationFlags,
  serviceContext,
  settingsFor,
  withLocationOptions,
} from "../deps.ts";
import { ExitCode, UsageError } from "../../core/errors.ts";
import { replicateAllUntil } from "../pitr_replicate_loop.ts";
import { isSeveral } from "../../core/series.ts";

const HELP = `
Ships a SQLite database's write-ahead log to <backupDir>/pitr/ as it is written: a snapshot
starts a generation, then every pitr.interval (default 1s) the frames committed since are stored
as a segment (compressed, SHA-256), so "restore --at TIME" can rebuild the database as of any
moment since the snapshot (to the interval: a commit counts from the step that saw it). The
database must be in WAL mode; the application keeps writing at full speed. Runs until SIGINT or
SIGTERM (it ships what is committed, then exits 0); one replicator per store (a lock).

Examples:
  $ backup-manager replicate
  $ backup-manager restore --at "2026-12-02 14:03:27" --tz Europe/Berlin --dry-run`;

/** Typed arguments of `replicate`. */
export interface ReplicateArgs {
  database?: string;
  dir?: string;
}

/** Replicates until a signal stops it. */
export async function runReplicate(args: ReplicateArgs, deps: CommandDeps): Promise<number> {
  const flags = locationFlags(args);
  const config = settingsFor(deps, flags);
  if (!isSeveral(config.database) && serviceContext(config, deps).engine.kind !== "sqlite") {
    throw new UsageError(
      "Cannot replicate a PostgreSQL database: its WAL is archived by the server's archive_command (wal-push), see the README, Point-in-time recovery (PostgreSQL)",
    );
  }
  const { interrupts } = deps;
  interrupts.allowGracefulStop();
  await replicateAllUntil(config, deps, interrupts.stop, flags);
  return interrupts.abort.aborted ? ExitCode.Interrupted : ExitCode.Ok;
}

/** Registers `replicate`. */
export function registerReplicate(program: Command, deps: CommandDeps): void {
  const command = program.command("replicate")
    .description("ship a SQLite database's WAL continuously, for restore --at (point in time)")
    .addHelpText("after", HELP);
  withLocationOptions(command).action(async (raw) => {
    deps.setExitCode(
      await runReplicate({
        database: raw.database as string | undefined,
        dir: raw.dir as string | undefined,
      }, deps),
    );
  });
}
