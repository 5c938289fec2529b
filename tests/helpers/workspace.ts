/**
 * Temporary workspaces for command-line tests: a directory removed in `finally`, a small real
 * SQLite database, and snapshots that prove a command wrote nothing.
 */
import { DatabaseSync } from "node:sqlite";
import { createHash } from "node:crypto";
import { join } from "node:path";

/** Paths inside one temporary workspace. */
export interface Workspace {
  root: string;
  /** `<root>/app.db` (not created until a test makes it). */
  database: string;
  /** `<root>/backups` (not created until a command does). */
  dir: string;
}

/** Runs `fn` in a fresh temporary directory and removes it afterwards, whatever happens. */
export async function withWorkspace<T>(fn: (ws: Workspace) => Promise<T>): Promise<T> {
  const root = await Deno.makeTempDir({ prefix: "backup-manager-test-" });
  try {
    return await fn({ root, database: join(root, "app.db"), dir: join(root, "backups") });
  } finally {
    await Deno.chmod(root, 0o700).catch(() => {});
    await Deno.remove(root, { recursive: true });
  }
}

/** Options of {@linkcode makeDatabase}. */
export interface MakeDatabaseOptions {
  /** Rows in `accounts`. Default 3. */
  accounts?: number;
  /** Rows in `events`. Default 5. */
  events?: number;
  /** Default 7. */
  userVersion?: number;
  /** Default 4242. */
  applicationId?: number;
}

/**
 * Creates a SQLite database with `accounts(id, name, balance)` and `events(id, kind, payload)`,
 * a `user_version` and an `application_id`.
 */
export function makeDatabase(path: string, options: MakeDatabaseOptions = {}): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(`
      PRAGMA user_version = ${options.userVersion ?? 7};
      PRAGMA application_id = ${options.applicationId ?? 4242};
      CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL, balance INTEGER NOT NULL);
      CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT, payload BLOB);
      CREATE INDEX events_kind ON events(kind);
    `);
    db.exec("BEGIN");
    const account = db.prepare("INSERT INTO accounts (name, balance) VALUES (?, ?)");
    for (let i = 0; i < (options.accounts ?? 3); i++) account.run(`account ${i}`, 100 * i);
    const event = db.prepare("INSERT INTO events (kind, payload) VALUES (?, randomblob(16))");
    for (let i = 0; i < (options.events ?? 5); i++) event.run(i % 2 ? "deposit" : "withdrawal");
    db.exec("COMMIT");
  } finally {
    db.close();
  }
}

/** About 45 MB of hardly compressible rows: `create` takes a second or more. */
export function makeLargeDatabase(path: string): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(`
      PRAGMA journal_mode = WAL;
      CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, body TEXT, score REAL);
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 100000)
      INSERT INTO items (name, body, score)
        SELECT 'item ' || i, hex(randomblob(200)), random() / 7.0 FROM c;
    `);
  } finally {
    db.close();
  }
}

/** Runs SQL against a database file (for changing it between backups). */
export function execSql(path: string, sql: string): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

/** Row count of `table`. */
export function countRows(path: string, table: string): number {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return Number(db.prepare(`SELECT count(*) AS n FROM "${table}"`).get()?.n);
  } finally {
    db.close();
  }
}

/** Hex SHA-256 of a file's bytes. */
export async function sha256File(path: string): Promise<string> {
  return createHash("sha256").update(await Deno.readFile(path)).digest("hex");
}

/**
 * Every file in `directory` with the SHA-256 of its bytes, sorted by name; `null` when the
 * directory does not exist. Two equal snapshots mean nothing was written, renamed or removed.
 */
export async function snapshotDir(directory: string): Promise<Record<string, string> | null> {
  const files: Record<string, string> = {};
  try {
    const names: string[] = [];
    for await (const entry of Deno.readDir(directory)) names.push(entry.name);
    for (const name of names.sort()) {
      const info = await Deno.stat(join(directory, name));
      files[name] = info.isFile ? await sha256File(join(directory, name)) : "<dir>";
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  return files;
}

/** A {@linkcode snapshotDir} without the audit log, for runs that only add an audit line. */
export function withoutAudit(
  snapshot: Record<string, string> | null,
): Record<string, string> | null {
  if (snapshot === null) return null;
  const { ["audit.jsonl"]: _audit, ...rest } = snapshot;
  return rest;
}

/** File names in `directory`, sorted; empty when it does not exist. */
export async function listNames(directory: string): Promise<string[]> {
  return Object.keys(await snapshotDir(directory) ?? {});
}

/** Whether this process ignores file permissions (root), so chmod-based tests cannot fail reads. */
export function ignoresPermissions(): boolean {
  return Deno.uid() === 0;
}
