/**
 * The files step of `restore` (`core/restore.ts` calls it): which mode applies, the plan, the
 * confirmation rule, the safety copy, and the files-only restore (`restore --files`).
 *
 * The safety copy of the files a restore replaces is a `pre-restore` backup, the same kind the
 * database restore already takes, whose files part holds exactly the existing files and links it
 * overwrites (named as in the archive, under the same root). With a database restore it is one
 * backup: the database as it was and those files. With `--files` alone it is a backup of the
 * configured database as it is now plus those files, so `restore <safety> --files` puts them
 * back; retention treats it as every `pre-restore` backup (`retention.preRestore`).
 */
import type { Storage } from "../../storage/storage.ts";
import type { BackupMeta } from "../backup_file.ts";
import type { ServiceContext } from "../context.ts";
import { createBackup } from "../create.ts";
import { RefusedError, UsageError } from "../errors.ts";
import type { Watchdog } from "../watchdog.ts";
import { filesPartOf } from "./read_part.ts";
import type { FilesPlan } from "./restore_plan.ts";
import {
  type FilesRestored,
  planFilesRestore,
  restoreFilesPart,
  safetyFilesSpec,
} from "./restore_backup_files.ts";

/** Whether a restore handles the backup's files: with the database, not at all, or alone. */
export type FilesMode = "include" | "skip" | "only";

/** The options of `restoreBackup` this step reads. */
export interface FilesStepOptions {
  /** Default: `include` when the backup holds files and the database goes to its own place. */
  files?: FilesMode;
  /** The database target (`--to`): another database leaves the files alone unless asked. */
  to?: string;
  /** Restore the files under this directory instead of their recorded root. */
  filesTo?: string;
  force?: boolean;
  dryRun?: boolean;
  jobs?: number;
}

/**
 * The mode that applies to `meta`: `skip` when it holds no files (`only` is then a
 * {@linkcode UsageError}), else `options.files`, by default `include` — unless the database goes
 * elsewhere (`to`): a restore into another database does not overwrite the live files.
 */
export function filesMode(meta: BackupMeta, options: FilesStepOptions): FilesMode {
  if (!filesPartOf(meta)) {
    if (options.files === "only") {
      throw new UsageError(
        `Cannot restore the files of backup "${meta.id}": it holds no files (restore it without --files)`,
      );
    }
    return "skip";
  }
  return options.files ?? (options.to === undefined ? "include" : "skip");
}

/**
 * The files plan when the mode restores files, else `undefined`: reads and checks the whole
 * part, refuses (exit 6) an entry that would land outside the root.
 */
export async function planFilesStep(
  context: ServiceContext,
  storage: Storage,
  meta: BackupMeta,
  options: FilesStepOptions,
  dog: Watchdog,
): Promise<FilesPlan | undefined> {
  if (filesMode(meta, options) === "skip") return undefined;
  dog.enter({
    doing: "reading the files of the backup",
    what: `backup "${meta.id}" in "${storage.location}"`,
    check: "check the store (a hung S3 endpoint or network mount); nothing was changed",
  });
  return await planFilesRestore(context, storage, meta, {
    to: options.filesTo,
    dryRun: options.dryRun,
    onProgress: () => dog.tick(),
  });
}

/** Refuses (exit 6) replacing existing files without `force`. */
export function requireFilesForce(plan: FilesPlan | undefined, id: string, force?: boolean) {
  if (!plan || plan.replaced.length === 0 || force) return;
  throw new RefusedError(
    `Cannot restore the files of backup "${id}": ${plan.replaced.length} existing file(s) under "${plan.root}" would be replaced (use --force)`,
  );
}

/**
 * Refuses (exit 6) replacing files when no safety copy can be taken: the database the
 * `pre-restore` backup holds does not exist.
 */
export async function requireSafetyPossible(
  context: ServiceContext,
  plan: FilesPlan | undefined,
  id: string,
  database: string,
): Promise<void> {
  if (!plan || plan.replaced.length === 0) return;
  if (await context.engine.exists(database)) return;
  throw new RefusedError(
    `Cannot restore the files of backup "${id}": ${plan.replaced.length} existing file(s) would be replaced and no safety copy can be taken, because "${
      context.engine.redact(database)
    }" does not exist (restore the database first with --no-files, then the files with --files; or use --files --to DIR)`,
  );
}

/** What a files-only restore did (the shape of `RestoreResult`). */
export interface FilesOnlyResult {
  id: string;
  target: string;
  safetyBackup?: string;
  bytes: number;
  files: FilesRestored;
}

/**
 * `restore --files`: plans, takes the safety copy of what would be replaced (a `pre-restore`
 * backup of the configured database with those files), then restores the files alone.
 */
export async function restoreOnlyFiles(
  context: ServiceContext,
  storage: Storage,
  meta: BackupMeta,
  options: FilesStepOptions,
  dog: Watchdog,
): Promise<FilesOnlyResult> {
  const plan = (await planFilesStep(context, storage, meta, options, dog))!;
  requireFilesForce(plan, meta.id, options.force);
  await requireSafetyPossible(context, plan, meta.id, context.database);
  const safety = await safetyBackup(context, plan, meta.id, context.database, options, dog);
  const files = await restoreFilesStep(context, storage, meta, plan, dog);
  return {
    id: meta.id,
    target: plan.root,
    ...(safety ? { safetyBackup: safety } : {}),
    bytes: 0,
    files,
  };
}

/** The safety copy for a files-only restore; its id, or `undefined` when nothing is replaced. */
async function safetyBackup(
  context: ServiceContext,
  plan: FilesPlan,
  id: string,
  database: string,
  options: FilesStepOptions,
  dog: Watchdog,
): Promise<string | undefined> {
  const files = safetyFilesSpec(plan);
  if (!files) return undefined;
  const safety = await createBackup(context, {
    type: "pre-restore",
    database,
    jobs: options.jobs,
    description: `Safety copy taken before restoring the files of ${id}`,
    files,
    signal: dog.signal,
    watchdog: dog,
  });
  return safety.id;
}

/** Restores the files as `plan` says, through the watchdog. */
export async function restoreFilesStep(
  context: ServiceContext,
  storage: Storage,
  meta: BackupMeta,
  plan: FilesPlan,
  dog: Watchdog,
): Promise<FilesRestored> {
  dog.enter({
    doing: "restoring the files",
    what: `backup "${meta.id}" into "${plan.root}"`,
    check:
      "check the target disk (full, a hung network mount); files not yet renamed into place were left as they were",
  });
  return await restoreFilesPart(context, storage, meta, plan, {
    signal: dog.signal,
    onProgress: () => dog.tick(),
  });
}
