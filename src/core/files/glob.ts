/**
 * Our own small glob matcher for the `files` setting: `*` (any run of characters within a name),
 * `?` (one character) and `**` (any number of directories, none included), expanded by walking
 * the filesystem, never by a shell. Unlike a shell, `*` and `?` also match names starting with a
 * dot: a backup of `config/*.json` should not silently miss `config/.secrets.json`. Directories
 * reached through a symlink are never walked into (links are stored as links, not followed).
 */
import { join, parse, sep } from "node:path";

/** Whether `path` holds a wildcard (`*` or `?`). */
export function hasGlob(path: string): boolean {
  return /[*?]/.test(path);
}

/** The regular expression one name segment of a pattern (`*.json`, `log-??`) matches. */
export function segmentRegExp(segment: string): RegExp {
  let source = "";
  for (const char of segment) {
    if (char === "*") source += "[^/]*";
    else if (char === "?") source += "[^/]";
    else source += char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`, "su");
}

/**
 * Every existing path that the absolute pattern `pattern` matches, sorted; empty when nothing
 * does. Literal segments are looked up as they are; wildcard segments list the directory;
 * `**` matches zero or more directories below (not walking into symlinked ones).
 */
export async function expandGlob(pattern: string): Promise<string[]> {
  const { root } = parse(pattern);
  const segments = pattern.slice(root.length).split(sep).filter((s) => s !== "" && s !== ".");
  const found = new Set<string>();
  await walk(root, segments, found);
  return [...found].sort();
}

async function walk(dir: string, segments: string[], found: Set<string>): Promise<void> {
  if (segments.length === 0) {
    if (await exists(dir)) found.add(dir);
    return;
  }
  const [head, ...rest] = segments;
  if (head === "**") {
    await walk(dir, rest, found); // zero directories
    for (const name of await childDirectories(dir)) {
      await walk(join(dir, name), segments, found);
    }
    return;
  }
  if (!hasGlob(head)) {
    await walk(join(dir, head), rest, found);
    return;
  }
  const regExp = segmentRegExp(head);
  for (const entry of await list(dir)) {
    if (!regExp.test(entry.name)) continue;
    // a name in the middle of a pattern must be a real directory, not a link to one
    if (rest.length > 0 && !entry.isDirectory) continue;
    await walk(join(dir, entry.name), rest, found);
  }
}

/** Whether something (a file, a directory, a link, even a dangling one) is at `path`. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return false;
    }
    throw error;
  }
}

async function list(dir: string): Promise<Deno.DirEntry[]> {
  try {
    const entries: Deno.DirEntry[] = [];
    for await (const entry of Deno.readDir(dir)) entries.push(entry);
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return [];
    }
    throw error;
  }
}

async function childDirectories(dir: string): Promise<string[]> {
  return (await list(dir)).filter((e) => e.isDirectory).map((e) => e.name);
}
