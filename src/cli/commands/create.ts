import type { Command } from "npm:commander@15.1.0";
import {
  type CommandDeps,
  locationFlags,
  locked,
  serviceContext,
  settingsFor,
  tuningFlags,
  withCompressionOption,
  withJobsOption,
  withLocationOptions,
  withStallTimeoutOption,
} from "../deps.ts";
import { runReporterFor } from "../notifications.ts";
import { checkDatabase, createBackup } from "../../core/create.ts";
import { createServerBackup } from "../../core/server_backup.ts";
import { syncDestination, type SyncReport } from "../../core/copy.ts";
import { describeSync, destinationsFor } from "../destinations.ts";
import type { BackupMeta } from "../../core/backup_file.ts";
import { ExitCode, LockBusyError, messageOf, UsageError } from "../../core/errors.ts";
import { formatBytes, formatCount, renderJson, renderTable } from "../format.ts";
import { parseCompressionFlag, parseFormat, parseJobs } from "../settings.ts";
import { type CompressionSpec, formatCompression } from "../../core/compression.ts";
import { progressReporter } from "../progress.ts";
import { runPerSeries, withSeriesOption } from "../series.ts";
import type { Config } from "../../config/schema.ts";
import type { FilesSpec } from "../../core/files/collect.ts";
import { runCreateBase } from "../pg_base_backup_command.ts";

const HELP = `
--compression picks the format: gzip (default gzip:6, <id>.sql.gz, opens anywhere), zstd (faster
at a similar size, <id>.sql.zst, restorable with "zstd -dc"), or none (<id>.sql); the sidecar
records it, and restore, verify and copy follow it. --jobs bounds the threads (SQLite) or
connections (PostgreSQL) the dump uses, and the compression threads (at most 2).

With --files (or "files" in the config), the same backup also holds a tar of those paths
(<id>.files.tar.gz), read right after the dump: directories recursively, symlinks as links (never
followed), modes and mtimes kept, compressed and encrypted like the SQL. A path or pattern that
matches nothing is refused before anything is written (exit ${ExitCode.Usage}).

With --copy-to (or "copies" in the config), the new backup, and any good backup the destination
lacks and its retention would keep, is copied there after it is written, checked against its
SHA-256. A copy that fails leaves the local backup good, exits ${ExitCode.Storage} and is retried
by the next run.

With notifications configured, a run pings the healthchecks "start" URL first, then "success" or
"fail", and notifies on failure (and on success, or a change of health, when asked); a
notification that fails is a warning on stderr and never fails the backup.

Examples:
  $ backup-manager create
  $ backup-manager create --type schema --description "before migration 42"
  $ backup-manager create --pin --pin-reason "before the v2 upgrade"
  $ backup-manager create --compression zstd --jobs 2
  $ backup-manager create --files ./data/uploads --files './config/*.json'
  $ backup-manager create --dir s3://acme-backups/db-1
  $ backup-manager create --copy-to s3://acme-backups/db-1 --copy-to /mnt/usb/backups
  $ backup-manager create --database ./data/app.db --dir /var/backups/app --format json
  $ backup-manager create --database postgres://app@db.internal:5432/app --table 'public.*' \
      --exclude-table 'public.audit_*'
  $ PGHOST=/var/run/postgresql PGDATABASE=app backup-manager create --database postgres://
  $ backup-manager create --database postgres://postgres@db/postgres --all-databases
  $ sudo -u postgres backup-manager create --type base    (PostgreSQL, for restore --at)

--all-databases (or "databases": "all" or a list of names in the config) backs up a whole
PostgreSQL server in one backup: the server's globals (roles with their password hashes,
memberships, tablespaces, role settings) in <id>.sql.gz, and every connectable database but the
templates in <id>.db-<name>.sql.gz, each in its own snapshot. --database names the server (any
database on it). --no-role-passwords (or "rolePasswords": false) leaves the hashes out.

--type base takes a physical base backup of a PostgreSQL server whose WAL is archived by
wal-push (pg_basebackup, streamed into <backupDir>/pitr/base.<id>.tar.gz), recorded only once the
archive holds the WAL it needs: the start of restore --at ... --to-datadir.`;

/** Typed arguments of `create`. */
export interface CreateArgs {
  /** `--series NAME`: with several databases, only this one (default every one). */
  series?: string;
  /** `base`: a PostgreSQL physical base backup for `restore --at` (`pg_base_backup_command.ts`). */
  type: "full" | "schema" | "base";
  description?: string;
  /** Pin the new backup (cleanup never deletes it), with an optional reason. */
  pin?: { reason?: string };
  /** `--table` patterns (repeatable); empty: every table. */
  tables: string[];
  /** `--exclude-table` patterns (repeatable). */
  excludeTables: string[];
  /** `--copy-to` stores, on top of the configured `copies`. */
  copyTo: string[];
  format: "text" | "json";
  /** `--compression`; default the `compression` setting. */
  compression?: CompressionSpec;
  /** `--jobs`; default the `jobs` setting. */
  jobs?: number;
  /** `--stall-timeout`; default the `stallTimeout` setting. */
  stallTimeout?: string;
  database?: string;
  dir?: string;
  /** `--all-databases`: the whole server (default the `databases` setting). */
  allDatabases?: boolean;
  /** `--no-role-passwords`: a server backup without the roles' password hashes. */
  noRolePasswords?: boolean;
  /**
   * `--files` paths (repeatable; replace the `files` setting), `[]` after `--no-files`, or
   * `undefined`: the setting's.
   */
  files?: string[];
}

