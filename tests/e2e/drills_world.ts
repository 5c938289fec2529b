/**
 * The drills' look at the world: a store's leftovers and listed backups (each must verify), a
 * store's starting state copied with its files' ages, scratch names of a given owner, small
 * filesystems (tmpfs) and their free space, and the SQLite database the drills break.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { runCli } from "../helpers/cli.ts";
import { systemClock } from "../../src/core/clock.ts";

/** Names in `directory` that are a store's partial or a data file without its sidecar. */
export async function storeLeftovers(directory: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(directory)) names.push(entry.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return names.filter((n) =>
    n.endsWith(".partial") ||
    (/^[a-z-]+_\d{8}T\d{9}Z\.sql(\.gz|\.zst)?$/.test(n) &&
      !names.includes(n.replace(/\.sql(\.gz|\.zst)?$/, ".meta.json")))
  ).map((n) => `${directory}/${n}`);
}

/** Scratch directories and files in `directory` whose name carries the owner `pid`. */
export async function ownedBy(directory: string, pid: number): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(directory)) {
    if (/\.bm-|^bm-/.test(entry.name) && entry.name.includes(`.${pid}.`)) {
      found.push(`${directory}/${entry.name}`);
    }
  }
  return found;
}

/** Empties `directory` and fills it with a copy of `template`'s files (a store's starting state). */
export async function resetDir(template: string, directory: string): Promise<void> {
  await Deno.remove(directory, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  await Deno.mkdir(directory, { recursive: true });
  for await (const entry of Deno.readDir(template)) {
    if (!entry.isFile) continue;
    const [from, to] = [`${template}/${entry.name}`, `${directory}/${entry.name}`];
    await Deno.copyFile(from, to);
    const { atime, mtime } = await Deno.stat(from);
    if (atime && mtime) await Deno.utime(to, atime, mtime); // copies keep their age
  }
}

/** The ids `list` shows in the store `dir`. */
export async function listedIds(
  dir: string,
  env?: Record<string, string>,
): Promise<string[]> {
  const result = await runCli(["list", "--dir", dir, "--format", "json", "--limit", "1000"], {
    clock: systemClock,
    env,
  });
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout).map((b: { id: string }) => b.id);
}

/**
 * What is wrong with the store `dir` after a kill: a listed backup that does not verify (each
 * listed one must PASS `verify --all`), or an id outside `allowed`.
 */
export async function storeProblems(
  dir: string,
  allowed?: (id: string) => boolean,
  env?: Record<string, string>,
): Promise<string[]> {
  const ids = await listedIds(dir, env);
  const problems = ids.filter((id) => allowed && !allowed(id)).map((id) =>
    `unexpected backup ${id}`
  );
  if (ids.length === 0) return problems;
  const verified = await runCli(["verify", "--all", "--dir", dir], { clock: systemClock, env });
  const passed = verified.stdout.match(/^PASS /gm)?.length ?? 0;
  if (verified.code !== 0 || passed !== ids.length) {
    problems.push(
      `verify --all: exit ${verified.code}, ${passed} of ${ids.length} PASS: ${
        (verified.stdout + verified.stderr).trim().split("\n").filter((l) => !l.startsWith("PASS"))
          .join(" / ")
      }`,
    );
  }
  return problems;
}

/**
 * Runs `fn` with a tmpfs of `size` (`"4m"`) mounted at `directory`, unmounted afterwards. Needs
 * root, as CI and the dev container have; fails saying so elsewhere rather than skipping.
 */
export async function withTmpfs<T>(directory: string, size: string, fn: () => Promise<T>) {
  assert.equal(Deno.uid(), 0, `mounting the ${size} tmpfs this drill fills needs root`);
  await Deno.mkdir(directory, { recursive: true });
  const mounted = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${size},mode=0755`, "tmpfs", directory],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(mounted.success, new TextDecoder().decode(mounted.stderr));
  try {
    return await fn();
  } finally {
    await new Deno.Command("umount", { args: [directory], stdout: "null", stderr: "null" })
      .output();
  }
}

/** Free bytes on the filesystem holding `path` (`df`). */
export async function freeBytes(path: string): Promise<number> {
  const output = await new Deno.Command("df", { args: ["-B1", "--output=avail", path] }).output();
  return Number(new TextDecoder().decode(output.stdout).trim().split("\n").pop());
}

/** A database of about 3 MB (hardly compressible), so one run takes about a second. */
export function makeDrillDatabase(path: string, salt: string): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(`
      PRAGMA journal_mode = WAL;
      CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT, body TEXT, score REAL);
      CREATE INDEX IF NOT EXISTS items_name ON items(name);
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 12000)
      INSERT INTO items (name, body, score)
        SELECT '${salt} ' || i, hex(randomblob(100)), random() / 7.0 FROM c;
      PRAGMA wal_checkpoint(TRUNCATE);
    `);
  } finally {
    db.close();
  }
}
