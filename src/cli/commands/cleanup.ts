import type { Command } from "commander";
import {
  type CommandDeps,
  flagSetting,
  locationFlags,
  locked,
  serviceContext,
  settingsFor,
  withLocationOptions,
} from "../deps.ts";
import type { SettingValue } from "../../config/environment.ts";
import { cleanup } from "../../core/backup_service.ts";
import { describePolicy, type RetentionPolicy } from "../../core/retention.ts";
import type { Config } from "../../config/schema.ts";
import { ExitCode } from "../../core/errors.ts";
import { formatBytes, renderJson, renderTable } from "../format.ts";
import { parseFormat } from "../settings.ts";

const HELP = `
A backup is kept when any rule keeps it; the newest good backup of each type is always kept, and
with no rule nothing is deleted. Backups that fail their checks never count towards --keep-last.
Files left by interrupted runs (older than 15 minutes) are removed. --dry-run prints exactly what
a real run would do. Exits ${ExitCode.Storage} when anything could not be removed.

Examples:
  $ backup-manager cleanup --keep-last 7 --dry-run
  $ backup-manager cleanup --keep-days 30 --keep-last 10 --format json`;

/** Typed arguments of `cleanup`. */
export interface CleanupArgs {
  /** Retention flags given; they win over the environment and the config file. */
  retention: SettingValue[];
  dryRun: boolean;
  format: "text" | "json";
  dir?: string;
}

/** Checks and types the raw options of `cleanup`; the retention values are checked with the settings. */
export function parseCleanupArgs(raw: Record<string, unknown>): CleanupArgs {
  return {
    retention: [
      flagSetting("retention.keepLast", "--keep-last", raw.keepLast),
      flagSetting("retention.keepDays", "--keep-days", raw.keepDays),
    ],
    dryRun: raw.dryRun === true,
    format: parseFormat(raw.format as string | undefined, ["text", "json"] as const, "text"),
    dir: raw.dir as string | undefined,
  };
}

/** The retention policy the settings describe; `auto` applies the same one after each run. */
export function policyOf(config: Config): RetentionPolicy {
  return { keepLast: config.retention.keepLast, keepDays: config.retention.keepDays };
}

/** Applies the retention policy (or shows what it would do). */
export async function runCleanup(args: CleanupArgs, deps: CommandDeps): Promise<number> {
  const config = settingsFor(deps, [...locationFlags({ dir: args.dir }), ...args.retention]);
  const policy = policyOf(config);
  const context = serviceContext(config, deps);
  const report = args.dryRun
    ? await cleanup(context, policy, true)
    : await locked(context, "cleanup", () => cleanup(context, policy, false));
  const deleted = report.decisions.filter((d) => d.action === "delete");
  if (args.format === "json") {
    deps.io.stdout(renderJson({ ...report, policyText: describePolicy(policy) }));
  } else {
    const verb = args.dryRun ? "would be deleted" : "deleted";
    deps.io.stdout(
      `Policy: ${describePolicy(policy)}${
        args.dryRun ? " (dry run: nothing is deleted)" : ""
      }\n\n` +
        (report.decisions.length
          ? renderTable(
            ["action", "id", "size", "why"],
            report.decisions.map((
              d,
            ) => [d.action, d.id, formatBytes(d.size), d.reasons.join("; ")]),
          )
          : "No backups.\n") +
        report.incomplete.map((i) => `${i.action} incomplete file ${i.key} (${i.reason})\n`).join(
          "",
        ) +
        `\n${deleted.length} backup(s) ${verb}${
          report.failures.length ? ` (${report.failures.length} file(s) could not be removed)` : ""
        }, ${report.decisions.length - deleted.length} kept, ` +
        `${formatBytes(deleted.reduce((s, d) => s + d.size, 0))} ${
          args.dryRun ? "would be " : ""
        }freed\n`,
    );
  }
  for (const failure of report.failures) deps.io.stderr(`Error: ${failure.error}\n`);
  return report.failures.length > 0 ? ExitCode.Storage : 0;
}

/** Registers `cleanup`. */
export function registerCleanup(program: Command, deps: CommandDeps): void {
  const command = program.command("cleanup")
    .description("delete old backups by a retention policy")
    .option("--keep-days <n>", "keep every backup younger than n days (env BACKUP_RETENTION_DAYS)")
    .option(
      "--keep-last <n>",
      "keep the newest n good backups of each type (env BACKUP_MAX_BACKUPS)",
    )
    .option("--dry-run", "print the plan, delete nothing")
    .option("--format <format>", "text or json", "text")
    .addHelpText("after", HELP);
  withLocationOptions(command, false).action(async (raw) => {
    deps.setExitCode(await runCleanup(parseCleanupArgs(raw), deps));
  });
}
