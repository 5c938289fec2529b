import type { Command } from "npm:commander@15.1.0";
import {
  type CommandDeps,
  contextFor,
  withIdentityOption,
  withJobsOption,
  withLocationOptions,
  withStallTimeoutOption,
} from "../deps.ts";
import { verifyBackup, type VerifyResult } from "../../core/verify.ts";
import { listBackups } from "../../core/catalog.ts";
import { ExitCode, UsageError } from "../../core/errors.ts";
import { renderJson } from "../format.ts";
import { parseFormat, parseJobs } from "../settings.ts";
import { inSeriesOf, runPerSeries, withSeriesOption } from "../series.ts";
import { runVerifyPitr } from "../pitr_verify_command.ts";

const HELP = `
Checks the sidecar (schema, self-checksum), each data file's size and SHA-256 (the main file and
every part: a server's databases, the files' tar, read to its end), and that each gzip (zstd)
stream is whole and decompresses to the recorded size (encrypted backups: decrypted with
--identity first; without an identity only the stored bytes' size and checksum are checked).
--restore-test also restores each dump into a scratch database (SQLite: then runs integrity_check;
PostgreSQL: a scratch database on the same server, dropped afterwards) and compares row counts
with the sidecar; --jobs bounds its threads or connections. The outcome is recorded in the
sidecar. Exits ${ExitCode.Integrity} when any backup fails.

Examples:
  $ backup-manager verify full_20261123T101500123Z
  $ backup-manager verify --all --restore-test
  $ backup-manager verify --all --dir s3://acme-backups/db-1 --identity key.txt`;

/** Typed arguments of `verify`. */
export interface VerifyArgs {
  /** `--series NAME`: with several databases, only this series (default every one, or the one holding the id). */
  series?: string;
  id?: string;
  all: boolean;
  restoreTest: boolean;
  format: "text" | "json";
  database?: string;
  dir?: string;
  /** `--identity`: the age identity file for encrypted backups. */
  identity?: string;
  /** `--jobs` of the restore test; default the `jobs` setting. */
  jobs?: number;
  /** `--stall-timeout`; default the `stallTimeout` setting. */
  stallTimeout?: string;
}

/** Checks and types the raw options of `verify`. */
export function parseVerifyArgs(id: string | undefined, raw: Record<string, unknown>): VerifyArgs {
  const all = raw.all === true;
  if (all === (id !== undefined)) {
    throw new UsageError("Cannot verify: give one backup id or --all (not both, not neither)");
  }
  return {
    id,
    all,
    restoreTest: raw.restoreTest === true,
    format: parseFormat(raw.format as string | undefined, ["text", "json"] as const, "text"),
    database: raw.database as string | undefined,
    dir: raw.dir as string | undefined,
    identity: raw.identity as string | undefined,
    jobs: parseJobs(raw.jobs),
    stallTimeout: raw.stallTimeout as string | undefined,
    series: raw.series as string | undefined,
  };
}

/** Verifies one or all backups. */
export async function runVerify(args: VerifyArgs, deps: CommandDeps): Promise<number> {
  // --all: every series' backups; an id: the series that holds it
  if (args.all) {
    return await runPerSeries(args, deps, (d) => verifyOne(args, d), { format: args.format });
  }
  return await inSeriesOf(args, deps, args.id!, (d) => verifyOne(args, d));
}

async function verifyOne(args: VerifyArgs, deps: CommandDeps): Promise<number> {
  const context = contextFor(args, deps);
  const ids = args.all ? (await listBackups(context.storage)).map((b) => b.id) : [args.id!];
  const results: VerifyResult[] = [];
  for (const id of ids) {
    const result = await verifyBackup(context, id, {
      restoreTest: args.restoreTest,
      signal: deps.interrupts.abort,
    });
    results.push(result);
    if (args.format === "text") {
      deps.io.stdout(`${result.ok ? "PASS" : "FAIL"} ${result.id}\n`);
      for (const check of result.checks) {
        deps.io.stdout(`  ${check.ok ? "ok  " : "FAIL"} ${check.name}: ${check.detail}\n`);
      }
    }
  }
  if (args.format === "json") deps.io.stdout(renderJson(results));
  else if (results.length === 0) deps.io.stdout("No backups to verify\n");
  const failed = results.filter((r) => !r.ok).length;
  if (failed > 0) {
    deps.io.stderr(`${failed} of ${results.length} backup(s) failed verification\n`);
    return ExitCode.Integrity;
  }
  return 0;
}

/** Registers `verify`. */
export function registerVerify(program: Command, deps: CommandDeps): void {
  const command = program.command("verify")
    .description("check backups: checksum, gzip (zstd), sidecar; optionally a test restore")
    .argument("[id]", "backup id, or any unique part of one")
    .option("--all", "verify every backup")
    .option("--pitr", "verify the point-in-time store instead (replicate's and the WAL archive's)")
    .option("--restore-test", "restore into a scratch database and compare row counts")
    .option("--format <format>", "text or json", "text");
  withStallTimeoutOption(withJobsOption(command)).addHelpText("after", HELP);
  withSeriesOption(withLocationOptions(withIdentityOption(command)), "verify").action(
    async (id, raw) => {
      if (raw.pitr) {
        const args = {
          format: parseFormat(raw.format as string | undefined, ["text", "json"] as const, "text"),
          database: raw.database as string | undefined,
          dir: raw.dir as string | undefined,
          identity: raw.identity as string | undefined,
          series: raw.series as string | undefined,
        };
        if (id !== undefined || raw.all) {
          throw new UsageError("Cannot verify: give --pitr alone (not with an id or --all)");
        }
        deps.setExitCode(
          await runPerSeries(args, deps, (d) => runVerifyPitr(args, d), { format: args.format }),
        );
        return;
      }
      deps.setExitCode(await runVerify(parseVerifyArgs(id, raw), deps));
    },
  );
}
