import type { Command } from "npm:commander@15.1.0";
import {
  type CommandDeps,
  contextFor,
  locked,
  withIdentityOption,
  withJobsOption,
  withLocationOptions,
  withStallTimeoutOption,
} from "../deps.ts";
import { planRestore, restoreBackup } from "../../core/restore.ts";
import type { VersionCheck } from "../../core/version_gate.ts";
import { RefusedError, UsageError } from "../../core/errors.ts";
import { runRestoreAt } from "../pitr_restore_command.ts";
import { formatBytes, renderJson, renderTable } from "../format.ts";
import { parseFormat, parseJobs } from "../settings.ts";
import { inSeriesOf, seriesToPick, withSeriesOption } from "../series.ts";
import { progressReporter } from "../progress.ts";
import { runServerRestore, serverRestoreFor } from "../server_restore_command.ts";
import { resolve } from "node:path";
import { filesDryRun, filesLeftNote, filesResultLine, replacing } from "../files_output.ts";

const HELP = `
The id may be any part of a backup id that matches exactly one backup.
Replacing an existing database asks for confirmation on a terminal; without a terminal (cron,
scripts) --force is required. A "pre-restore" safety backup of the target is taken first.
The data file's size and SHA-256 are checked before anything is touched, from any store
(--dir may be s3://BUCKET/PREFIX). Encrypted backups need the age identity file (--identity or
BACKUP_AGE_IDENTITY_FILE). The compression (gzip, zstd or none) is the sidecar's. --jobs bounds
the threads (SQLite) or connections (PostgreSQL) the load, and the safety backup, use.

The target's version is checked first, against what the sidecar recorded: a PostgreSQL server
of an older major version than the backup's source, or a SQLite library older than a feature the
backup's schema uses (STRICT tables, generated columns, ...), is refused in one line before
anything is touched (exit 6, dry runs too); --ignore-version tries anyway.

A backup that holds files (create --files) restores the database and then the files into their
places under the recorded root; --no-files restores only the database, --files only the files
(--to DIR: under DIR). Existing files it replaces need --force (or a confirmation) and go into the
pre-restore safety backup first; each file is written under a temporary name and renamed into
place once the whole part has been checked. An entry that would land outside the root (an
absolute name, "..", a path through a symlink) refuses the restore before anything is written.
Restoring into another database (--to without --files) leaves the files alone.

SQLite, with replicate running: --at TIME (instead of an id) restores the database as of that
moment ("YYYY-MM-DD HH:MM:SS" in --tz ZONE, default the timezone setting; an ISO time with Z or
an offset; or latest): the newest snapshot before it and the WAL segments up to the last commit
seen by then, checked, integrity_check, renamed into place (or --to PATH) after a safety backup;
--dry-run says which snapshot, how many segments and what time the result reflects.

PostgreSQL, with its WAL archived (wal-push) and a base backup (create --type base): --at TIME
(or --txid N) --to-datadir DIR writes a new data directory from the newest base backup before
TIME, set to recover from the archive through wal-fetch up to TIME and promote; --check starts a
throwaway server on it and reports what it recovered (run as the server's user, not root);
--archive-mode off keeps a test restore from archiving into the original's store. A WAL segment
missing before TIME is refused (exit 5); a TIME past the archive's last commit recovers to its end.

PostgreSQL: --to names a database on the same server (or is a full URL). A target that holds
objects is refused unless --clean, which drops the objects the backup contains first, in the
same transaction as the load: on any error the target is exactly as it was.

Examples:
  $ backup-manager restore 20261123T1015 --dry-run
  $ backup-manager restore full_20261123T101500123Z --force
  $ backup-manager restore 1123T10 --to ./restored.db
  $ backup-manager restore full_20261202T0300 --dir s3://acme-backups/db-1 --to ./restored.db --force
  $ backup-manager restore 1202T03 --identity ~/.config/backup-manager/key.txt --force
  $ backup-manager restore 1123T10 --database postgres://app@db/app --to app_copy --create
  $ backup-manager restore 1123T10 --database postgres://app@db/app --clean --force
  $ backup-manager restore 1123T10 --files --to ./restored-files --dry-run
  $ backup-manager restore 1123T10 --no-files --force
  $ backup-manager restore 1203T02 --all --to postgres://postgres@new-db/postgres --force
  $ backup-manager restore 1203T02 --database app --to postgres://postgres@new-db/app_copy
  $ backup-manager restore 1203T02 --globals-only --to postgres://postgres@new-db/postgres
  $ backup-manager restore --at "2026-12-02 14:03:27" --tz Europe/Berlin --dry-run
  $ sudo -u postgres backup-manager restore --at "2026-12-02 14:03:27" --to-datadir /srv/pg/recovered --check

A whole server's backup (create --all-databases): --all restores the roles first (one that
exists is left as it is, and said so; missing memberships and settings are added), then every
database as --create does (each all-or-nothing, loaded under a scratch name and renamed into
place; an existing one that holds objects is refused unless --clean --force, with a safety
backup). --globals-only restores the roles, tablespaces and role settings alone. With such a
backup, --database NAME (not a URL) picks one of its databases, restored into the database of
that name on the server, or into --to NAME|URL. Restoring roles needs a role that may create
roles (a superuser).`;

