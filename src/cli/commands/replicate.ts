import type { Command } from "npm:commander@15.1.0";
import {
  type CommandDeps,
  locationFlags,
  serviceContext,
  settingsFor,
  withLocationOptions,
} from "../deps.ts";
import { ExitCode, messageOf, UsageError } from "../../core/errors.ts";
import { withLock } from "../../core/lock.ts";
import { parseDuration } from "../../config/duration.ts";
import { SqliteReplicator } from "../../pitr/sqlite_replicator.ts";
import { sqlitePath } from "../../engines/sqlite/sqlite_engine.ts";
import { pitrLocation } from "../pitr_store.ts";

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
  const config = settingsFor(deps, locationFlags(args));
  const context = serviceContext(config, deps);
  if (context.engine.kind !== "sqlite") {
    throw new UsageError(
      "Cannot replicate: continuous replication is built for SQLite databases (PostgreSQL's WAL archiving is not built yet)",
    );
  }
  const path = sqlitePath(context.database);
  const { store, lockDirectory, location } = pitrLocation(config, deps);
  const intervalMs = parseDuration(config.pitr.interval)!;
  const log = (level: "info" | "warn", message: string) => {
    const time = deps.clock.now();
    deps.io.stdout(
      config.log.format === "json"
        ? JSON.stringify({ time: time.toISOString(), level, event: "replicate", message }) + "\n"
        : `${time.toISOString().slice(0, 19)}Z ${level.padEnd(5)} ${message}\n`,
    );
  };
  const { interrupts, clock } = deps;
  interrupts.allowGracefulStop();
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
      while (!interrupts.stop.aborted) {
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
        await clock.sleepUntil(new Date(started + intervalMs), interrupts.stop);
      }
    } finally {
      await replicator.close();
    }
    log("info", `stopped: ${commits} commits shipped`);
    return interrupts.abort.aborted ? ExitCode.Interrupted : ExitCode.Ok;
  });
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
