/**
 * Several databases, each its own backup series. The `database` setting may name one database
 * (today's layout: its backups in the store's root), or a glob of SQLite paths or a list of
 * paths and URLs: then every database it names is a **series**, with its own ids, retention and
 * health, kept under its own prefix of the store (`<backupDir>/<series>/`). The names are derived
 * here, deterministically, from the databases themselves, so a run tomorrow finds the same
 * series under the same prefix.
 */
import { createHash } from "node:crypto";
import { basename, extname, isAbsolute, join, resolve } from "node:path";
import { UsageError } from "./errors.ts";

/** The `database` setting as validated: one location, or a list of them. */
export type DatabaseSetting = string | readonly string[];

/** One database of a several-database setting, and the name of its series. */
export interface Series {
  /** Safe as one path segment on every filesystem and as an S3 key part: `[A-Za-z0-9._-]`. */
  name: string;
  /** The database's location, as an engine takes it (`sqlite:/abs/app.db`, `postgres://…`). */
  database: string;
}

/** Longest series name: room for a suffix, short enough for any filesystem. */
const MAX_NAME = 64;

/**
 * Splits a text form of a list of databases (the `DATABASE_URL` variable and the `--database`
 * flag) at newlines and `;`. Neither occurs in a path one would back up, nor unescaped in a URL's
 * host or database name (a `;` in a password is written `%3B`); commas do occur in PostgreSQL
 * URLs (`host=a,b`), so they do not separate.
 */
export function splitDatabaseList(text: string): string[] {
  return text.split(/[;\n\r]+/).map((part) => part.trim()).filter((part) => part !== "");
}

/** The text form of a setting as the environment or a flag gives it: a list when it has `;` or a newline. */
export function parseDatabaseText(text: string): DatabaseSetting {
  const parts = splitDatabaseList(text);
  return /[;\n\r]/.test(text.trim()) ? parts : (parts[0] ?? text);
}

/** Whether `location` names a PostgreSQL database (`postgres://` or `postgresql://`). */
export function isPostgresLocation(location: string): boolean {
  return /^postgres(ql)?:/i.test(location);
}

/** The file path of a SQLite location (`sqlite:PATH`, `sqlite://PATH` or a bare path). */
export function sqlitePathOf(location: string): string {
  return location.replace(/^sqlite:(\/\/)?/i, "");
}

/** Whether a SQLite path holds glob characters (`*`, `?`, `[…]`). */
export function isGlobPattern(location: string): boolean {
  return !isPostgresLocation(location) && /[*?[]/.test(sqlitePathOf(location));
}

/**
 * Whether the setting names several series (a glob, or a list, even of one) rather than one
 * database in the store's root. The form decides, not the count: a glob that matches one file
 * today keeps its prefix when a second file appears tomorrow.
 */
export function isSeveral(setting: DatabaseSetting): boolean {
  return typeof setting !== "string" || isGlobPattern(setting);
}

/** The entries of a setting: its list, or the one location. */
export function entriesOf(setting: DatabaseSetting): string[] {
  return typeof setting === "string" ? [setting] : [...setting];
}

/**
 * The series name a database suggests, before collisions are settled: a SQLite file's name
 * without its extension, a PostgreSQL URL's database name (`postgres` when it names none), made
 * safe for a path segment.
 */
export function baseSeriesName(location: string): string {
  if (isPostgresLocation(location)) {
    let name = "";
    try {
      name = decodeURIComponent(new URL(location).pathname.replace(/^\/+/, ""));
    } catch {
      name = "";
    }
    return safeName(name || "postgres");
  }
  const file = basename(sqlitePathOf(location));
  const ext = extname(file);
  return safeName(ext && ext !== file ? file.slice(0, -ext.length) : file);
}

/**
 * A name safe as one path segment everywhere: other characters become `_`, no leading dot or
 * dash (hidden files, option-like names), at most {@linkcode MAX_NAME} characters, never empty.
 */
export function safeName(text: string): string {
  const safe = text.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^[.-]+/, "").slice(0, MAX_NAME);
  return safe === "" ? "db" : safe;
}

/**
 * Names every database of a several-database setting. A name two databases would share (also
 * when they differ only in case, as on case-insensitive disks) goes to the one whose location
 * sorts first; the others get `-` and 8 hex digits of their location's SHA-256, so each name is
 * a function of the database alone except for that first claim. The same location twice is one
 * series. Returned in name order.
 */