/** Typed arguments of `restore`. */
export interface RestoreArgs {
  /** `--series NAME`: with several databases, the series of the backup (default: the one holding the id). */
  series?: string;
  id: string;
  to?: string;
  force: boolean;
  /** `--all`: every database of a server backup, and its globals. */
  all?: boolean;
  /** `--globals-only`: the globals of a server backup (roles, tablespaces, role settings). */
  globalsOnly?: boolean;
  dryRun: boolean;
  clean: boolean;
  create: boolean;
  noOwner: boolean;
  noPrivileges: boolean;
  /** `--ignore-version`: load into a target older than the backup needs. */
  ignoreVersion: boolean;
  format: "text" | "json";
  database?: string;
  dir?: string;
  /** `--identity`: the age identity file for encrypted backups. */
  identity?: string;
  /** `--jobs`; default the `jobs` setting. */
  jobs?: number;
  /** `--stall-timeout`; default the `stallTimeout` setting. */
  stallTimeout?: string;
  /** `--files` (only the files; `--to` is then their directory) or `--no-files` (only the database). */
  files?: "only" | "skip";
}

/** Checks and types the raw options of `restore`. */
export function parseRestoreArgs(id: string, raw: Record<string, unknown>): RestoreArgs {
  return {
    id,
    to: raw.to as string | undefined,
    force: raw.force === true,
    ...(raw.all === true ? { all: true } : {}),
    ...(raw.globalsOnly === true ? { globalsOnly: true } : {}),
    dryRun: raw.dryRun === true,
    clean: raw.clean === true,
    create: raw.create === true,
    // commander turns --no-owner into owner: false
    noOwner: raw.owner === false,
    noPrivileges: raw.privileges === false,
    ignoreVersion: raw.ignoreVersion === true,
    format: parseFormat(raw.format as string | undefined, ["text", "json"] as const, "text"),
    database: raw.database as string | undefined,
    dir: raw.dir as string | undefined,
    identity: raw.identity as string | undefined,
    jobs: parseJobs(raw.jobs),
    stallTimeout: raw.stallTimeout as string | undefined,
    series: raw.series as string | undefined,
    // commander: --files is true, --no-files false
    ...(raw.files === true ? { files: "only" as const } : {}),
    ...(raw.files === false ? { files: "skip" as const } : {}),
  };
}

/** Restores a backup, or with --dry-run shows what would change. */
export async function runRestore(args: RestoreArgs, deps: CommandDeps): Promise<number> {
  // with several databases: the series holding the id, restored into its own database
  return await inSeriesOf(args, deps, args.id, (d) => restoreOne(args, d));
}

