/**
 * What restoring the files of a backup would do, decided from the archive's listing and the
 * target directory before anything is written: each entry's action (create, replace, update a
 * directory), the existing files and links it overwrites (what the safety copy must hold), and
 * every reason to refuse. An entry that would land outside the target root — an absolute name,
 * a `..`, a path through a symlink (in the archive or on disk) — refuses the whole restore.
 */
import { join } from "node:path";
import { RefusedError } from "../errors.ts";
import type { TarEntry, TarKind } from "./tar_header.ts";

/** What restoring one entry does. */
export type FileAction = "create" | "replace" | "update" | "skip";

/** One entry of a {@linkcode FilesPlan}. */
export interface PlannedEntry {
  name: string;
  kind: TarKind;
  action: FileAction;
}

/** What a files restore would do; it changes nothing. */
export interface FilesPlan {
  /** The directory the names are restored under (absolute). */
  root: string;
  /** Entries the sidecar records. */
  entries: number;
  /**
   * Per entry, in archive order. Absent when the part could not be read here (an encrypted
   * backup's dry run without its identity).
   */
  actions?: PlannedEntry[];
  /** Absolute paths of existing files and links the restore overwrites (the safety copy's). */
  replaced: string[];
  /** Entries skipped (hard links, devices of a foreign tar), one line each. */
  warnings: string[];
}

/**
 * Why an entry name may not be restored, or `undefined` when it is a plain relative path:
 * absolute, `..` or `.` segments, empty segments, NUL or backslashes are all refused.
 */
export function unsafeName(name: string): string | undefined {
  if (name === "") return "it is empty";
  if (name.includes("\0")) return "it holds a NUL byte";
  if (name.startsWith("/")) return "it is absolute";
  if (name.includes("\\")) return "it holds a backslash";
  const segments = name.split("/");
  if (segments.includes("..")) return 'it climbs out with ".."';
  if (segments.some((s) => s === "" || s === ".")) return "it has an empty or . segment";
  return undefined;
}

/**
 * Plans restoring `entries` (the archive's listing, in order) under `root`. Throws
 * {@linkcode RefusedError} (exit 6) on the first entry that would land outside `root`, or whose
 * place is taken by something of another kind (a directory where a file goes, or the reverse).
 */
export async function planFiles(
  entries: AsyncIterable<TarEntry>,
  root: string,
  id: string,
  recorded: number,
): Promise<FilesPlan> {
  const refuse = (name: string, why: string) =>
    new RefusedError(
      `Cannot restore the files of backup "${id}": entry "${name}" ${why}; nothing was written`,
    );
  const links = new Set<string>();
  const files = new Set<string>();
  const actions: PlannedEntry[] = [];
  const replaced: string[] = [];
  const warnings: string[] = [];
  const checked = new Map<string, "directory" | "missing">();
  for await (const entry of entries) {
    const { name, kind } = entry;
    const why = unsafeName(name);
    if (why) throw refuse(name, `is not a safe relative path (${why})`);
    const segments = name.split("/");
    for (let i = 1; i < segments.length; i++) {
      const parent = segments.slice(0, i).join("/");
      if (links.has(parent)) throw refuse(name, `goes through the symbolic link "${parent}"`);
      if (files.has(parent)) {
        throw refuse(name, `needs "${parent}", a file in the archive, to be a directory`);
      }
      const state = checked.get(parent) ?? await parentState(join(root, parent));
      if (state === "link") {
        throw refuse(name, `goes through "${parent}", a symbolic link in the target`);
      }
      if (state === "other") throw refuse(name, `needs "${parent}" to be a directory`);
      checked.set(parent, state);
    }
    if (kind === "hardlink" || kind === "other") {
      warnings.push(
        `"${name}" is a ${kind === "hardlink" ? "hard link" : "special file"}: skipped`,
      );
      actions.push({ name, kind, action: "skip" });
      continue;
    }
    if (kind === "symlink") links.add(name);
    else if (kind === "file") files.add(name);
    if (kind === "directory") checked.set(name, "directory");
    const path = join(root, name);
    const existing = await lstatOrUndefined(path);
    if (!existing) {
      actions.push({ name, kind, action: "create" });
    } else if (kind === "directory") {
      if (!existing.isDirectory) throw refuse(name, "is a directory, but a file is in its place");
      actions.push({ name, kind, action: "update" });
    } else {
      if (existing.isDirectory) throw refuse(name, "is a file, but a directory is in its place");
      actions.push({ name, kind, action: "replace" });
      replaced.push(path);
    }
  }
  return { root, entries: recorded, actions, replaced, warnings };
}

async function parentState(path: string): Promise<"directory" | "missing" | "link" | "other"> {
  const info = await lstatOrUndefined(path);
  if (!info) return "missing";
  return info.isSymlink ? "link" : info.isDirectory ? "directory" : "other";
}

async function lstatOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw error;
  }
}
