/**
 * The run lock: one file in the backup directory that every writer (a manual `create`, `restore`,
 * `cleanup`, `pin`, each `auto` cycle, cron) takes first, so a person, cron and the scheduler can
 * never work on the same store at once.
 *
 * - Taken whole or not at all (a temporary linked to the lock's name, which fails when it exists),
 *   holding `{pid, host, startedAt, command}` so whoever finds it busy learns who holds it.
 * - Stale when its process is dead (same host), or older than a limit (another host, whose
 *   processes we cannot see). A stale lock is taken over under a short `flock` of the directory,
 *   after re-reading it: two takers can never both remove a live lock and both win.
 * - Released on success, on error and (through {@linkcode releaseHeldLocksSync}) on a forced exit.
 *   A SIGKILLed holder leaves a lock whose pid is dead: the next run takes it over.
 *
 * It lives on local disk (`storage.location`); an object store would need a conditional write
 * (`If-None-Match: *`) and a lease instead.
 */
import { basename, dirname, join } from "node:path";
import type { Clock } from "./clock.ts";
import { LockBusyError, messageOf, StorageError } from "./errors.ts";
import { fileHost, processAlive } from "./scratch_names.ts";

/** The lock file's name in the backup directory; catalogs skip it (it is not a backup). */
export const LOCK_KEY = ".backup-manager.lock";

/** A lock of another host older than this is stale (its process cannot be checked). */
export const FOREIGN_STALE_AFTER_MS = 24 * 60 * 60 * 1000;

/** An unreadable (half-written) lock younger than this may be being written right now. */
const TORN_GRACE_MS = 10_000;

/** Who holds a lock; written into the lock file as JSON. */
export interface LockHolder {
  pid: number;
  host: string;
  /** ISO 8601. */
  startedAt: string;
  /** What holds it, e.g. `create` or `auto cycle`. */
  command: string;
}

/** Options of {@linkcode acquireLock}. */
export interface LockOptions {
  /** What takes the lock, shown to whoever finds it busy (e.g. `create`, `auto cycle`). */
  command: string;
  /** Source of `startedAt` and of the age of foreign locks. Default: the system clock. */
  clock?: Clock;
  /** Age at which another host's lock is stale. Default {@linkcode FOREIGN_STALE_AFTER_MS}. */
  foreignStaleAfterMs?: number;
}

const held = new Set<Lock>();

/** A lock this process holds. */
export class Lock {
  readonly path: string;
  readonly holder: LockHolder;
  readonly #content: string;

  constructor(path: string, holder: LockHolder, content: string) {
    this.path = path;
    this.holder = holder;
    this.#content = content;
    held.add(this);
  }