async function restoreOne(args: RestoreArgs, deps: CommandDeps): Promise<number> {
  const { io } = deps;
  // a whole server's backup (--all, --globals-only, --database NAME of it)
  const server = await serverRestoreFor(args, deps);
  if (server) return await runServerRestore(args, server, deps);
  // `--to postgres://...` names the engine by itself; without it the engine would come from the
  // configured database (by default a SQLite path) and the restore be refused.
  const database = args.database ?? (isUrl(args.to) ? args.to : undefined);
  const context = contextFor({ ...args, database }, deps);
  // with --files, --to is the files' directory, not a database
  const filesOnly = args.files === "only";
  const to = filesOnly ? undefined : args.to;
  const filesTo = filesOnly && args.to !== undefined
    ? resolve(io.cwd ?? Deno.cwd(), args.to)
    : undefined;
  const plan = await planRestore(context, args.id, {
    to,
    files: args.files,
    filesTo,
    clean: args.clean,
    // a dry run or a prompt must not vouch for a damaged backup; a forced run checks in restore
    checkData: args.dryRun || (!args.force && io.isTerminal),
    dryRun: args.dryRun,
    ignoreVersion: args.ignoreVersion,
  });
  if (args.dryRun) {
    if (args.format === "json") {
      io.stdout(renderJson({ ...plan, meta: undefined, type: plan.meta.type, dryRun: true }));
      return 0;
    }
    if (filesOnly) {
      io.stdout(
        `Dry run: restore the files of ${plan.id} (${plan.meta.type}, ${plan.meta.createdAt})\n` +
          filesDryRun(plan.files) + "Nothing was changed.\n",
      );
      return 0;
    }
    io.stdout(
      `Dry run: restore ${plan.id} (${plan.meta.type}, ${plan.meta.createdAt}) into ${plan.target}\n` +
        `  target ${
          plan.needsClean
            ? "is not empty: refused without --clean (which replaces the backup's objects)"
            : plan.replaces
            ? "exists and would be replaced (after a safety backup)"
            : plan.targetExists
            ? "exists and is empty"
            : "does not exist and would be created"
        }\n` +
        `  migration: backup ${plan.migration.backup ?? "none"}, current ${
          plan.migration.current ?? "none"
        }\n` +
        versionLine(plan.version) + "\n" +
        renderTable(
          ["table", "backup rows", "current rows"],
          plan.tables.map((t) => [t.name, t.backupRows ?? "-", t.currentRows ?? "-"]),
        ) + filesDryRun(plan.files) + "Nothing was changed.\n",
    );
    return 0;
  }
  if ((plan.replaces || (plan.files?.replaced.length ?? 0) > 0) && !args.force) {
    if (!io.isTerminal) {
      throw new RefusedError(
        `Cannot restore backup "${plan.id}": ${
          replacing(plan, filesOnly)
        } would be replaced and there is no terminal to confirm (use --force)`,
      );
    }
    if (plan.migration.backup || plan.migration.current) {
      io.stderr(
        `Migration version: backup ${plan.migration.backup ?? "none"}, current ${
          plan.migration.current ?? "none"
        }\n`,
      );
    }
    const answer = await io.prompt(
      `Replace ${
        replacing(plan, filesOnly)
      } with backup ${plan.id}? A safety backup is taken first. Type "yes" to continue:`,
    );
    if (answer?.trim().toLowerCase() !== "yes") {
      throw new RefusedError(
        `Cannot restore backup "${plan.id}": not confirmed (nothing was changed)`,
      );
    }
  }
  const progress = progressReporter(io, args.format === "text");
  let result;
  try {
    // taken after the prompt: a person thinking must not make the scheduler skip its run
    result = await locked(context, "restore", () =>
      restoreBackup(context, plan.id, {
        to,
        files: args.files,
        filesTo,
        force: true,
        clean: args.clean,
        create: args.create,
        noOwner: args.noOwner,
        noPrivileges: args.noPrivileges,
        ignoreVersion: args.ignoreVersion,
        onProgress: progress.bytes,
        signal: deps.interrupts.abort,
      }), { locations: [context.database, ...(to === undefined ? [] : [to])] });
  } finally {
    progress.done();
  }
  for (const warning of result.warnings ?? []) io.stderr(`Warning: ${warning}\n`);
  io.stderr(filesLeftNote(plan, args.to, args.files));
  if (args.format === "json") {
    io.stdout(renderJson(result));
  } else {
    io.stdout(
      (filesOnly
        ? `Restored the files of ${result.id}\n`
        : `Restored ${result.id} into ${result.target} (${formatBytes(result.bytes)} read)\n`) +
        (result.safetyBackup
          ? `  safety backup of the previous database: ${result.safetyBackup}\n`
          : "") +
        filesResultLine(result),
    );
  }
  return 0;
}

