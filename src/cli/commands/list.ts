import type { Command } from "npm:commander@15.1.0";
import { type CommandDeps, contextFor, withLocationOptions } from "../deps.ts";
import { isGood, listBackups } from "../../core/catalog.ts";
import { orphanDataFiles } from "../../core/cleanup.ts";
import { trustProblem } from "../../core/trust.ts";
import { idOfKey, metaKey } from "../../core/backup_file.ts";
import { formatBytes, renderJson, renderTable } from "../format.ts";
import {
  holdingsText,
  partSummaries,
  recordedRawSize,
  totalRows,
} from "../../core/parts_summary.ts";
import { parseCount, parseFormat } from "../settings.ts";
import { runPerSeries, withSeriesOption } from "../series.ts";
import { runListPitr } from "../pitr_list_command.ts";

const HELP = `
A backup of several parts (a whole server's databases, the files kept beside the database) is
one line: its rows and size count every part, and the "holds" column says what it holds
("server: 3 databases (app, crm, shop)", "files (12 entries)"); --format json lists each part.

Examples:
  $ backup-manager list
  $ backup-manager list --limit 50 --format json
  $ backup-manager list --dir s3://acme-backups/db-1
  $ backup-manager list --pitr`;

/** Typed arguments of `list`. */
export interface ListArgs {
  /** `--series NAME`: with several databases, only this one (default every one). */
  series?: string;
  limit: number;
  format: "table" | "json";
  dir?: string;
}

/** Checks and types the raw options of `list`. */
export function parseListArgs(raw: Record<string, string | undefined>): ListArgs {
  return {
    limit: parseCount("--limit", raw.limit, 1) ?? 10,
    format: parseFormat(raw.format, ["table", "json"] as const, "table"),
    dir: raw.dir,
    series: raw.series,
  };
}

/**
 * Prints the newest backups first; never shows a write that did not finish. With several
 * databases, one table per series, the vanished ones too (their backups still restore).
 */
export async function runList(args: ListArgs, deps: CommandDeps): Promise<number> {
  return await runPerSeries(args, deps, (d) => listOne(args, d), {
    format: args.format === "json" ? "json" : "text",
    vanished: true,
  });
}

async function listOne(args: ListArgs, deps: CommandDeps): Promise<number> {
  const { storage, signing } = contextFor({ dir: args.dir }, deps);
  const backups = await listBackups(storage);
  // with signing.trusted, what restore would refuse says so here too
  const untrusted = new Map(
    backups.map((b) => [b.id, trustProblem(b.meta, signing?.trusted)] as const)
      .filter(([, problem]) => problem !== undefined),
  );
  const shown = backups.slice(0, args.limit);
  if (args.format === "json") {
    deps.io.stdout(renderJson(shown.map((b) => ({
      id: b.id,
      type: b.type,
      createdAt: b.createdAt.toISOString(),
      good: isGood(b),
      problem: b.problem ?? null,
      engine: b.meta?.engine ?? null,
      database: b.meta?.database.name ?? null,
      tables: b.meta
        ? b.meta.totals.tables + partSummaries(b.meta).reduce((n, p) => n + (p.tables ?? 0), 0)
        : null,
      rows: b.meta ? totalRows(b.meta) : null,
      // every file of the backup that exists: the main file and its parts
      sizeCompressed: b.storedSize ?? null,
      sizeRaw: b.meta ? recordedRawSize(b.meta) : null,
      holds: b.meta ? holdingsText(b.meta) ?? null : null,
      server: b.meta?.server ?? null,
      parts: b.meta ? partSummaries(b.meta) : null,
      description: b.meta?.description ?? null,
      verification: b.meta?.verification ?? null,
      pinned: b.meta?.pinned === true,
      pinnedAt: b.meta?.pinnedAt ?? null,
      pinReason: b.meta?.pinReason ?? null,
      encrypted: b.meta ? b.meta.file.encryption !== undefined : null,
      recipients: b.meta?.file.encryption?.recipients ?? null,
      signed: b.meta ? b.meta.signature !== undefined : null,
      signedBy: b.meta?.signature?.keyId ?? null,
      trusted: signing?.trusted.length && b.meta ? !untrusted.has(b.id) : null,
    }))));
    return 0;
  }
  // data files without a sidecar are not backups, but the user should learn they are there
  const orphans = (await orphanDataFiles(storage, backups)).map((e) =>
    `! Data file "${e.key}" has no sidecar "${
      metaKey(idOfKey(e.key)!)
    }": not a backup (left by an interrupted run or a deleted sidecar; cleanup removes it)\n`
  );
  if (backups.length === 0) {
    deps.io.stdout(`No backups in "${storage.location}" (create one with "create")\n`);
    for (const line of orphans) deps.io.stdout(line);
    return 0;
  }
  // the "holds" column only when a shown backup has parts
  const holds = shown.some((b) => b.meta?.parts?.length);
  deps.io.stdout(renderTable(
    [
      "id",
      "type",
      "created (UTC)",
      "rows",
      "size",
      "state",
      ...(holds ? ["holds"] : []),
      "description",
    ],
    shown.map((b) => [
      b.id,
      b.type,
      b.createdAt.toISOString().replace("T", " ").slice(0, 19),
      b.meta ? totalRows(b.meta) : "-",
      b.storedSize === undefined ? "-" : formatBytes(b.storedSize),
      (isGood(b)
        ? untrusted.has(b.id)
          ? "UNTRUSTED"
          : (b.meta?.verification
            ? `verified ${b.meta.verification.restoreTest ? "(restore)" : ""}`.trim()
            : "ok")
        : "DAMAGED") +
      (b.meta?.file.encryption ? ", encrypted" : "") +
      (b.meta?.signature ? ", signed" : "") +
      (b.meta?.pinned ? ", pinned" : ""),
      ...(holds ? [(b.meta && holdingsText(b.meta)) ?? ""] : []),
      [b.meta?.description, b.meta?.pinReason ? `pinned: ${b.meta.pinReason}` : undefined]
        .filter(Boolean).join("; "),
    ]),
  ));
  if (backups.length > shown.length) {
    deps.io.stdout(`(${backups.length - shown.length} older backups not shown; use --limit)\n`);
  }
  for (const b of shown) {
    if (!isGood(b)) deps.io.stdout(`! ${b.problem}\n`);
    else if (untrusted.has(b.id)) deps.io.stdout(`! ${untrusted.get(b.id)}\n`);
  }
  for (const line of orphans) deps.io.stdout(line);
  return 0;
}

/** Registers `list`. */
export function registerList(program: Command, deps: CommandDeps): void {
  const command = program.command("list")
    .description("list backups, newest first")
    .option("--limit <n>", "how many to show", "10")
    .option("--format <format>", "table or json", "table")
    .option(
      "--pitr",
      "the point-in-time store instead: replicate's generations, or PostgreSQL's base backups and WAL",
    )
    .addHelpText("after", HELP);
  withSeriesOption(withLocationOptions(command, false), "list").action(async (raw) => {
    if (raw.pitr) {
      const format = parseFormat(raw.format, ["table", "json"] as const, "table");
      const args = { format, database: raw.database, dir: raw.dir, series: raw.series };
      deps.setExitCode(
        await runPerSeries(args, deps, (d) => runListPitr(args, d), {
          format: format === "json" ? "json" : "text",
        }),
      );
      return;
    }
    deps.setExitCode(await runList(parseListArgs(raw), deps));
  });
}
