import type { Command } from "npm:commander@15.1.0";
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
import { type CleanupReport, cleanupStores } from "../../core/cleanup.ts";
import { destinationsFor } from "../destinations.ts";
import { describePolicy, type RetentionPolicy } from "../../core/retention.ts";
import type { Config } from "../../config/schema.ts";
import { ExitCode } from "../../core/errors.ts";
import { formatBytes, renderJson, renderTable } from "../format.ts";
import { cleanupPitr, pitrCleanupLine } from "../pitr_cleanup.ts";
import { parseFormat } from "../settings.ts";
import { runPerSeries, withSeriesOption } from "../series.ts";
import { retentionSettings, withRetentionOptions } from "../retention_flags.ts";

const HELP = `
A backup is kept when any rule keeps it. The tiers keep the newest good backup of each of the
last N hours, days, ISO weeks, months or years (in the configured time zone, --tz). Pinned
backups, and the newest good backup of each type, are always kept. With no rule at all nothing is
deleted, and when the newest backup is not good nothing is deleted either. Backups that fail
their checks never fill a rule's slot. Rules from the config file ("retention", with per-type and
pre-restore rules) and the environment apply too; flags win over them rule by rule.
Each copy destination ("copies" in the config) is cleaned the same way, by its own "retention"
(the general rules when it has none), from its own listing. What interrupted runs left is removed
too: partial files whose writer is gone (at once), other incomplete files and S3 multipart uploads
never completed (once older than 15 minutes), restore temporaries beside a SQLite database and
load or restore-test databases on a PostgreSQL server whose owner is gone (never one in use).
--dry-run prints exactly what a real run would do. Exits ${ExitCode.Storage} when anything could not be removed.

Examples:
  $ backup-manager cleanup --keep-last 7 --dry-run
  $ backup-manager cleanup --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --tz Europe/Berlin
  $ backup-manager cleanup --keep-days 30 --keep-last 10 --format json`;

/** Typed arguments of `cleanup`. */
export interface CleanupArgs {
  /** `--series NAME`: with several databases, only this series (default every one). */
  series?: string;
  /** Retention flags given (and `--tz`); they win over the environment and the config file. */
  settings: SettingValue[];
  dryRun: boolean;
  format: "text" | "json";
  dir?: string;
  /** The database whose scratch leftovers (restore temporaries, load databases) go too. */
  database?: string;
}

/** Checks and types the raw options of `cleanup`; the rule values are checked with the settings. */
export function parseCleanupArgs(raw: Record<string, unknown>): CleanupArgs {
  return {
    settings: [
      ...retentionSettings(raw),
      flagSetting("timezone", "--tz", raw.tz),
    ],
    dryRun: raw.dryRun === true,
    format: parseFormat(raw.format as string | undefined, ["text", "json"] as const, "text"),
    dir: raw.dir as string | undefined,
    database: raw.database as string | undefined,
    series: raw.series as string | undefined,
  };
}

/** The retention policy the settings describe; `auto` applies the same one after each run. */
export function policyOf(config: Config): RetentionPolicy {
  return config.retention;
}

/** Applies the retention policy (or shows what it would do). */
export async function runCleanup(args: CleanupArgs, deps: CommandDeps): Promise<number> {
  // each series by its own listing and retention (retentionPerDatabase); vanished ones untouched
  return await runPerSeries(args, deps, (d) => cleanupOne(args, d), { format: args.format });
}

async function cleanupOne(args: CleanupArgs, deps: CommandDeps): Promise<number> {
  const config = settingsFor(deps, [
    ...locationFlags({ dir: args.dir, database: args.database }),
    ...args.settings,
  ]);
  const context = serviceContext(config, deps);
  const destinations = destinationsFor(config, deps);
  const run = () =>
    cleanupStores(context, policyOf(config), destinations, {
      timeZone: config.timezone,
      dryRun: args.dryRun,
    });
  // cleanup reports the leftovers it removes itself: no separate line per removal on stderr
  const onEvent = context.onEvent;
  context.onEvent = (event) => {
    if (event.type !== "action" || event.entry.action !== "sweep") onEvent?.(event);
  };
  const reports = args.dryRun
    ? await run()
    : await locked(context, "cleanup", run, { sweep: false });
  const pitr = await cleanupPitr(config, deps, args.dryRun);
  const shown = reports.map((report) => ({
    ...report,
    policyText: describePolicy(report.policy, report.timeZone),
  }));
  if (args.format === "json") {
    const withPitr = pitr ? [{ ...shown[0], pitr }, ...shown.slice(1)] : shown;
    deps.io.stdout(renderJson(destinations.length ? withPitr : withPitr[0]));
  } else {
    deps.io.stdout(
      shown.map((r) =>
        (destinations.length ? `Store ${r.store}\n` : "") + renderReport(r, r.policyText)
      ).join("\n") + (pitr ? pitrCleanupLine(pitr, config.pitr.keepDays) : ""),
    );
  }
  const failures = reports.flatMap((r) => r.failures);
  for (const failure of failures) deps.io.stderr(`Error: ${failure.error}\n`);
  return failures.length > 0 ? ExitCode.Storage : 0;
}

function renderReport(report: CleanupReport, policyText: string): string {
  const deleted = report.decisions.filter((d) => d.action === "delete");
  const verb = report.dryRun ? "would be deleted" : "deleted";
  return `Policy: ${policyText}${report.dryRun ? " (dry run: nothing is deleted)" : ""}\n` +
    (report.hold ? `Nothing is deleted: ${report.hold}\n` : "") + "\n" +
    (report.decisions.length
      ? renderTable(
        ["action", "id", "size", "why"],
        report.decisions.map((d) => [
          d.action,
          d.id + (d.pinned ? " (pinned)" : ""),
          formatBytes(d.size),
          d.reasons.join("; "),
        ]),
      )
      : "No backups.\n") +
    report.incomplete.map((i) => `${i.action} incomplete file ${i.key} (${i.reason})\n`).join("") +
    report.scratch.map((s) =>
      `${s.action} leftover ${s.name} (${s.kind}, ${formatBytes(s.size)}: ${s.reason})\n`
    ).join("") +
    `\n${deleted.length} backup(s) ${verb}${
      report.failures.length ? ` (${report.failures.length} file(s) could not be removed)` : ""
    }, ${report.decisions.length - deleted.length} kept, ` +
    `${formatBytes(deleted.reduce((s, d) => s + d.size, 0))} ${
      report.dryRun ? "would be " : ""
    }freed\n`;
}

/** Registers `cleanup`. */
export function registerCleanup(program: Command, deps: CommandDeps): void {
  const command = withRetentionOptions(program.command("cleanup"))
    .description("delete old backups by a retention policy")
    .option("--tz <zone>", "IANA time zone of the periods (env BACKUP_TZ, default this machine's)")
    .option("--dry-run", "print the plan, delete nothing")
    .option("--format <format>", "text or json", "text")
    .addHelpText("after", HELP);
  withSeriesOption(withLocationOptions(command), "clean up").action(async (raw) => {
    deps.setExitCode(await runCleanup(parseCleanupArgs(raw), deps));
  });
}
