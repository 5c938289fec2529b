import { Command, CommanderError } from "npm:commander@15.1.0";
import type { Io } from "./io.ts";
import type { SleepingClock } from "../core/clock.ts";
import { Interrupts } from "./interrupts.ts";
import { BackupManagerError, ExitCode } from "../core/errors.ts";
import type { CommandDeps } from "./deps.ts";
import { registerCreate } from "./commands/create.ts";
import { registerList } from "./commands/list.ts";
import { registerRestore } from "./commands/restore.ts";
import { registerVerify } from "./commands/verify.ts";
import { registerCleanup } from "./commands/cleanup.ts";
import { registerCheck, registerStatus } from "./commands/status.ts";
import { registerAuto } from "./commands/auto.ts";
import { registerPin } from "./commands/pin.ts";
import { registerCopy } from "./commands/copy.ts";
import { registerServe } from "./commands/serve.ts";
import { registerToken } from "./commands/token.ts";
import { registerKeygen } from "./commands/keygen.ts";
import { registerExtract } from "./commands/extract.ts";
import { registerDiff } from "./commands/diff.ts";
import { registerMaintain } from "./commands/maintain.ts";
import { registerReplicate } from "./commands/replicate.ts";
import { registerWal } from "./commands/wal.ts";

/**
 * Runs one command line and returns the exit code. Every expected failure becomes one line on
 * stderr and its documented code; `--verbose` adds the cause chain. Nothing here exits.
 */
export async function run(
  argv: string[],
  io: Io,
  clock: SleepingClock,
  interrupts: Interrupts = new Interrupts(),
): Promise<number> {
  let exitCode: number = ExitCode.Ok;
  const verbose = argv.includes("--verbose");
  const args = argv.filter((a) => a !== "--verbose");
  const program = new Command("backup-manager");
  const deps: CommandDeps = {
    io,
    clock,
    interrupts,
    setExitCode: (code) => exitCode = code,
    configPath: () => program.opts().config as string | undefined,
  };
  program
    .description(
      "Backups of SQLite and PostgreSQL databases you can trust: create, list, verify, restore, prune, serve",
    )
    .version("0.1.0")
    .option("--verbose", "print the cause of errors")
    .option("--config <path>", "settings file (default ./backup-manager.json when it exists)")
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: () => {}, // errors are printed once, below, as one line
    });
  program.addHelpText(
    "after",
    `
Settings: flags win over the environment, the environment over the config file
(./backup-manager.json or --config PATH), the file over the defaults; see the README, "Settings".
Environment: DATABASE_URL, BACKUP_DIR, BACKUP_TZ, BACKUP_RETENTION_DAYS, BACKUP_MAX_BACKUPS,
BACKUP_AGE_RECIPIENTS, BACKUP_AGE_IDENTITY_FILE, the AWS_* variables for S3 stores, and more
(README).
Exit codes: 0 ok, 1 unexpected failure, 2 usage, 3 not found, 4 ambiguous id, 5 integrity,
6 refused (needs --force or confirmation, or another run holds the lock), 7 storage, 8 database,
9 not built yet, 130 interrupted.`,
  );
  for (
    const register of [
      registerCreate,
      registerList,
      registerRestore,
      registerVerify,
      registerCleanup,
      registerPin,
      registerCopy,
      registerStatus,
      registerMaintain,
      registerReplicate,
      registerWal,
      registerCheck,
      registerAuto,
      registerServe,
      registerToken,
      registerKeygen,
      registerDiff,
      registerExtract,
    ]
  ) {
    register(program, deps);
  }
  try {
    if (args.length === 0) {
      program.outputHelp();
      return ExitCode.Usage;
    }
    await program.parseAsync(args, { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return ExitCode.Ok; // --help, --version
      io.stderr(`Error: ${usageMessage(error.message)} (see --help)\n`);
      return ExitCode.Usage;
    }
    if (error instanceof BackupManagerError) {
      io.stderr(`Error: ${error.message}\n`);
      if (verbose) printCauses(io, error.cause);
      return error.exitCode;
    }
    io.stderr(
      `Error: unexpected failure: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    if (verbose && error instanceof Error) io.stderr(`${error.stack}\n`);
    return ExitCode.Failure;
  }
}

/** Commander's "error: unknown option 'x'" in our style: one line, sentence case, values in double quotes. */
function usageMessage(text: string): string {
  const line = text.replace(/^error:\s*/i, "").replace(/\s*\n\s*/g, " ").trim()
    .replace(/'([^'\s]*)'/g, '"$1"');
  return line.charAt(0).toUpperCase() + line.slice(1);
}

function printCauses(io: Io, cause: unknown): void {
  for (let c = cause; c; c = c instanceof Error ? c.cause : undefined) {
    io.stderr(`  caused by: ${c instanceof Error ? c.message : String(c)}\n`);
    if (!(c instanceof Error)) break;
  }
}
