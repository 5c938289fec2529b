import type { Command } from "npm:commander@15.1.0";
import { withHooks } from "../../core/hooks.ts";
import {
  type CommandDeps,
  locationFlags,
  locked,
  serviceContext,
  settingsFor,
  storageFor,
  tuningFlags,
  withLocationOptions,
  withStallTimeoutOption,
} from "../deps.ts";
import { copyBackup, type CopyResult } from "../../core/copy.ts";
import { audited } from "../../core/context.ts";
import { ExitCode, UsageError } from "../../core/errors.ts";
import { formatBytes, renderJson } from "../format.ts";
import { parseFormat } from "../settings.ts";
import { progressReporter } from "../progress.ts";
import { seriesOfId, seriesPlan, withSeriesOption } from "../series.ts";
import { subStoreUrl } from "../../storage/open_storage.ts";

const HELP = `
Copies one backup between the backup store (--dir, BACKUP_DIR or "backupDir") and another store:
--to uploads it there, --from downloads it into the backup store. The data file is streamed,
checked against the sidecar's size and SHA-256 on the way (a damaged source is refused and
nothing is kept), and the sidecar is written last, so an interrupted copy never lists as a
backup. Encrypted backups are copied as they are (no key is needed). A backup the other store
already holds is left alone. Exits ${ExitCode.Storage} when a store cannot be read or written.

Examples:
  $ backup-manager copy full_20261202T030000123Z --to s3://acme-backups/db-1
  $ backup-manager copy 1202T03 --from s3://acme-backups/db-1
  $ backup-manager copy 1202T03 --from s3://acme-backups/db-1 --dir /srv/restore-area`;

/** Typed arguments of `copy`. */
export interface CopyArgs {
  id: string;
  /** `--series NAME`: with several databases, the series of the backup (default: the one holding the id). */
  series?: string;
  /** The other store, and which way the backup goes. */
  other: { direction: "to" | "from"; url: string };
  format: "text" | "json";
  dir?: string;
  /** `--stall-timeout`; default the `stallTimeout` setting. */
  stallTimeout?: string;
}

/** Checks and types the raw options of `copy`. */
export function parseCopyArgs(id: string, raw: Record<string, unknown>): CopyArgs {
  const to = raw.to as string | undefined;
  const from = raw.from as string | undefined;
  if ((to === undefined) === (from === undefined)) {
    throw new UsageError(
      "Cannot copy: give --to STORE (upload) or --from STORE (download), not both, not neither",
    );
  }
  const url = (to ?? from)!;
  if (url.trim() === "") {
    throw new UsageError(
      `Invalid value "" for --${
        to !== undefined ? "to" : "from"
      }: expected a directory or s3://BUCKET/PREFIX`,
    );
  }
  return {
    id,
    other: { direction: to !== undefined ? "to" : "from", url },
    format: parseFormat(raw.format as string | undefined, ["text", "json"] as const, "text"),
    dir: raw.dir as string | undefined,
    stallTimeout: raw.stallTimeout as string | undefined,
    series: raw.series as string | undefined,
  };
}

/**
 * Copies one backup to or from another store. With several databases, the other store's
 * sub-store of the series (`<store>/<series>/`, as for `copies`); `--from` needs `--series`.
 */
export async function runCopy(args: CopyArgs, deps: CommandDeps): Promise<number> {
  const series = args.other.direction === "to" || args.series !== undefined
    ? await seriesOfId(args, deps, args.id)
    : undefined;
  if (!series) {
    if (args.other.direction === "from" && !deps.series) await refuseFromWithoutSeries(args, deps);
    return await copyOne(args, deps);
  }
  const other = { ...args.other, url: subStoreUrl(args.other.url, series.name) };
  return await copyOne({ ...args, other }, { ...deps, series });
}

/** `copy --from` cannot look for the id in the series it would land in: one must be named. */
async function refuseFromWithoutSeries(args: CopyArgs, deps: CommandDeps): Promise<void> {
  const config = settingsFor(deps, locationFlags({ dir: args.dir }));
  if (await seriesPlan(config, deps)) {
    throw new UsageError(
      "Cannot copy --from with several databases without --series NAME (the series the backup belongs to)",
    );
  }
}

async function copyOne(args: CopyArgs, deps: CommandDeps): Promise<number> {
  const config = settingsFor(deps, [
    ...locationFlags({ dir: args.dir }),
    ...tuningFlags({ stallTimeout: args.stallTimeout }),
  ]);
  const context = serviceContext(config, deps);
  const other = storageFor(args.other.url, config, deps);
  const [from, to] = args.other.direction === "to"
    ? [context.storage, other]
    : [other, context.storage];
  const progress = progressReporter(deps.io, args.format === "text");
  let result: CopyResult;
  try {
    result = await locked(context, "copy", () =>
      audited(context, "copy", args.id, async () => {
        const copied = await withHooks(context, {
          operation: "copy",
          what: `copy backup "${args.id}" to "${to.location}"`,
          facts: { id: args.id },
          signal: deps.interrupts.abort,
        }, () =>
          copyBackup(from, to, args.id, {
            onProgress: progress.bytes,
            signal: deps.interrupts.abort,
            stallTimeoutMs: context.stallTimeoutMs,
            trusted: context.signing?.trusted,
          }));
        return {
          result: copied,
          target: copied.id,
          details: { from: copied.from, to: copied.to, bytes: copied.bytes },
        };
      }), { stores: [context.storage, other] });
  } finally {
    progress.done();
  }
  if (args.format === "json") deps.io.stdout(renderJson(result));
  else if (result.alreadyThere) {
    deps.io.stdout(`${result.to} already holds ${result.id}: nothing was copied\n`);
  } else {
    deps.io.stdout(
      `Copied ${result.id} from ${result.from} to ${result.to} (${
        formatBytes(result.bytes)
      }, checksum verified)\n`,
    );
  }
  return 0;
}

/** Registers `copy`. */
export function registerCopy(program: Command, deps: CommandDeps): void {
  const command = program.command("copy")
    .description("copy a backup to (--to) or from (--from) another store, checksum verified")
    .argument("<id>", "backup id, or any part of one that matches exactly one backup")
    .option("--to <dir|s3://bucket/prefix>", "upload the backup to this store")
    .option("--from <dir|s3://bucket/prefix>", "download the backup from this store")
    .option("--format <format>", "text or json", "text")
    .addHelpText("after", HELP);
  withStallTimeoutOption(command);
  withSeriesOption(withLocationOptions(command, false), "copy from or to").action(
    async (id, raw) => {
      deps.setExitCode(await runCopy(parseCopyArgs(id, raw), deps));
    },
  );
}
