import { resolve } from "node:path";
import { type CommandDeps, locationFlags, serviceContext, settingsFor } from "./deps.ts";
import { RefusedError, UsageError } from "../core/errors.ts";
import { createBackup } from "../core/create.ts";
import { withLock } from "../core/lock.ts";
import { lockDirectoryOf } from "../core/lock.ts";
import { parseAtTime } from "../pitr/at_time.ts";
import { planSqliteAt, restoreSqliteAt } from "../pitr/sqlite_pitr_restore.ts";
import { sqlitePath } from "../engines/sqlite/sqlite_engine.ts";
import { pitrLocation } from "./pitr_store.ts";
import { renderJson } from "./format.ts";
import { readIdentityFile } from "../core/crypto/age.ts";
import { runRestorePgAt } from "./pg_pitr_restore_command.ts";

/** What `restore --at` takes. */
export interface RestoreAtArgs {
  /** `--at TIME|latest`; absent with `--txid`. */
  at?: string;
  /** `--txid N`: PostgreSQL, recover up to and including this transaction. */
  txid?: string;
  /** `--to-datadir DIR`: PostgreSQL, the new data directory. */
  toDatadir?: string;
  /** `--check`: PostgreSQL, start a throwaway server on it and report what it recovered. */
  check?: boolean;
  /** `--archive-mode off|preserve`: PostgreSQL, whether the restored server archives. */
  archiveMode?: string;
  tz?: string;
  to?: string;
  force: boolean;
  dryRun: boolean;
  format: "text" | "json";
  database?: string;
  dir?: string;
  /** `--identity`: the age identity file, for what an encrypting replicator stored. */
  identity?: string;
}

/**
 * `restore --at TIME`: the SQLite database as of that moment, from what `replicate` shipped,
 * into place (or `--to PATH`) with the usual refusal without `--force` (or a yes on a terminal)
 * and a `pre-restore` safety backup of what it replaces. `--dry-run` says which snapshot, how
 * many segments and what time the result will reflect.
 */
export async function runRestoreAt(args: RestoreAtArgs, deps: CommandDeps): Promise<number> {
  const config = settingsFor(deps, locationFlags(args));
  const context = serviceContext(config, deps);
  if (context.engine.kind === "postgres") {
    const at = args.at === undefined ? undefined : parseAtTime(args.at, args.tz ?? config.timezone);
    if ((at === undefined) === (args.txid === undefined)) {
      throw new UsageError("Cannot restore: give --at TIME or --txid N, not both");
    }
    if (args.txid !== undefined && !/^\d+$/.test(args.txid)) {
      throw new UsageError(`Invalid --txid "${args.txid}": expected a transaction id (a number)`);
    }
    return await runRestorePgAt(
      {
        target: args.txid !== undefined
          ? { kind: "xid", xid: args.txid }
          : at === "latest"
          ? { kind: "latest" }
          : { kind: "time", at: at! },
        toDatadir: args.toDatadir,
        check: args.check === true,
        archiveMode: archiveModeOf(args.archiveMode),
        dryRun: args.dryRun,
        format: args.format,
        identity: args.identity,
      },
      config,
      deps,
    );
  }
  if (
    args.txid !== undefined || args.toDatadir !== undefined || args.check ||
    args.archiveMode !== undefined
  ) {
    throw new UsageError(
      "Cannot use --txid, --to-datadir, --check or --archive-mode with SQLite: they recover a PostgreSQL server (SQLite: --at TIME [--to PATH])",
    );
  }
  const at = parseAtTime(args.at!, args.tz ?? config.timezone);
  const target = at === "latest" ? deps.clock.now() : at;
  const { store } = pitrLocation(config, deps);
  const output = args.to === undefined
    ? sqlitePath(context.database)
    : resolve(deps.io.cwd ?? Deno.cwd(), args.to);
  const plan = await planSqliteAt(store, target);
  if (args.dryRun) {
    if (args.format === "json") {
      deps.io.stdout(renderJson({ ...plan, target: output, dryRun: true }));
    } else {
      deps.io.stdout(
        `Dry run: restore ${output} as of ${target.toISOString()}\n` +
          `  snapshot    generation ${plan.generation}, taken ${plan.snapshotAt}\n` +
          `  segments    ${plan.segments} (${plan.commits} commits after the snapshot)\n` +
          `  reflects    ${plan.reflects}\n` +
          (plan.stoppedEarly ? `  stops early ${plan.stoppedEarly}\n` : "") +
          "Nothing was changed.\n",
      );
    }
    return 0;
  }
  const exists = await Deno.stat(output).then(() => true, () => false);
  if (exists && !args.force) {
    const answer = deps.io.isTerminal
      ? await deps.io.prompt(`Replace ${output} with its state as of ${plan.reflects}? [y/N] `)
      : null;
    if (!/^y(es)?$/i.test(answer?.trim() ?? "")) {
      throw new RefusedError(
        `Cannot restore --at: "${output}" exists and would be replaced (use --force)`,
      );
    }
  }
  return await withLock(
    lockDirectoryOf(context),
    { command: "restore", clock: deps.clock },
    async () => {
      const safety = exists
        ? await createBackup(context, {
          type: "pre-restore",
          database: output,
          description: `Safety copy taken before restoring to ${target.toISOString()}`,
        })
        : undefined;
      const identityFile = context.encryption?.identityFile;
      const identities = identityFile ? await readIdentityFile(identityFile) : [];
      const result = await restoreSqliteAt(store, target, output, identities);
      if (args.format === "json") {
        deps.io.stdout(renderJson({ ...result, target: output, safetyBackup: safety?.id ?? null }));
      } else {
        deps.io.stdout(
          `Restored ${output} as of ${result.reflects} (generation ${result.generation}, ` +
            `${result.segments} segments, ${result.commits} commits after the snapshot)\n` +
            (safety ? `  safety backup of the previous database: ${safety.id}\n` : "") +
            (result.stoppedEarly
              ? `  Warning: the chain ends early (${result.stoppedEarly}): this is the last state it proves\n`
              : ""),
        );
      }
      return 0;
    },
  );
}

/** `--archive-mode`: `off` or `preserve` (the default), else a usage error. */
function archiveModeOf(value: string | undefined): "off" | "preserve" | undefined {
  if (value === undefined || value === "off" || value === "preserve") return value;
  throw new UsageError(`Invalid value "${value}" for --archive-mode: expected "off" or "preserve"`);
}