/** Registers `restore`. */
export function registerRestore(program: Command, deps: CommandDeps): void {
  const command = program.command("restore")
    .description("restore a backup into the database (or --to another path)")
    .argument("[id]", "backup id, or any part of one that matches exactly one backup")
    .option(
      "--at <time>",
      'the state at this moment ("YYYY-MM-DD HH:MM:SS" or latest): SQLite from replicate, PostgreSQL from base backups and archived WAL',
    )
    .option("--tz <zone>", "the time zone of --at (default the timezone setting)")
    .option("--txid <n>", "PostgreSQL: recover up to this transaction (instead of --at)")
    .option(
      "--to-datadir <dir>",
      "PostgreSQL with --at/--txid: write a new data directory that recovers from the archive",
    )
    .option(
      "--check",
      "with --to-datadir: start a throwaway server on it, report what it recovered",
    )
    .option(
      "--archive-mode <mode>",
      "with --to-datadir: preserve (default) the original's archiving, or off (a test restore)",
    )
    .option(
      "--to <path|name|url>",
      "restore into this database instead of --database (PostgreSQL: a database name or URL)",
    )
    .option("--force", "replace an existing database without asking")
    .option("--dry-run", "show per-table row counts, backup vs current, and change nothing")
    .option("--clean", "PostgreSQL: drop the backup's objects in the target first")
    .option("--create", "PostgreSQL: create the target database if it does not exist")
    .option("--no-owner", "PostgreSQL: skip ALTER ... OWNER TO (roles missing on this server)")
    .option("--no-privileges", "PostgreSQL: skip GRANT and REVOKE")
    .option("--ignore-version", "restore into a target older than the backup needs (tries anyway)")
    .option("--all", "a server backup: the roles, then every database (--create semantics)")
    .option("--globals-only", "a server backup: only the roles, tablespaces and role settings")
    .option(
      "--files",
      "only the files kept beside the database (--to DIR: under DIR instead of their places)",
    )
    .option("--no-files", "only the database, not the files the backup holds beside it")
    .option("--format <format>", "text or json", "text");
  withStallTimeoutOption(withJobsOption(command)).addHelpText("after", HELP);
  withSeriesOption(withLocationOptions(withIdentityOption(command)), "look in").action(
    async (id, raw) => {
      if (raw.at !== undefined || raw.txid !== undefined) {
        if (id !== undefined) {
          throw new UsageError("Cannot restore: give a backup id or --at TIME, not both");
        }
        const series = await seriesToPick(
          { series: raw.series, database: raw.database, dir: raw.dir },
          deps,
          "restore --at",
        );
        deps.setExitCode(
          await runRestoreAt({
            at: raw.at as string | undefined,
            txid: raw.txid as string | undefined,
            toDatadir: raw.toDatadir as string | undefined,
            check: raw.check === true,
            archiveMode: raw.archiveMode as string | undefined,
            tz: raw.tz as string | undefined,
            to: raw.to as string | undefined,
            force: raw.force === true,
            dryRun: raw.dryRun === true,
            format: parseFormat(
              raw.format as string | undefined,
              ["text", "json"] as const,
              "text",
            ),
            database: raw.database as string | undefined,
            dir: raw.dir as string | undefined,
            identity: raw.identity as string | undefined,
          }, series ? { ...deps, series } : deps),
        );
        return;
      }
      if (id === undefined) {
        throw new UsageError("Cannot restore: give a backup id (see list), or --at TIME");
      }
      deps.setExitCode(await runRestore(parseRestoreArgs(id, raw), deps));
    },
  );
}

/** The dry run's line about the version check (nothing for an engine without one). */
function versionLine(check: VersionCheck | undefined): string {
  if (!check) return "";
  return `  versions: backup ${check.backup}, target ${check.target}` +
    (check.problem ? ` (ignored with --ignore-version: ${check.problem})` : "") + "\n";
}

/** Whether a `--to` value is a database URL (`postgres://...`) rather than a path or a name. */
function isUrl(to: string | undefined): to is string {
  return to !== undefined && /^postgres(ql)?:\/\//i.test(to);
}
