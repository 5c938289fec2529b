import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type CommandDeps, singleDatabase } from "./deps.ts";
import { UsageError } from "../core/errors.ts";
import type { Config } from "../config/schema.ts";
import { CONFIG_FILE_NAME } from "../config/load_config.ts";
import { parseLocation } from "../engines/postgres/postgres_engine.ts";
import { readIdentityFile } from "../core/crypto/age.ts";
import { type PgRestorePlan, type PgTarget, planPgRestore } from "../pitr/pg_pitr_plan.ts";
import { layDownDatadir } from "../pitr/pg_datadir_restore.ts";
import { checkRestoredServer, refuseRoot } from "../pitr/pg_check_server.ts";
import { pitrLocation } from "./pitr_store.ts";
import { renderJson } from "./format.ts";
import { progressReporter } from "./progress.ts";

/** What `restore --at … --to-datadir` takes (PostgreSQL). */
export interface RestorePgAtArgs {
  target: PgTarget;
  toDatadir?: string;
  check: boolean;
  dryRun: boolean;
  format: "text" | "json";
  identity?: string;
  /** `--archive-mode off`: the restored server does not archive. Default `preserve`. */
  archiveMode?: "off" | "preserve";
}

/** How long `--check` waits for recovery to finish. */
const CHECK_TIMEOUT_MS = 6 * 60 * 60 * 1000;

/**
 * `restore --at TIME --to-datadir DIR [--check]`: a new data directory from the newest base
 * backup before TIME, set to recover from the archive to TIME (through `wal-fetch`) and promote;
 * `--check` starts a throwaway server on it and reports what it recovered to.
 */
export async function runRestorePgAt(
  args: RestorePgAtArgs,
  config: Config,
  deps: CommandDeps,
): Promise<number> {
  if (args.check && !args.dryRun) refuseRoot();
  const { store } = pitrLocation(config, deps);
  const identityFile = args.identity ?? config.encryption.identityFile;
  const identities = identityFile ? await readIdentityFile(identityFile) : [];
  const plan = await planPgRestore(store, args.target, { identities, pgBin: config.pitr.pgBin });
  for (const note of plan.notes) deps.io.stderr(`Note: ${note}\n`);
  if (args.dryRun) {
    if (args.format === "json") deps.io.stdout(renderJson({ ...plan, dryRun: true }));
    else deps.io.stdout(describePlan(plan, args.toDatadir) + "Nothing was changed.\n");
    return 0;
  }
  if (args.toDatadir === undefined) {
    throw new UsageError(
      "Cannot restore a PostgreSQL server --at a point in time in place: give --to-datadir DIR (a new data directory; start a server on it, or --check)",
    );
  }
  const dir = resolve(deps.io.cwd ?? Deno.cwd(), args.toDatadir);
  const cwd = deps.io.cwd ?? Deno.cwd();
  const progress = progressReporter(deps.io, args.format === "text");
  const laid = await layDownDatadir(store, plan, dir, {
    identities,
    restoreCommand: fetchCommand(config, deps, cwd, identityFile),
    archiveMode: args.archiveMode,
    now: deps.clock.now(),
    signal: deps.interrupts.abort,
    onBytes: progress.bytes,
  }).finally(progress.done);
  const connection = parseLocation(singleDatabase(config), deps.io.env);
  let restored = 0;
  const check = args.check
    ? await checkRestoredServer(dir, {
      pgBin: config.pitr.pgBin,
      major: Math.floor(plan.base.serverVersionNum / 10000),
      user: connection.user,
      password: connection.password,
      database: connection.database,
      timeoutMs: CHECK_TIMEOUT_MS,
      signal: deps.interrupts.abort,
      onLog: (line) => {
        if (/restored log file/.test(line)) {
          progress.text?.(`recovering: ${++restored} WAL files restored`);
        }
      },
    }).finally(progress.done)
    : undefined;
  if (args.format === "json") {
    deps.io.stdout(renderJson({ ...plan, dir, entries: laid.entries, check: check ?? null }));
    return 0;
  }
  deps.io.stdout(
    `Restored data directory ${dir} from base backup ${plan.base.id}\n` +
      `  recovers to ${recoveryText(plan)}\n` +
      (check
        ? `  checked     a throwaway server recovered ${check.walRestored} WAL files and was promoted on timeline ${check.timeline}; ` +
          `last replayed transaction ${check.lastReplayedAt ?? "none"}; databases ${
            check.databases.join(", ")
          }; stopped\n`
        : `  start it    pg_ctl -D ${dir} start (it recovers, then promotes)\n`) +
      (Deno.uid() === 0
        ? `  owner       the files are root's: chown -R postgres ${dir} before starting it\n`
        : "") +
      (args.archiveMode === "off"
        ? "  archiving   off (archive_mode = off in postgresql.auto.conf)\n"
        : "  archiving   as the original's settings say: started while the original still runs, its " +
          "new timeline would lead later restores --at latest away from the original's (a test restore: --archive-mode off)\n"),
  );
  return 0;
}

/** The dry run's lines. */
function describePlan(plan: PgRestorePlan, dir: string | undefined): string {
  return `Dry run: restore ${dir ?? "(give --to-datadir)"} to ${recoveryText(plan)}\n` +
    `  base backup ${plan.base.id}, finished ${plan.base.stoppedAt} (WAL from ${plan.base.startWal})\n` +
    `  WAL         ${plan.walFiles} files archived after it, complete to ${plan.reachableWal}` +
    (plan.lastCommit ? ` (last transaction ${plan.lastCommit})` : "") + "\n" +
    plan.gaps.map((g) => `  gap         ${g.first}${g.count > 1 ? ` to ${g.last}` : ""} missing\n`)
      .join("");
}

function recoveryText(plan: PgRestorePlan): string {
  if (plan.recovery.targetTime) return `${plan.recovery.targetTime} (recovery_target_time)`;
  if (plan.recovery.targetXid) {
    return `transaction ${plan.recovery.targetXid} (recovery_target_xid)`;
  }
  return `the end of the archive (${plan.reachableWal})`;
}

/**
 * The `restore_command` the recovered server runs: this tool's `wal-fetch` with the same store
 * and settings file, by absolute paths (the server runs it in its data directory), or
 * `pitr.command` when set. No secret goes in it: the server reads them from the settings file
 * or its environment, as `wal-push` does.
 */
function fetchCommand(
  config: Config,
  deps: CommandDeps,
  cwd: string,
  identityFile?: string,
): string {
  const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;
  const script = fileURLToPath(new URL("../../scripts/backup-manager.ts", import.meta.url));
  const command = config.pitr.command ??
    [Deno.execPath(), "run", "-A", "--cached-only", script].map(quote).join(" ");
  const configPath = deps.configPath?.();
  const configFile = configPath !== undefined
    ? resolve(cwd, configPath)
    : existsSync(resolve(cwd, CONFIG_FILE_NAME))
    ? resolve(cwd, CONFIG_FILE_NAME)
    : undefined;
  const store = /^s3:\/\//i.test(config.backupDir) || isAbsolute(config.backupDir)
    ? config.backupDir
    : resolve(cwd, config.backupDir);
  return [
    command,
    ...(configFile ? ["--config", quote(configFile)] : []),
    "wal-fetch",
    "--dir",
    quote(store),
    ...(identityFile ? ["--identity", quote(resolve(cwd, identityFile))] : []),
    "%f",
    "%p",
  ].join(" ");
}

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
