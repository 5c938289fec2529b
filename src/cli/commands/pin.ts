import type { Command } from "npm:commander@15.1.0";
import { type CommandDeps, contextFor, locked, withLocationOptions } from "../deps.ts";
import { pinBackup, type PinResult, unpinBackup } from "../../core/pin.ts";
import { UsageError } from "../../core/errors.ts";
import { renderJson } from "../format.ts";
import { parseFormat } from "../settings.ts";
import { inSeriesOf, withSeriesOption } from "../series.ts";

const PIN_HELP = `
A pinned backup is never deleted by cleanup, whatever the policy (for example the backup taken
before a migration). The pin is stored in the backup's sidecar. Pinning a pinned backup again
with --reason changes the reason.

Examples:
  $ backup-manager pin full_20261123T101500123Z --reason "before migration 42"
  $ backup-manager create --pin --pin-reason "before v2 upgrade"`;

const UNPIN_HELP = `
Afterwards cleanup treats the backup like any other.

Examples:
  $ backup-manager unpin full_20261123T101500123Z`;

/** Typed arguments of `pin` and `unpin`. */
export interface PinArgs {
  /** `--series NAME`: with several databases, the series to look in (default: the one holding the id). */
  series?: string;
  id: string;
  reason?: string;
  format: "text" | "json";
  dir?: string;
}

/** Checks and types the raw options of `pin` / `unpin`. */
export function parsePinArgs(id: string, raw: Record<string, string | undefined>): PinArgs {
  if (raw.reason !== undefined && raw.reason.trim() === "") {
    throw new UsageError('Invalid value "" for --reason: give a reason or leave the flag out');
  }
  return {
    id,
    reason: raw.reason,
    format: parseFormat(raw.format, ["text", "json"] as const, "text"),
    dir: raw.dir,
    series: raw.series,
  };
}

/** Pins a backup. */
export async function runPin(args: PinArgs, deps: CommandDeps): Promise<number> {
  return await inSeriesOf(args, deps, args.id, (d) => pinOne(args, d));
}

async function pinOne(args: PinArgs, deps: CommandDeps): Promise<number> {
  const context = contextFor(args, deps);
  const result = await locked(
    context,
    "pin",
    () => pinBackup(context, args.id, { reason: args.reason }),
  );
  print(
    deps,
    args,
    result,
    result.changed
      ? `Pinned backup ${result.id}${reasonText(result)}: cleanup will never delete it`
      : `Backup ${result.id} was already pinned${reasonText(result)}; nothing changed`,
  );
  return 0;
}

/** Removes a backup's pin. */
export async function runUnpin(args: PinArgs, deps: CommandDeps): Promise<number> {
  return await inSeriesOf(args, deps, args.id, (d) => unpinOne(args, d));
}

async function unpinOne(args: PinArgs, deps: CommandDeps): Promise<number> {
  const context = contextFor(args, deps);
  const result = await locked(context, "unpin", () => unpinBackup(context, args.id));
  print(
    deps,
    args,
    result,
    result.changed
      ? `Unpinned backup ${result.id}: cleanup may delete it by the retention policy`
      : `Backup ${result.id} was not pinned; nothing changed`,
  );
  return 0;
}

function reasonText(result: PinResult): string {
  return result.pinReason ? ` ("${result.pinReason}")` : "";
}

function print(deps: CommandDeps, args: PinArgs, result: PinResult, line: string): void {
  deps.io.stdout(args.format === "json" ? renderJson(result) : `${line}\n`);
}

/** Registers `pin` and `unpin`. */
export function registerPin(program: Command, deps: CommandDeps): void {
  const pin = program.command("pin")
    .description("keep a backup forever: cleanup never deletes a pinned backup")
    .argument("<id>", "backup id, or any part of one that matches exactly one backup")
    .option("--reason <text>", "why it is kept (shown by list and cleanup)")
    .option("--format <format>", "text or json", "text")
    .addHelpText("after", PIN_HELP);
  withSeriesOption(withLocationOptions(pin, false), "look in").action(async (id, raw) => {
    deps.setExitCode(await runPin(parsePinArgs(id, raw), deps));
  });
  const unpin = program.command("unpin")
    .description("remove a backup's pin, so retention applies to it again")
    .argument("<id>", "backup id, or any part of one that matches exactly one backup")
    .option("--format <format>", "text or json", "text")
    .addHelpText("after", UNPIN_HELP);
  withSeriesOption(withLocationOptions(unpin, false), "look in").action(async (id, raw) => {
    deps.setExitCode(await runUnpin(parsePinArgs(id, raw), deps));
  });
}
