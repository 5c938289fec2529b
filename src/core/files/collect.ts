/**
 * What the files part of a backup holds: the `files` setting's paths and patterns resolved to
 * existing paths, and the root their names in the tar are relative to. Resolved before anything
 * is written, so a path that matches nothing is a one-line error, not a silently empty tar.
 */
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { UsageError } from "../errors.ts";
import { exists, expandGlob, hasGlob } from "./glob.ts";

/** The files to keep beside the database: `create`'s `files` option. */
export interface FilesSpec {
  /** Paths or patterns (`*`, `?`, `**`), absolute or relative to `base`. */
  paths: string[];
  /**
   * Where relative paths start: the config file's directory for paths from the file (made
   * absolute by `load_config.ts`), the working directory for `--files`.
   */
  base: string;
  /**
   * Take `paths` as they are: no pattern expanded, no directory walked into, a path that is gone
   * skipped. What a restore's safety copy uses for exactly the files it replaces. Default `false`.
   */
  exact?: boolean;
  /**
   * The directory names are relative to. Default: `base` when every path lies inside it, else
   * the deepest directory that holds them all.
   */
  root?: string;
}

/** A {@linkcode FilesSpec} resolved: existing absolute paths and the root of their names. */
export interface CollectedFiles {
  root: string;
  /** Sorted; none inside another (a directory holds its own), none equal to `root` unless alone. */
  paths: string[];
  exact: boolean;
}

/**
 * Resolves `spec`: each path made absolute, taken as it is when it exists (even with `*` in its
 * name), else expanded as a pattern. Throws {@linkcode UsageError} (exit 2) naming the first
 * path or pattern that matches nothing (except with `exact`).
 */
export async function collectFiles(spec: FilesSpec): Promise<CollectedFiles> {
  const found = new Set<string>();
  for (const given of spec.paths) {
    const path = resolve(spec.base, given);
    if (await exists(path)) {
      found.add(path);
      continue;
    }
    if (spec.exact) continue;
    const matches = hasGlob(path) ? await expandGlob(path) : [];
    if (matches.length === 0) {
      throw new UsageError(
        `Cannot back up the files "${given}": ${
          hasGlob(given) ? "the pattern matches nothing" : "no such file or directory"
        } (check "files" or --files, or use --no-files)`,
      );
    }
    for (const match of matches) found.add(match);
  }
  const sorted = [...found].sort();
  const paths = spec.exact ? sorted : sorted.filter((p) => !sorted.some((q) => inside(p, q)));
  return { root: spec.root ?? rootOf(paths, spec.base), paths, exact: spec.exact ?? false };
}

/** `base` when every path lies inside it (or is it), else the deepest common parent directory. */
export function rootOf(paths: string[], base: string): string {
  if (paths.every((p) => p === base || inside(p, base))) return base;
  let common = dirname(paths[0]);
  for (const path of paths) {
    while (path !== common && !inside(path, common)) common = dirname(common);
  }
  return common;
}

/** Whether `path` lies strictly inside the directory `dir`. */
export function inside(path: string, dir: string): boolean {
  return isBelow(relative(dir, path));
}

/** The name of `path` in the tar: relative to `root`, `/`-separated, never `..` or absolute. */
export function entryName(root: string, path: string): string {
  const rel = relative(root, path);
  if (!isBelow(rel)) {
    throw new Error(`"${path}" is not inside "${root}"`);
  }
  return rel.split(sep).join("/");
}

/** Whether a relative path (from `node:path`'s `relative`) goes down, not up or elsewhere. */
function isBelow(rel: string): boolean {
  return rel !== "" && rel !== ".." && !rel.startsWith(".." + sep) && !isAbsolute(rel);
}
