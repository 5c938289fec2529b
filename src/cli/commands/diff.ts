import type { Command } from "npm:commander@15.1.0";
import { type CommandDeps, contextFor, withIdentityOption, withLocationOptions } from "../deps.ts";
import { diffBackup, type DiffResult, type TableDiff } from "../../core/diff.ts";
import { renderJson } from "../format.ts";
import { parseFormat } from "../settings.ts";
import { inSeriesOf, withSeriesOption } from "../series.ts";

/** The exit code when the backup and the database differ (as `diff` and `git diff --exit-code`). */
export const DIFFERS_EXIT_CODE = 1;

const HELP = `
Compares a backup with the live database (or another one: --database): rows per table (the
backup's from its sidecar, the live ones counted), tables and columns on one side only, columns
whose declared type changed, and the migration version on both sides. The backup's columns come
from its own schema statements (PostgreSQL: read until the data begins; SQLite: until the last
table's CREATE TABLE); an encrypted backup needs --identity.

Exit codes: 0 when nothing differs, ${DIFFERS_EXIT_CODE} when something does (as diff(1)), the
documented codes of errors otherwise (3 backup or database not found, ...).

Examples:
  $ backup-manager diff full_20261123T101500123Z
  $ backup-manager diff 1123T10 --database postgres://app@db1/app_staging --format json`;

/** Typed arguments of `diff`. */
export interface DiffArgs {
  id: string;
  format: "text" | "json";
  database?: string;
  dir?: string;
  identity?: string;
  /** `--series NAME`: with several databases, the series that holds the id (default: found). */
  series?: string;
}

/** Checks and types the raw options of `diff`. */
export function parseDiffArgs(id: string, raw: Record<string, unknown>): DiffArgs {
  return {
    id,
    format: parseFormat(raw.format as string | undefined, ["text", "json"] as const, "text"),
    database: raw.database as string | undefined,
    dir: raw.dir as string | undefined,
    identity: raw.identity as string | undefined,
    series: raw.series as string | undefined,
  };
}

/** Compares one backup with the database; 0 when equal, {@linkcode DIFFERS_EXIT_CODE} if not. */
export async function runDiff(args: DiffArgs, deps: CommandDeps): Promise<number> {
  return await inSeriesOf(args, deps, args.id, (d) => diffOne(args, d));
}

async function diffOne(args: DiffArgs, deps: CommandDeps): Promise<number> {
  const context = contextFor(args, deps);
  const result = await diffBackup(context, args.id, { signal: deps.interrupts.abort });
  deps.io.stdout(args.format === "json" ? renderJson(result) : renderDiff(result));
  return result.equal ? 0 : DIFFERS_EXIT_CODE;
}

/** The text report: a table of rows, then column and migration differences. */
export function renderDiff(result: DiffResult): string {
  const lines = [`Backup "${result.backup}" (${result.createdAt}) vs "${result.database}"`];
  const rows = result.tables.map((t) => [
    t.name,
    t.backupRows === null ? "-" : String(t.backupRows),
    t.liveRows === null ? "-" : String(t.liveRows),
    change(t),
  ]);
  const header = ["table", "backup", "live", "change"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ")
      .trimEnd();
  lines.push(line(header), ...rows.map(line));
  for (const t of result.tables) {
    for (const c of t.backupOnlyColumns) {
      lines.push(`  ${t.name}: column "${c.name}" ${c.type} only in the backup`);
    }
    for (const c of t.liveOnlyColumns) {
      lines.push(`  ${t.name}: column "${c.name}" ${c.type} only in the database`);
    }
    for (const c of t.typeChanges) {
      lines.push(`  ${t.name}: column "${c.name}" type ${c.backupType} -> ${c.liveType}`);
    }
  }
  const m = result.migration;
  const version = (v: { table: string; version: string } | null) =>
    v ? `${v.version} (${v.table})` : "none";
  lines.push(
    m.equal
      ? `Migration: ${version(m.backup)} on both sides`
      : `Migration: ${version(m.backup)} in the backup, ${version(m.live)} in the database`,
  );
  lines.push(result.equal ? "No differences" : "Differences found");
  return lines.join("\n") + "\n";
}

function change(t: TableDiff): string {
  if (t.status === "backup-only") return "backup only";
  if (t.status === "live-only") return "database only";
  const columns = t.backupOnlyColumns.length + t.liveOnlyColumns.length + t.typeChanges.length;
  const rows = t.difference === 0
    ? ""
    : (t.difference! > 0 ? `+${t.difference}` : `${t.difference}`);
  return [rows, columns > 0 ? "columns" : ""].filter(Boolean).join(", ");
}

/** Registers `diff`. */
export function registerDiff(program: Command, deps: CommandDeps): void {
  const command = program.command("diff")
    .description("compare a backup with the live database: rows, tables, columns, migration")
    .argument("<id>", "backup id, or any unique part of one")
    .option("--format <format>", "text or json", "text");
  withSeriesOption(withLocationOptions(withIdentityOption(command)), "look in")
    .addHelpText("after", HELP)
    .action(async (id, raw) => {
      deps.setExitCode(await runDiff(parseDiffArgs(id, raw), deps));
    });
}