export function nameSeries(locations: readonly string[]): Series[] {
  const unique = [...new Set(locations)].sort();
  const claimed = new Set<string>();
  const series: Series[] = [];
  for (const database of unique) {
    let name = baseSeriesName(database);
    if (claimed.has(name.toLowerCase())) {
      const hash = createHash("sha256").update(database).digest("hex").slice(0, 8);
      name = `${name.slice(0, MAX_NAME - 9)}-${hash}`;
    }
    claimed.add(name.toLowerCase());
    series.push({ name, database });
  }
  return series.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/**
 * Whether the file name `name` matches one path segment of a glob: `*` any run of characters,
 * `?` one, `[abc]` / `[a-z]` / `[!a]` a class. A leading dot is matched only by a leading dot
 * (hidden files stay out, as in a shell).
 */
export function matchSegment(pattern: string, name: string): boolean {
  if (name.startsWith(".") && !pattern.startsWith(".")) return false;
  return segmentRegExp(pattern).test(name);
}

function segmentRegExp(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end === -1) {
        source += "\\[";
        continue;
      }
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith("!") || body.startsWith("^");
      if (negate) body = body.slice(1);
      source += `[${negate ? "^" : ""}${body.replace(/[\\\]]/g, "\\$&")}]`;
      i = end;
    } else source += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

/** Reads the names of a directory's entries; tests pass a fake. */
export type ReadDirectory = (
  path: string,
) => AsyncIterable<{ name: string; isFile: boolean; isDirectory: boolean; isSymlink: boolean }>;

/** Options of {@linkcode expandDatabases}. */
export interface ExpandOptions {
  /** Where relative SQLite paths start. Default the process's working directory. */
  cwd?: string;
  /** Default `Deno.readDir`. */
  readDir?: ReadDirectory;
}

/**
 * The series a setting names today: globs are matched against the files that exist now (a file
 * that appeared since the last run starts a series; one that vanished matches no more), list
 * entries are taken as they are (relative SQLite paths made absolute from `cwd`). Throws a `UsageError` for `**` (not supported: name the levels).
 * For a single plain database, returns it as the one series named after it.
 */
export async function expandDatabases(
  setting: DatabaseSetting,
  options: ExpandOptions = {},
): Promise<Series[]> {
  const locations: string[] = [];
  for (const entry of entriesOf(setting)) {
    if (!isGlobPattern(entry)) {
      // a relative SQLite path starts where a glob does: at cwd
      const path = sqlitePathOf(entry);
      locations.push(
        isPostgresLocation(entry) || isAbsolute(path)
          ? entry
          : `sqlite:${resolve(options.cwd ?? Deno.cwd(), path)}`,
      );
      continue;
    }
    const pattern = sqlitePathOf(entry);
    if (pattern.includes("**")) {
      throw new UsageError(
        `Invalid value "${entry}" for "database": "**" is not supported (use one "*" per directory level)`,
      );
    }
    const absolute = isAbsolute(pattern) ? pattern : resolve(options.cwd ?? Deno.cwd(), pattern);
    for (const path of await globFiles(absolute, options.readDir ?? Deno.readDir)) {
      locations.push(`sqlite:${path}`);
    }
  }
  return nameSeries(locations);
}

/** Files (or links to them) matching an absolute glob, in sorted order. */
async function globFiles(pattern: string, readDir: ReadDirectory): Promise<string[]> {
  const parts = pattern.split("/").filter((p) => p !== "");
  let bases = ["/"];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    const last = i === parts.length - 1;
    const next: string[] = [];
    for (const base of bases) {
      if (!/[*?[]/.test(part)) {
        next.push(join(base, part));
        continue;
      }
      try {
        for await (const entry of readDir(base)) {
          const wanted = last ? entry.isFile || entry.isSymlink : entry.isDirectory;
          if (wanted && matchSegment(part, entry.name)) next.push(join(base, entry.name));
        }
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
    bases = next;
  }
  // the last segment without wildcards still has to exist as a file
  const files: string[] = [];
  for (const path of bases) {
    try {
      if ((await Deno.stat(path)).isFile) files.push(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return files.sort();
}
