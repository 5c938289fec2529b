import type { Command } from "npm:commander@15.1.0";
import {
  type CommandDeps,
  flagSetting,
  locationFlags,
  serviceContext,
  settingsFor,
  withLocationOptions,
} from "../deps.ts";
import { maintainDatabase, type MaintainResult } from "../../core/maintain.ts";
import { ExitCode } from "../../core/errors.ts";
import { renderJson } from "../format.ts";
import { parseFormat } from "../settings.ts";
import { notifierFor } from "../notifications.ts";
import { runPerSeries, withSeriesOption } from "../series.ts";
import { maintainOptionsOf } from "../maintain_settings.ts";
import { formatBytes, formatDuration } from "../../core/units.ts";

const HELP = `
SQLite: PRAGMA optimize, wal_checkpoint(TRUNCATE), integrity_check, and VACUUM only when it frees
at least maintenance.vacuumMinBytes and maintenance.vacuumMinRatio of the file and the disk has
room for the copy it writes. PostgreSQL: VACUUM (ANALYZE) of the tables autovacuum's own formulas
say need it, and amcheck's index checks where the extension is installed. Holds the backup
directory's lock (a backup never runs at the same time), records the outcome in the audit log
(status --check reads it) and sends a failure notification when the checks find corruption.
Exits ${ExitCode.Integrity} on corruption, 1 when a step failed otherwise, ${ExitCode.Refused} when the lock is held.

Examples:
  $ backup-manager maintain
  $ backup-manager maintain --dry-run      # what would run, nothing changed
  $ backup-manager maintain --no-vacuum --format json`;

/** Typed arguments of `maintain`. */
export interface MaintainArgs {
  /** `--series NAME`: with several databases, only this series (default every one). */
  series?: string;
  dryRun: boolean;
  /** `--no-vacuum`: never VACUUM this run, whatever `maintenance.vacuum` says. */
  vacuum: boolean;
  format: "text" | "json";
  database?: string;
  dir?: string;
}

/** Checks and types the raw options of `maintain`. */
export function parseMaintainArgs(raw: Record<string, unknown>): MaintainArgs {
  return {
    dryRun: raw.dryRun === true,
    vacuum: raw.vacuum !== false,
    format: parseFormat(raw.format as string | undefined, ["text", "json"] as const, "text"),
    database: raw.database as string | undefined,
    dir: raw.dir as string | undefined,
    series: raw.series as string | undefined,
  };
}

/** Maintains the database (each series'), printing each step with its figures. */
export async function runMaintain(args: MaintainArgs, deps: CommandDeps): Promise<number> {
  return await runPerSeries(args, deps, (d) => maintainOne(args, d), { format: args.format });
}

async function maintainOne(args: MaintainArgs, deps: CommandDeps): Promise<number> {
  const config = settingsFor(deps, [
    ...locationFlags(args),
    flagSetting("maintenance.vacuum", "--no-vacuum", args.vacuum ? undefined : false),
  ]);
  const context = serviceContext(config, deps);
  const notifier = notifierFor(config, deps);
  const live = args.format === "text" && deps.io.isTerminal;
  const result = await maintainDatabase(context, {
    ...maintainOptionsOf(config),
    dryRun: args.dryRun,
    signal: deps.interrupts.abort,
    notify: (event) => notifier.notify(event),
    ...(live ? { onStep: (step: string) => deps.io.stderr(`\r\x1b[2K  ${step} …`) } : {}),
  });
  if (live) deps.io.stderr("\r\x1b[2K");
  if (args.format === "json") deps.io.stdout(renderJson(result));
  else deps.io.stdout(renderMaintenance(result));
  return exitCodeOf(result);
}

/** 5 on corruption, 1 when a step failed otherwise, 0 else (warnings and skips included). */
export function exitCodeOf(result: Pick<MaintainResult, "integrity" | "steps">): number {
  if (result.integrity === "failed") return ExitCode.Integrity;
  return result.steps.some((s) => s.outcome === "failed") ? ExitCode.Failure : ExitCode.Ok;
}

/** The report as text: one line per step with its outcome, figures and duration, then totals. */
export function renderMaintenance(r: MaintainResult): string {
  const lines = r.steps.map((s) =>
    `  ${s.outcome.padEnd(8)}${s.name}: ${s.detail}` +
    (s.outcome === "planned" || s.outcome === "skipped" ? "" : ` (${formatDuration(s.durationMs)})`)
  );
  const head = r.dryRun
    ? `Maintenance of ${r.database} (dry run: nothing changed)`
    : `Maintained ${r.database} in ${formatDuration(r.durationMs)}`;
  const size = r.dryRun ? "" : `, ${formatBytes(r.sizeBefore)} -> ${formatBytes(r.sizeAfter)}` +
    (r.bytesFreed > 0 ? ` (${formatBytes(r.bytesFreed)} freed)` : "");
  const integrity = r.integrity === "failed"
    ? `integrity: FAILED\n${r.problems.map((p) => `    - ${p}\n`).join("")}`
    : `integrity: ${r.integrity}\n`;
  return `${head}${size}\n${lines.join("\n")}${lines.length ? "\n" : ""}${integrity}`;
}

/** Registers `maintain`. */
export function registerMaintain(program: Command, deps: CommandDeps): void {
  const command = program.command("maintain")
    .description("routine maintenance: optimize, checkpoint, integrity check, VACUUM when worth it")
    .option("--dry-run", "say what would run; change nothing")
    .option("--no-vacuum", "never VACUUM this run")
    .option("--format <format>", "text or json", "text")
    .addHelpText("after", HELP);
  withSeriesOption(withLocationOptions(command), "maintain").action(async (raw) => {
    deps.setExitCode(await runMaintain(parseMaintainArgs(raw), deps));
  });
}