  /** Removes the lock file if it is still ours; safe to call twice. */
  async release(): Promise<void> {
    if (!held.delete(this)) return;
    try {
      if (await Deno.readTextFile(this.path) === this.#content) await Deno.remove(this.path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }

  /** {@linkcode release} for a process about to exit, where nothing async runs any more. */
  releaseSync(): void {
    if (!held.delete(this)) return;
    try {
      if (Deno.readTextFileSync(this.path) === this.#content) Deno.removeSync(this.path);
    } catch {
      // gone already, or unreadable: the next run sees a dead pid and takes it over
    }
  }
}

/**
 * Takes the lock of `directory` (creating the directory), or throws {@linkcode LockBusyError}
 * naming the holder. A stale lock is taken over.
 */
export async function acquireLock(directory: string, options: LockOptions): Promise<Lock> {
  const clock = options.clock ?? { now: () => new Date() };
  const path = join(directory, LOCK_KEY);
  await ensureDirectory(directory);
  const holder: LockHolder = {
    pid: Deno.pid,
    host: Deno.hostname(),
    startedAt: clock.now().toISOString(),
    command: options.command,
  };
  const content = JSON.stringify(holder) + "\n";
  // a takeover makes room and tries again; a second failure means another run won the race
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await createExclusive(path, content)) return new Lock(path, holder, content);
    const found = await readLock(path);
    if (found === undefined) continue; // released in between
    const staleness = staleReason(found, clock.now(), options.foreignStaleAfterMs);
    if (staleness === undefined) throw busy(path, found, options.command);
    await removeIfUnchanged(directory, path, found.text);
  }
  const found = await readLock(path);
  throw busy(path, found ?? { text: "", mtime: clock.now() }, options.command);
}

/** Where the lock of a context's store lives: its `lockDirectory`, else the store's directory. */
export function lockDirectoryOf(
  context: { lockDirectory?: string; storage: { location: string } },
): string {
  return context.lockDirectory ?? context.storage.location;
}

/** Runs `fn` holding the lock of `directory`; the lock is released however `fn` ends. */
export async function withLock<T>(
  directory: string,
  options: LockOptions,
  fn: (lock: Lock) => Promise<T>,
): Promise<T> {
  const lock = await acquireLock(directory, options);
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}

/** Whether this process holds a lock (work is in progress that a signal should unwind first). */
export function holdsLock(): boolean {
  return held.size > 0;
}

/** Releases every lock this process holds; for the entry point's forced exit on a signal. */
export function releaseHeldLocksSync(): void {
  for (const lock of [...held]) lock.releaseSync();
}

async function ensureDirectory(directory: string): Promise<void> {
  try {
    await Deno.mkdir(directory, { recursive: true, mode: 0o700 });
  } catch (error) {
    const isFile = await Deno.stat(directory).then((info) => info.isFile, () => false);
    throw new StorageError(
      isFile
        ? `Cannot read backup directory "${directory}": it is a file, not a directory (check --dir or BACKUP_DIR)`
        : `Cannot create backup directory "${directory}": ${messageOf(error)}`,
      { cause: error },
    );
  }
}

/** What the lock file holds, and when it was written (for torn files). */
interface FoundLock {
  text: string;
  mtime: Date;
  holder?: LockHolder;
}

/**
 * Creates the lock file with its content in one step: the content goes to a temporary file of
 * this process, which is then hard-linked to the lock's name (which fails when the lock exists).
 * A holder killed at any moment leaves either no lock or a whole one, never an empty lock file
 * that the next run would have to wait out; a temporary left by a killed taker is removed by the
 * next taker on this host.
 */
let takes = 0;

async function createExclusive(path: string, content: string): Promise<boolean> {
  await removeDeadTemporaries(path);
  // unique per attempt: two takers in one process (auto's backups and its maintenance) must not
  // share a temporary, or one links the other's content and its release leaves the lock behind
  const temporary = `${path}.${fileHost(Deno.hostname())}.${Deno.pid}.${++takes}.tmp`;
  try {
    await Deno.writeTextFile(temporary, content, { mode: 0o600 });
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw new StorageError(`Cannot write lock "${path}": ${messageOf(error)}`, { cause: error });
  }
  try {
    await Deno.link(temporary, path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw new StorageError(`Cannot create lock "${path}": ${messageOf(error)}`, { cause: error });
  } finally {
    await Deno.remove(temporary).catch(() => {});
  }
}

/** Removes the lock temporaries of `path` whose taker, on this host, is gone. */
async function removeDeadTemporaries(path: string): Promise<void> {
  const prefix = `${basename(path)}.${fileHost(Deno.hostname())}.`;
  try {
    for await (const entry of Deno.readDir(dirname(path))) {
      // `<prefix><pid>.<n>.tmp` (or `<prefix><pid>.tmp` of older versions)
      const pid = entry.name.startsWith(prefix) && entry.name.endsWith(".tmp")
        ? Number(entry.name.slice(prefix.length, -".tmp".length).split(".")[0])
        : NaN;
      if (Number.isInteger(pid) && pid > 0 && !processAlive(pid)) {
        await Deno.remove(join(dirname(path), entry.name)).catch(() => {});
      }
    }
  } catch {
    // an unreadable directory fails the lock's own creation with a clear message
  }
}

async function readLock(path: string): Promise<FoundLock | undefined> {
  try {
    const text = await Deno.readTextFile(path);
    const mtime = (await Deno.stat(path)).mtime ?? new Date(0);
    return { text, mtime, holder: parseHolder(text) };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new StorageError(`Cannot read lock "${path}": ${messageOf(error)}`, { cause: error });
  }
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const value = JSON.parse(text);
    if (
      typeof value?.pid === "number" && typeof value.host === "string" &&
      typeof value.startedAt === "string" && typeof value.command === "string"
    ) {
      return value;
    }
  } catch {
    // torn or foreign content
  }
  return undefined;
}

/** Why a lock is stale, or `undefined` when its holder may be alive. */
export function staleReason(
  found: { holder?: LockHolder; mtime: Date },
  now: Date,
  foreignStaleAfterMs = FOREIGN_STALE_AFTER_MS,
): string | undefined {
  const { holder } = found;
  if (!holder) {
    // file-system time: how long ago a writer died between creating and filling the file
    return Date.now() - found.mtime.getTime() > TORN_GRACE_MS ? "unreadable and old" : undefined;
  }
  if (holder.host === Deno.hostname()) {
    return processAlive(holder.pid) ? undefined : `process ${holder.pid} is gone`;
  }
  const age = now.getTime() - new Date(holder.startedAt).getTime();
  return age > foreignStaleAfterMs ? `older than ${foreignStaleAfterMs / 3_600_000} h` : undefined;
}

/**
 * Removes the lock at `path` only if it still holds `expected`, under an exclusive `flock` of the
 * directory, so that of two processes that both judged the same lock stale, the second finds the
 * first one's fresh lock and leaves it alone. The flock dies with its process: nothing to go
 * stale, no extra file.
 */
async function removeIfUnchanged(directory: string, path: string, expected: string) {
  const guard = await Deno.open(directory, { read: true });
  try {
    await guard.lock(true);
    try {
      if (await Deno.readTextFile(path) === expected) await Deno.remove(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  } finally {
    guard.close(); // also releases the flock
  }
}

function busy(path: string, found: FoundLock, command: string): LockBusyError {
  const who = found.holder
    ? `"${found.holder.command}" (pid ${found.holder.pid} on ${found.holder.host}, since ${found.holder.startedAt})`
    : `another run (since ${found.mtime.toISOString()})`;
  return new LockBusyError(
    `Cannot run "${command}": ${who} holds the lock "${path}" (wait for it to finish; if that process is gone, remove the file)`,
  );
}
