/**
 * The PostgreSQL side of the drills: a cluster with an old and a new content (template databases
 * a target is copied from in milliseconds), a store holding one backup of the new content, what a
 * database holds (row digests of every table and sequence, by the server), and the scratch
 * databases a run leaves on the server.
 */
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { systemClock } from "../../src/core/clock.ts";
import { startCluster, type TestCluster } from "../helpers/pg_cluster.ts";
import { dataDigests } from "../helpers/pg_digests.ts";
import { databaseExists, databaseUrl, psql, quoteIdent } from "../helpers/pg_tools.ts";
import { listedIds } from "./_drills.ts";

/** A running drill cluster. */
export interface PgDrillFixture {
  cluster: TestCluster;
  /** URLs of the template databases holding the old and the new content. */
  oldUrl: string;
  newUrl: string;
  /** A store directory holding one backup of `newUrl`, and its id. */
  template: string;
  newId: string;
  /** The row digests of the old, the new and an empty database. */
  contents: { old: string; new: string; empty: string };
}

/** Name of the database every drill restores into. */
export const TARGET = "target";

/** About 2 MB: `items` with an index and a sequence, `notes` referring to it. */
function contentSql(salt: string): string {
  return `
    CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL, body text, score float8);
    CREATE INDEX items_name ON items (name);
    CREATE TABLE notes (id int PRIMARY KEY, item bigint REFERENCES items, note text);
    INSERT INTO items (name, body, score)
      SELECT '${salt} ' || i, md5(i::text || '${salt}') || repeat(md5(random()::text), 5),
             random() FROM generate_series(1, 8000) i;
    INSERT INTO notes SELECT i, i, 'note ${salt} ' || i FROM generate_series(1, 3000) i;`;
}

/** Starts a cluster with `app_old`, `app_new` and a backup of `app_new` in `root/template`. */
export async function startPgDrills(root: string): Promise<PgDrillFixture> {
  const cluster = await startCluster();
  try {
    for (const name of ["app_old", "app_new", "app_empty"]) {
      await psql(cluster.url, `CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8'`);
    }
    const oldUrl = databaseUrl(cluster.url, "app_old");
    const newUrl = databaseUrl(cluster.url, "app_new");
    await psql(oldUrl, contentSql("old"));
    await psql(newUrl, contentSql("new"));
    const template = join(root, "template");
    const made = await runCli(["create", "--database", newUrl, "--dir", template], {
      clock: systemClock,
    });
    if (made.code !== 0) throw new Error(made.stderr);
    const [newId] = await listedIds(template);
    return {
      cluster,
      oldUrl,
      newUrl,
      template,
      newId,
      contents: {
        old: await contentOf(oldUrl),
        new: await contentOf(newUrl),
        empty: await contentOf(databaseUrl(cluster.url, "app_empty")),
      },
    };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

/** Row counts and digests of every table and sequence, or `absent` for no database. */
export async function contentOf(url: string): Promise<string> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  if (!await databaseExists(databaseUrl(url, "postgres"), name)) return "absent";
  const { tables, sequences } = await dataDigests(url);
  return JSON.stringify({ tables, sequences });
}

/** Replaces database `name` by a copy of `template` (or drops it when `template` is null). */
export async function resetDatabase(
  fixture: PgDrillFixture,
  name: string,
  template: "app_old" | "app_new" | "app_empty" | null,
): Promise<string> {
  const admin = fixture.cluster.url;
  await psql(admin, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  if (template) await psql(admin, `CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${template}`);
  return databaseUrl(admin, name);
}

/** Databases on the server that a run made for itself (load, restore-test, scratch). */
export async function scratchDatabases(fixture: PgDrillFixture): Promise<string[]> {
  const out = await psql(
    fixture.cluster.url,
    `SELECT datname FROM pg_database WHERE datname ~ '^(bm_|backup_manager_)' ORDER BY 1`,
  );
  return out.split("\n").filter((l) => l.trim() !== "").map((n) => `database ${n}`);
}

/** Which of the fixture's contents `url` holds, or a problem naming the difference. */
export async function heldContent(
  fixture: PgDrillFixture,
  url: string,
  old: "old" | "empty" | "absent",
  options: { afterCrash?: boolean } = {},
): Promise<{ held: "old" | "new"; broken: string[] }> {
  // After a server crash a sequence reads up to 32 values ahead (PostgreSQL WAL-logs sequences
  // ahead and recovery replays that): the rows are the content, the sequence only may not go back.
  const shape = options.afterCrash ? withoutSequenceJumps : (text: string) => text;
  const now = shape(await contentOf(url));
  const oldContent = shape(old === "absent" ? "absent" : fixture.contents[old]);
  if (now === oldContent) return { held: "old", broken: [] };
  if (now === shape(fixture.contents.new)) return { held: "new", broken: [] };
  return {
    held: "old",
    broken: [`target is neither the old nor the new content: ${differ(now, oldContent)}`],
  };
}

/** The tables and sequences whose digests differ between two {@linkcode contentOf} texts. */
function differ(now: string, old: string): string {
  if (now === "absent" || old === "absent") return `${now.slice(0, 80)} vs ${old.slice(0, 80)}`;
  const [a, b] = [JSON.parse(now), JSON.parse(old)];
  const lines: string[] = [];
  for (const part of ["tables", "sequences"] as const) {
    for (const key of new Set([...Object.keys(a[part]), ...Object.keys(b[part])])) {
      const [x, y] = [JSON.stringify(a[part][key]), JSON.stringify(b[part][key])];
      if (x !== y) lines.push(`${key}: ${x} (old ${y})`);
    }
  }
  return lines.join(", ");
}

/**
 * Waits until the server has no session of backup-manager left: a killed client's backend lives
 * on until it next talks to the socket (after the statement it runs), and a database in use is
 * rightly kept by the sweep. Returns how long that took (ms).
 */
export async function sessionsGone(fixture: PgDrillFixture, timeoutMs = 30_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    const count = await psql(
      fixture.cluster.url,
      `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'backup-manager'`,
    );
    const waited = performance.now() - started;
    if (count.trim() === "0") return waited;
    if (waited > timeoutMs) {
      throw new Error(`backup-manager sessions still there after ${waited} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A {@linkcode contentOf} text with each sequence's value rounded down to a multiple of 32. */
function withoutSequenceJumps(text: string): string {
  if (text === "absent") return text;
  const content = JSON.parse(text);
  for (const [key, value] of Object.entries(content.sequences as Record<string, string>)) {
    const [last] = value.split(" ");
    content.sequences[key] = `${Math.floor(Number(last) / 32)} (in 32s)`;
  }
  return JSON.stringify(content);
}
