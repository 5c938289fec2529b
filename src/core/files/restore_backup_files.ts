/**
 * Restoring the files part of a backup, for `restore`: the plan (every entry checked against the
 * target before anything is written, the files it would replace listed) and the restore itself
 * (staged under temporary names while the part is checked, renamed into place once it is whole).
 * The safety copy of what it replaces is the caller's: a `pre-restore` backup whose files part
 * holds exactly those files ({@linkcode safetyFilesSpec}).
 */
import { resolve } from "node:path";
import type { Storage } from "../../storage/storage.ts";
import type { BackupMeta } from "../backup_file.ts";
import type { ServiceContext } from "../context.ts";
import type { FilesSpec } from "./collect.ts";
import { filesPartOf, readFilesPart } from "./read_part.ts";
import { type FilesPlan, planFiles } from "./restore_plan.ts";
import { type StagedFiles, stageFiles } from "./restore_files.ts";
import type { TarEntry } from "./tar_header.ts";
import type { TarItem } from "./tar_read.ts";

/** Options of {@linkcode planFilesRestore}. */
export interface PlanFilesOptions {
  /** Restore under this directory instead of the recorded root. */
  to?: string;
  /** A dry run: an encrypted part without its identity is planned without its listing. */
  dryRun?: boolean;
  /** Called as the part is read (the stall watchdog's tick). */
  onProgress?: () => void;
}

/**
 * What restoring the files of `meta` would do (reads and checks the whole part; writes nothing).
 * Throws `RefusedError` for an entry that would land outside the root.
 */
export async function planFilesRestore(
  context: ServiceContext,
  storage: Storage,
  meta: BackupMeta,
  options: PlanFilesOptions = {},
): Promise<FilesPlan> {
  const part = filesPartOf(meta);
  if (!part) throw new Error(`backup "${meta.id}" holds no files`);
  const root = resolve(options.to ?? part.root ?? "/");
  if (options.dryRun && part.file.encryption && !context.encryption?.identityFile) {
    return { root, entries: part.entries ?? 0, replaced: [], warnings: [] };
  }
  return await readFilesPart(
    storage,
    meta,
    context.encryption,
    "restore",
    (items) => planFiles(entriesOf(items), root, meta.id, part.entries ?? 0),
    options.onProgress,
  );
}

/** Options of {@linkcode restoreFilesPart}. */
export interface RestoreFilesOptions {
  signal?: AbortSignal;
  /** Called as bytes are written (the stall watchdog's tick). */
  onProgress?: () => void;
}

/** What a files restore did. */
export interface FilesRestored {
  root: string;
  /** Files and links written. */
  written: number;
  /** Existing files and links among them that were replaced. */
  replaced: number;
  directories: number;
}

/**
 * Restores the files of `meta` as `plan` says: staged while the part is read and checked again,
 * renamed into place only once it matched its SHA-256 (a damaged part changes nothing).
 */
export async function restoreFilesPart(
  context: ServiceContext,
  storage: Storage,
  meta: BackupMeta,
  plan: FilesPlan,
  options: RestoreFilesOptions = {},
): Promise<FilesRestored> {
  let staged: StagedFiles | undefined;
  try {
    await readFilesPart(storage, meta, context.encryption, "restore", async (items) => {
      staged = await stageFiles(items, plan, meta.id, options);
    }, options.onProgress);
  } catch (error) {
    await staged?.discard();
    throw error;
  }
  const done = await staged!.commit();
  return { root: plan.root, ...done, replaced: plan.replaced.length };
}

/**
 * The safety copy's files: exactly the existing files and links `plan` replaces, named as in the
 * archive (relative to the same root), or `undefined` when it replaces nothing.
 */
export function safetyFilesSpec(plan: FilesPlan): FilesSpec | undefined {
  if (plan.replaced.length === 0) return undefined;
  return { paths: plan.replaced, base: plan.root, root: plan.root, exact: true };
}

async function* entriesOf(items: AsyncIterable<TarItem>): AsyncIterable<TarEntry> {
  for await (const item of items) yield item.entry;
}