/** Checks and types the raw options of `create`. */
export function parseCreateArgs(raw: Record<string, unknown>): CreateArgs {
  const type = (raw.type as string | undefined) ?? "full";
  const reason = raw.pinReason as string | undefined;
  if (reason !== undefined && raw.pin !== true) {
    throw new UsageError("Cannot use --pin-reason without --pin (add --pin to keep this backup)");
  }
  if (type !== "full" && type !== "schema" && type !== "base") {
    throw new UsageError(
      `Invalid value "${type}" for --type: expected "full", "schema" or "base"`,
    );
  }
  return {
    type,
    description: raw.description as string | undefined,
    ...(raw.pin === true ? { pin: reason ? { reason } : {} } : {}),
    tables: patterns(raw.table, "--table"),
    excludeTables: patterns(raw.excludeTable, "--exclude-table"),
    copyTo: stores(raw.copyTo),
    format: parseFormat(raw.format as string | undefined, ["text", "json"] as const, "text"),
    compression: parseCompressionFlag(raw.compression),
    jobs: parseJobs(raw.jobs),
    stallTimeout: raw.stallTimeout as string | undefined,
    database: raw.database as string | undefined,
    dir: raw.dir as string | undefined,
    series: raw.series as string | undefined,
    ...(raw.allDatabases === true ? { allDatabases: true } : {}),
    // commander turns --no-role-passwords into rolePasswords: false
    ...(raw.rolePasswords === false ? { noRolePasswords: true } : {}),
    ...filesFlag(raw.files),
  };
}

/** `--files PATH…` (commander gives a list) or `--no-files` (`false`). */
function filesFlag(value: unknown): { files?: string[] } {
  if (value === false) return { files: [] };
  if (!Array.isArray(value)) return {};
  if (value.some((p) => typeof p !== "string" || p.trim() === "")) {
    throw new UsageError(`Invalid value "" for --files: expected a path or a pattern`);
  }
  return { files: value as string[] };
}

function stores(value: unknown): string[] {
  const list = Array.isArray(value) ? value as string[] : [];
  if (list.some((p) => p.trim() === "")) {
    throw new UsageError(
      `Invalid value "" for --copy-to: expected a directory or s3://BUCKET/PREFIX`,
    );
  }
  return list;
}

function patterns(value: unknown, flag: string): string[] {
  const list = Array.isArray(value) ? value as string[] : [];
  if (list.some((p) => p.trim() === "")) {
    throw new UsageError(`Invalid value "" for ${flag}: expected a table name or pattern`);
  }
  return list;
}

/** Takes a backup (of every series, with several databases) and prints what it holds. */
export async function runCreate(args: CreateArgs, deps: CommandDeps): Promise<number> {
  const { type } = args;
  if (type === "base") return await runCreateBase(args, deps);
  return await runPerSeries(args, deps, (d) => createOne({ ...args, type }, d), {
    format: args.format,
    requireSeries: true,
  });
}

