/**
 * Writing restored files into place in two steps. Staging writes every file and link of the
 * archive under a temporary name in its own directory (`.bm-restore-<random>.tmp`, synced to disk),
 * while the stream is still being checked; only once the whole part has been read and its SHA-256
 * matched does committing rename them over their names, one `rename` each, so no file is ever
 * half-written and a damaged or interrupted restore leaves the tree as it was (temporaries and
 * the directories it made removed). Directories get their modes and mtimes last, deepest first.
 */
import { dirname, join } from "node:path";
import { lutimes } from "node:fs/promises";
import { IntegrityError } from "../errors.ts";
import type { FilesPlan } from "./restore_plan.ts";
import type { TarItem } from "./tar_read.ts";

/** Options of {@linkcode stageFiles}. */
export interface StageFilesOptions {
  /** Stops at the next entry or chunk (the staged files are removed). */
  signal?: AbortSignal;
  /** Called per chunk and entry (the stall watchdog's tick). */
  onProgress?: () => void;
}

/** Files written under temporary names, waiting to be renamed into place. */
export interface StagedFiles {
  /** Renames every staged file into place and sets the directories' modes and mtimes. */
  commit(): Promise<{ written: number; directories: number }>;
  /** Removes the temporaries and the directories staging created. */
  discard(): Promise<void>;
}

/**
 * Writes the archive's files and links (`items`, the archive `plan` was made from, read again)
 * under temporary names beside their places. An entry that differs from the plan's (the stored
 * part changed between the two reads) is an {@linkcode IntegrityError}; on any error what was
 * staged is removed before it is thrown.
 */
export async function stageFiles(
  items: AsyncIterable<TarItem>,
  plan: FilesPlan,
  id: string,
  options: StageFilesOptions = {},
): Promise<StagedFiles> {
  const renames: { temp: string; path: string }[] = [];
  const created: string[] = [];
  const directories: { path: string; mode: number; mtimeMs: number }[] = [];
  const staged: StagedFiles = {
    async commit() {
      for (const { temp, path } of renames) await Deno.rename(temp, path);
      renames.length = 0;
      for (const dir of [...directories].sort((a, b) => b.path.length - a.path.length)) {
        await Deno.chmod(dir.path, dir.mode);
        await Deno.utime(dir.path, new Date(), new Date(dir.mtimeMs));
      }
      return {
        written: plan.actions!.filter((a) => a.kind !== "directory" && a.action !== "skip").length,
        directories: directories.length,
      };
    },
    async discard() {
      for (const { temp } of renames) await Deno.remove(temp).catch(() => {});
      renames.length = 0;
      for (const dir of [...created].sort((a, b) => b.length - a.length)) {
        await Deno.remove(dir).catch(() => {}); // only when empty: never what was there before
      }
    },
  };
  const ensureDir = async (dir: string) => {
    const missing: string[] = [];
    for (let d = dir; !(await isDirectory(d)); d = dirname(d)) {
      missing.unshift(d);
      if (d === dirname(d)) break;
    }
    for (const d of missing) {
      await Deno.mkdir(d, { mode: 0o755 });
      created.push(d);
    }
  };
  try {
    await ensureDir(plan.root);
    const actions = plan.actions ?? [];
    let index = 0;
    for await (const { entry, body } of items) {
      options.signal?.throwIfAborted();
      const planned = actions[index++];
      if (!planned || planned.name !== entry.name || planned.kind !== entry.kind) {
        throw new IntegrityError(
          `Cannot restore the files of backup "${id}": the archive changed between two reads (entry ${index}); nothing was written`,
        );
      }
      if (planned.action === "skip") continue;
      const path = join(plan.root, entry.name);
      await ensureDir(entry.kind === "directory" ? path : dirname(path));
      if (entry.kind === "directory") {
        directories.push({ path, mode: entry.mode, mtimeMs: entry.mtimeMs });
        continue;
      }
      const temp = join(dirname(path), `.bm-restore-${crypto.randomUUID().slice(0, 8)}.tmp`);
      if (entry.kind === "symlink") {
        await Deno.symlink(entry.linkname ?? "", temp);
        renames.push({ temp, path });
        const at = entry.mtimeMs / 1000;
        await lutimes(temp, at, at).catch(() => {}); // not every filesystem keeps a link's time
        continue;
      }
      const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
      renames.push({ temp, path });
      try {
        for await (const chunk of body) {
          options.signal?.throwIfAborted();
          let written = 0;
          while (written < chunk.length) written += await file.write(chunk.subarray(written));
          options.onProgress?.();
        }
        await file.syncData();
      } finally {
        file.close();
      }
      await Deno.chmod(temp, entry.mode);
      await Deno.utime(temp, new Date(), new Date(entry.mtimeMs));
      options.onProgress?.();
    }
    if (index !== actions.length) {
      throw new IntegrityError(
        `Cannot restore the files of backup "${id}": the archive changed between two reads (${index} entries, ${actions.length} before); nothing was written`,
      );
    }
    return staged;
  } catch (error) {
    await staged.discard();
    throw error;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.lstat(path)).isDirectory;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return false;
    }
    throw error;
  }
}
