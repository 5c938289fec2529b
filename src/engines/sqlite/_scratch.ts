/**
 * SQLite's scratch things: the temporary file a restore loads beside its target
 * (`.app.db.bm-restore.<host>.<pid>.<startMs>`, with `-journal`/`-wal`/`-shm`), and the
 * temporary directory of a restore test (`bm-verify.<host>.<pid>.<startMs>.<rand>` in the temp
 * directory). Finding them for a later run to remove when their owner is gone; never one whose
 * owner is alive. Names of older versions (`.app.db.restoring-<8 hex>`,
 * `backup-manager-scratch-<rand>`) carry no owner: stale once untouched for an hour.
 */
import { basename, dirname, join } from "node:path";
import type { ScratchLeftover } from "../engine.ts";
import { DatabaseError, messageOf } from "../../core/errors.ts";
import {
  LEGACY_SCRATCH_STALE_AFTER_MS,
  localFileLiveness,
  parseScratchDirectoryName,
  parseScratchFileName,
  scratchStaleness,
} from "../../core/scratch_names.ts";

const COMPANIONS = ["", "-journal", "-wal", "-shm"];

const LEGACY_FILE = /^\.(.+)\.restoring-[0-9a-f]{8}(?:-journal|-wal|-shm)?$/;
const LEGACY_DIRECTORY = /^backup-manager-scratch-/;

/**
 * The temporary directory restore tests make their scratch directories in: `TMPDIR` of the
 * environment the engine was given (the process's by default), else `/tmp`.
 */
export function scratchParent(tmpDir?: string): string {
  return tmpDir || "/tmp";
}

/** Scratch files beside `targetPath` and restore-test directories in the temp directory. */
export async function findSqliteScratch(
  targetPath: string,
  now: Date,
  tmpDir: string = Deno.env.get("TMPDIR") ?? "",
): Promise<ScratchLeftover[]> {
  const target = basename(targetPath);
  const directory = dirname(targetPath);
  const liveness = localFileLiveness(now);
  // a file and its companions are one leftover, stale only when every part of it is
  const files = new Map<string, { kind: string; size: number; reasons: (string | undefined)[] }>();
  for (const entry of await entries(directory)) {
    if (!entry.isFile) continue;
    const parsed = parseScratchFileName(entry.name);
    const legacy = parsed ? undefined : LEGACY_FILE.exec(entry.name);
    if ((parsed?.target ?? legacy?.[1]) !== target) continue;
    const info = await statOf(join(directory, entry.name));
    if (!info) continue;
    const path = join(directory, entry.name.replace(/-(journal|wal|shm)$/, ""));
    const file = files.get(path) ?? { kind: parsed?.kind ?? "legacy", size: 0, reasons: [] };
    file.size += info.size;
    file.reasons.push(
      parsed ? scratchStaleness(parsed.owner, liveness) : legacyStaleness(info.mtime, now),
    );
    files.set(path, file);
  }
  const found: ScratchLeftover[] = [...files].map(([name, { kind, size, reasons }]) =>
    leftover(name, kind, size, reasons.includes(undefined) ? undefined : reasons[0])
  );
  const parent = scratchParent(tmpDir);
  for (const entry of await entries(parent)) {
    if (!entry.isDirectory) continue;
    const parsed = parseScratchDirectoryName(entry.name);
    if (!parsed && !LEGACY_DIRECTORY.test(entry.name)) continue;
    const path = join(parent, entry.name);
    const info = await statOf(path);
    if (!info) continue;
    const stale = parsed
      ? scratchStaleness(parsed.owner, liveness)
      : legacyStaleness(info.mtime, now);
    found.push(leftover(path, parsed?.kind ?? "legacy", await directorySize(path), stale));
  }
  return found;
}

function leftover(name: string, kind: string, size: number, stale?: string): ScratchLeftover {
  return { name, kind, size, ...(stale === undefined ? {} : { stale }) };
}

/** Removes a leftover found by {@linkcode findSqliteScratch}: a file and its companions, or a directory. */
export async function removeSqliteScratch(leftover: ScratchLeftover): Promise<void> {
  try {
    if ((await statOf(leftover.name))?.isDirectory) {
      await Deno.remove(leftover.name, { recursive: true });
      return;
    }
    for (const suffix of COMPANIONS) {
      await Deno.remove(leftover.name + suffix).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
    }
  } catch (error) {
    throw new DatabaseError(`Cannot remove "${leftover.name}": ${messageOf(error)}`, {
      cause: error,
    });
  }
}

function legacyStaleness(mtime: Date | null, now: Date): string | undefined {
  const age = now.getTime() - (mtime?.getTime() ?? 0);
  return age > LEGACY_SCRATCH_STALE_AFTER_MS ? "untouched for over an hour" : undefined;
}

async function entries(directory: string): Promise<Deno.DirEntry[]> {
  const found: Deno.DirEntry[] = [];
  try {
    for await (const entry of Deno.readDir(directory)) found.push(entry);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw new DatabaseError(`Cannot read directory "${directory}": ${messageOf(error)}`, {
      cause: error,
    });
  }
  return found;
}

async function statOf(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined; // removed meanwhile
    throw error;
  }
}

async function directorySize(path: string): Promise<number> {
  let size = 0;
  for (const entry of await entries(path).catch(() => [])) {
    const info = await statOf(join(path, entry.name)).catch(() => undefined);
    if (!info) continue;
    size += info.isDirectory ? await directorySize(join(path, entry.name)) : info.size;
  }
  return size;
}