async function createOne(
  args: CreateArgs & { type: "full" | "schema" },
  deps: CommandDeps,
): Promise<number> {
  const config = settingsFor(deps, [...locationFlags(args), ...tuningFlags(args)]);
  const context = serviceContext(config, deps);
  const reporter = runReporterFor(config, context, deps);
  const progress = progressReporter(deps.io, args.format === "text");
  const destinations = destinationsFor(config, deps, args.copyTo);
  let meta: BackupMeta;
  const copies: SyncReport[] = [];
  await reporter.started();
  try {
    try {
      await checkDatabase(context); // before the lock: a mistyped path creates no directory
      meta = await locked(context, "create", async () => {
        const databases = args.allDatabases ? "all" as const : config.databases;
        const created = databases
          ? await createServerBackup(context, {
            databases,
            rolePasswords: !args.noRolePasswords && config.rolePasswords,
            type: args.type,
            description: args.description,
            pin: args.pin,
            onProgress: progress.dump,
            signal: deps.interrupts.abort,
          })
          : await createBackup(context, {
            type: args.type,
            description: args.description,
            pin: args.pin,
            tables: args.tables,
            excludeTables: args.excludeTables,
            ...filesSpec(args, config, deps),
            onProgress: progress.dump,
            signal: deps.interrupts.abort,
          });
        for (const destination of destinations) {
          copies.push(
            await syncDestination(context, destination, {
              timeZone: config.timezone,
              signal: deps.interrupts.abort,
            }),
          );
        }
        return created;
      }, { stores: [context.storage, ...destinations.map((d) => d.storage)] });
    } finally {
      progress.done();
    }
  } catch (error) {
    // a busy lock means another run is doing the work: it reports, this one stays quiet
    if (!(error instanceof LockBusyError)) await reporter.failed(messageOf(error));
    throw error;
  }
  const described = copies.map(describeSync);
  const copyErrors = described.flatMap((d) => d.errors);
  if (copyErrors.length > 0) {
    await reporter.failed(`Backup ${meta.id} was created, but: ${copyErrors.join("; ")}`);
  } else await reporter.succeeded(meta.id);
  for (const error of copyErrors) deps.io.stderr(`Error: ${error}\n`);
  const code = copyErrors.length > 0 ? ExitCode.Storage : 0;
  if (args.format === "json") {
    deps.io.stdout(renderJson(destinations.length ? { ...meta, copies } : meta));
    return code;
  }
  deps.io.stdout(
    `Created backup ${meta.id}${meta.pinned ? " (pinned: cleanup never deletes it)" : ""}\n` +
      `  database    ${meta.database.path ?? meta.database.name}\n` +
      `  tables      ${meta.totals.tables}, rows ${formatCount(meta.totals.rows)}\n` +
      `  size        ${formatBytes(meta.sizes.raw)} SQL, ${formatBytes(meta.sizes.compressed)} ${
        compressedWith(meta)
      }\n` +
      `  sha256      ${meta.file.sha256}\n` +
      `  took        ${(meta.durationMs / 1000).toFixed(meta.durationMs < 1000 ? 2 : 1)} s\n` +
      (meta.migration
        ? `  migration   ${meta.migration.version} (${meta.migration.table})\n`
        : "") +
      (meta.file.encryption
        ? `  encrypted   age, for ${meta.file.encryption.recipients.join(", ")}\n`
        : "") +
      (meta.server
        ? `  databases   ${meta.server.databases.join(", ")}; roles in the main file${
          meta.server.rolePasswords ? " (with password hashes)" : " (no password hashes)"
        }\n`
        : "") +
      filesLine(meta) +
      "\n" +
      renderTable(["table", "rows"], meta.tables.map((t) => [t.name, t.rows])) +
      described.flatMap((d) => d.lines).map((line) => line + "\n").join(""),
  );
  return code;
}

/**
 * The files to keep beside the database: `--files` (relative to the working directory) or the
 * `files` setting (made absolute next to its config file), none after `--no-files`.
 */
function filesSpec(args: CreateArgs, config: Config, deps: CommandDeps): { files?: FilesSpec } {
  const paths = args.files ?? config.files;
  return paths.length > 0 ? { files: { paths, base: deps.io.cwd ?? Deno.cwd() } } : {};
}

/** "compressed (zstd:3)", or "stored uncompressed". */
function compressedWith(meta: BackupMeta): string {
  const { compression, compressionLevel } = meta.file;
  if (compression === "none") return "stored uncompressed";
  return `compressed (${formatCompression({ format: compression, level: compressionLevel })})`;
}

/** The files part's line: entries, sizes, root. */
function filesLine(meta: BackupMeta): string {
  const part = meta.parts?.find((p) => p.kind === "files");
  if (!part) return "";
  return `  files       ${formatCount(part.entries ?? 0)} entries under ${part.root}, ${
    formatBytes(part.sizes.raw)
  } tar, ${formatBytes(part.sizes.compressed)} stored\n`;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Registers `create`. */
export function registerCreate(program: Command, deps: CommandDeps): void {
  const command = program.command("create")
    .description("back up the database to <type>_<time>.sql.gz (.zst) plus a .meta.json sidecar")
    .option(
      "--type <type>",
      "full (schema and data), schema, or base (PostgreSQL: a physical copy for restore --at)",
      "full",
    )
    .option("--description <text>", "note stored in the sidecar")
    .option("--pin", "pin the backup: cleanup never deletes it")
    .option("--pin-reason <text>", "why it is pinned (with --pin)")
    .option(
      "--table <pattern>",
      "only tables matching (schema.table or table, * and ?; repeatable)",
      collect,
      [],
    )
    .option("--exclude-table <pattern>", "leave out tables matching (repeatable)", collect, [])
    .option(
      "--copy-to <dir|s3://bucket/prefix>",
      'also copy the backup to this store (repeatable; config "copies")',
      collect,
      [],
    )
    .option(
      "--files <path>",
      'also keep these files in the backup (a directory, a file, or a * ? ** pattern; repeatable; replaces "files")',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option("--no-files", 'keep no files beside the database this time (ignores "files")')
    .option(
      "--all-databases",
      'PostgreSQL: every database of the server and its roles (config "databases")',
    )
    .option("--no-role-passwords", "with --all-databases: leave the roles' password hashes out")
    .option("--format <format>", "text or json", "text");
  withStallTimeoutOption(withJobsOption(withCompressionOption(command)))
    .addHelpText("after", HELP);
  withSeriesOption(withLocationOptions(command), "back up").action(async (raw) => {
    deps.setExitCode(await runCreate(parseCreateArgs(raw), deps));
  });
}
