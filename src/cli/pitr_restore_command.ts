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

/** What `restore --at` takes. */
export interface RestoreAtArgs {
  at: string;
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
  if (context.engine.kind !== "sqlite") {
    throw new UsageError(
      "Cannot restore --at: point-in-time recovery is built for SQLite databases (PostgreSQL's is not built yet)",
    );
  }
  const at = parseAtTime(args.at, args.tz ?? config.timezone);
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
