/**
 * `restore` of a whole server's backup (`create --all-databases`): `--all`, `--globals-only`,
 * and `--database NAME` where NAME is one of the backup's databases rather than a location
 * (a URL or a SQLite path keeps meaning the target, as for any other backup). The command file
 * asks {@linkcode serverRestoreFor} first and hands over when it answers.
 */
import type { CommandDeps } from "./deps.ts";
import { contextFor, locked } from "./deps.ts";
import type { RestoreArgs } from "./commands/restore.ts";
import {
  planServerRestore,
  readBackupMeta,
  restoreServerBackup,
  type ServerRestoreMode,
  type ServerRestoreOptions,
  type ServerRestorePlan,
} from "../core/server_restore.ts";
import { BackupManagerError, RefusedError, UsageError } from "../core/errors.ts";
import { formatBytes, renderJson, renderTable } from "./format.ts";
import { progressReporter } from "./progress.ts";

/** How `restore` treats a server backup: the mode, and the database a plain `--database` names. */
export interface ServerRestoreChoice {
  mode: ServerRestoreMode;
  database?: string;
}

/**
 * Whether this `restore` is of a server backup, and how: `--all` and `--globals-only` say so
 * themselves; a `--database` that is no URL is a database of the backup when the backup is a
 * server's (its sidecar is read to tell). `undefined`: the ordinary restore.
 */
export async function serverRestoreFor(
  args: RestoreArgs,
  deps: CommandDeps,
): Promise<ServerRestoreChoice | undefined> {
  if (args.all && args.globalsOnly) {
    throw new UsageError("Cannot use --all with --globals-only (choose one)");
  }
  if (args.all || args.globalsOnly) {
    if (args.database !== undefined && !isUrl(args.database)) {
      throw new UsageError(
        `Cannot use --database "${args.database}" with --${
          args.all ? "all" : "globals-only"
        }: name the server with --to postgres://… (or --database postgres://…)`,
      );
    }
    return { mode: args.all ? "all" : "globals" };
  }
  if (args.database === undefined || isUrl(args.database)) return undefined;
  try {
    const meta = await readBackupMeta(contextOf(args, deps), args.id);
    return meta.server ? { mode: "database", database: args.database } : undefined;
  } catch (error) {
    // not readable here: the ordinary restore reports it in its own words
    if (error instanceof BackupManagerError) return undefined;
    throw error;
  }
}

/** The context of a server restore: the server from `--database URL`, else `--to URL`, else the settings. */
function contextOf(args: RestoreArgs, deps: CommandDeps) {
  const database = isUrl(args.database) ? args.database : isUrl(args.to) ? args.to : undefined;
  return contextFor({ ...args, database }, deps);
}

/** Runs `restore` of a server backup (or its dry run) and prints what it did. */
export async function runServerRestore(
  args: RestoreArgs,
  choice: ServerRestoreChoice,
  deps: CommandDeps,
): Promise<number> {
  const { io } = deps;
  const context = contextOf(args, deps);
  const options: ServerRestoreOptions = {
    mode: choice.mode,
    database: choice.database,
    to: args.to,
    force: args.force,
    clean: args.clean,
    noOwner: args.noOwner,
    noPrivileges: args.noPrivileges,
    ignoreVersion: args.ignoreVersion,
    signal: deps.interrupts.abort,
  };
  if (args.dryRun || (!args.force && io.isTerminal)) {
    const plan = await planServerRestore(context, args.id, options);
    if (args.dryRun) {
      io.stdout(
        args.format === "json"
          ? renderJson({ ...plan, meta: undefined, type: plan.meta.type, dryRun: true })
          : renderPlan(plan),
      );
      return 0;
    }
    const replaced = plan.databases.filter((d) => d.replaces);
    if (replaced.length > 0) {
      const answer = await io.prompt(
        `Replace ${
          replaced.map((d) => `"${d.target}"`).join(", ")
        } with backup ${plan.id}? A safety backup of each is taken first. Type "yes" to continue:`,
      );
      if (answer?.trim().toLowerCase() !== "yes") {
        throw new RefusedError(
          `Cannot restore backup "${plan.id}": not confirmed (nothing was changed)`,
        );
      }
      options.force = true;
    }
  }
  const progress = progressReporter(io, args.format === "text");
  let result;
  try {
    result = await locked(
      context,
      "restore",
      () => restoreServerBackup(context, args.id, { ...options, onProgress: progress.bytes }),
      { locations: [context.database, ...(args.to === undefined ? [] : [args.to])] },
    );
  } finally {
    progress.done();
  }
  for (const warning of result.warnings) io.stderr(`Warning: ${warning}\n`);
  if (args.format === "json") {
    io.stdout(renderJson(result));
    return 0;
  }
  const lines = [
    ...(result.globals?.lines ?? []),
    ...(result.globals
      ? [
        `Roles: ${result.globals.roles.created.length} created, ${result.globals.roles.kept.length} left as they were; ${result.globals.memberships} memberships and ${result.globals.settings} settings added`,
      ]
      : []),
    ...result.databases.flatMap((d) => [
      `Restored database "${d.name}" into ${d.target} (${formatBytes(d.bytes)} read)`,
      ...(d.safetyBackup ? [`  safety backup of the previous database: ${d.safetyBackup}`] : []),
    ]),
    `Restored ${
      choice.mode === "globals" ? "the globals of " : ""
    }${result.id} into ${result.server}`,
  ];
  io.stdout(lines.map((line) => line + "\n").join(""));
  return 0;
}

/** The dry run's text. */
function renderPlan(plan: ServerRestorePlan): string {
  const out = [
    `Dry run: restore ${
      plan.mode === "all"
        ? "the globals and every database"
        : plan.mode === "globals"
        ? "the globals"
        : `database "${plan.databases[0]?.name}"`
    } of ${plan.id} (server backup of ${plan.meta.server?.databases.length} databases, ${plan.meta.createdAt}) into ${plan.server}`,
  ];
  if (plan.version) {
    out.push(`  versions: backup ${plan.version.backup}, target ${plan.version.target}`);
  }
  if (plan.globals) {
    out.push(
      ...plan.globals.lines.map((line) =>
        `  ${
          line.replace(/created$/, "would be created").replace(
            /^Roles created/,
            "Roles that would be created",
          )
        }`
      ),
    );
  } else if (plan.mode !== "database") {
    out.push("  globals: encrypted (give --identity to see what would happen to the roles)");
  }
  for (const d of plan.databases) {
    out.push(
      `  database "${d.name}" -> ${d.target}: ${
        d.needsClean
          ? "is not empty: refused without --clean (which replaces the backup's objects)"
          : d.exists
          ? "exists and is empty"
          : "does not exist and would be created"
      }`,
    );
    out.push(
      renderTable(
        ["table", "backup rows", "current rows"],
        d.tables.map((t) => [t.name, t.backupRows, t.currentRows ?? "-"]),
      ).trimEnd(),
    );
  }
  out.push("Nothing was changed.");
  return out.join("\n") + "\n";
}

function isUrl(location: string | undefined): location is string {
  return location !== undefined && /^postgres(ql)?:\/\//i.test(location);
}
