import type { Command } from "commander";
import { type CommandDeps, contextFor, withLocationOptions } from "../deps.ts";
import { getStatus } from "../../core/backup_service.ts";
import { formatBytes, renderJson } from "../format.ts";
import { parseFormat } from "../settings.ts";

const HELP = `
Health is "critical" when there is no good backup, the newest good one is older than 48 h, the
newest backup is damaged or the database cannot be found; "warning" when the newest good backup
is older than 24 h, any backup is damaged, or interrupted runs left files behind.

Examples:
  $ backup-manager status
  $ backup-manager status --format json`;

/** Typed arguments of `status`. */
export interface StatusArgs {
  format: "text" | "json";
  database?: string;
  dir?: string;
}

/** Checks and types the raw options of `status`. */
export function parseStatusArgs(raw: Record<string, string | undefined>): StatusArgs {
  return {
    format: parseFormat(raw.format, ["text", "json"] as const, "text"),
    database: raw.database,
    dir: raw.dir,
  };
}

/** Prints the store's figures and health. */
export async function runStatus(args: StatusArgs, deps: CommandDeps): Promise<number> {
  const report = await getStatus(contextFor(args, deps));
  if (args.format === "json") {
    deps.io.stdout(renderJson(report));
    return 0;
  }
  deps.io.stdout(
    `Backups in ${report.backupDir}: ${report.totalBackups} (${report.goodBackups} good)\n` +
      `  last backup       ${report.lastBackupDate ?? "never"}${
        report.lastBackupType ? ` (${report.lastBackupType})` : ""
      }\n` +
      `  last good backup  ${report.lastGoodBackupDate ?? "never"}\n` +
      `  total size        ${formatBytes(report.totalSize)} (average ${
        formatBytes(report.averageBackupSize)
      })\n` +
      `  health            ${report.systemHealth}\n` +
      report.reasons.map((r) => `    - ${r}\n`).join(""),
  );
  return 0;
}

/** Registers `status`. */
export function registerStatus(program: Command, deps: CommandDeps): void {
  const command = program.command("status")
    .description("backup figures and health")
    .option("--format <format>", "text or json", "text")
    .addHelpText("after", HELP);
  withLocationOptions(command).action(async (raw) => {
    deps.setExitCode(await runStatus(parseStatusArgs(raw), deps));
  });
}
