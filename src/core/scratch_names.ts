/**
 * One naming scheme for every scratch thing a run makes (a temporary file beside a SQLite target,
 * a restore-test directory, a load or scratch database on a PostgreSQL server), so that whoever
 * finds one later can tell who made it and when, and whether that owner can still be working on
 * it. A killed run cannot clean up after itself: the next run, `cleanup` and `status` find its
 * leftovers by these names.
 *
 * - Files: `.<target>.bm-<kind>.<host>.<pid>.<startMs>` (SQLite's `-journal`, `-wal`, `-shm`
 *   companions follow the same name), the host with `.` written as `_` so the name splits
 *   unambiguously.
 * - PostgreSQL databases: `bm_<kind>_<hosttag>_<pid>_<startSec>_<rand>` within the 63-byte
 *   identifier limit; the host is an 8-hex-digit tag of its name (names are lowercase ASCII).
 *
 * An owner is alive when it runs on this host and its pid exists. Another host's processes cannot
 * be seen: its scratch is stale only past {@linkcode FOREIGN_SCRATCH_STALE_AFTER_MS}, the age at
 * which the run lock of another host is taken over too.
 */
import { createHash } from "node:crypto";

/** What a scratch thing is for. */
export type ScratchKind = "restore" | "verify" | "load" | "scratch";

/** Who made a scratch thing. */
export interface ScratchOwner {
  /** The host as written in the name: a sanitized host name (files) or a hash tag (databases). */
  host: string;
  pid: number;
  startedAt: Date;
}

/** A parsed scratch name. */
export interface ScratchName {
  kind: ScratchKind;
  owner: ScratchOwner;
}

/** Another host's scratch younger than this may belong to a run still working there. */
export const FOREIGN_SCRATCH_STALE_AFTER_MS = 24 * 60 * 60 * 1000;

/**
 * Names from before this scheme (`.app.db.restoring-1a2b3c4d`, `backup_manager_load_…`) carry no
 * owner: they are stale once untouched (files) or existing (databases) for this long.
 */
export const LEGACY_SCRATCH_STALE_AFTER_MS = 60 * 60 * 1000;

/** The owner a run writes into its scratch names: this process, started at `startedAt`. */
export function currentOwner(startedAt: Date, hostname = Deno.hostname()): ScratchOwner {
  return { host: fileHost(hostname), pid: Deno.pid, startedAt };
}

/** {@linkcode currentOwner} for database names: the host as its {@linkcode databaseHost} tag. */
export function currentDatabaseOwner(startedAt: Date, hostname = Deno.hostname()): ScratchOwner {
  return { host: databaseHost(hostname), pid: Deno.pid, startedAt };
}

/** A host name as file names carry it: `[A-Za-z0-9_-]` only, dots as `_`. */
export function fileHost(hostname: string): string {
  return hostname.replace(/[^A-Za-z0-9-]/g, "_").slice(0, 64) || "unknown";
}

/** A host name as database names carry it: 8 hex digits of its SHA-256. */
export function databaseHost(hostname: string): string {
  return createHash("sha256").update(hostname).digest("hex").slice(0, 8);
}

/** The scratch file name beside `targetBase` (a file name, no directory). */
export function scratchFileName(
  targetBase: string,
  kind: ScratchKind,
  owner: ScratchOwner,
): string {
  return `.${targetBase}.bm-${kind}.${owner.host}.${owner.pid}.${owner.startedAt.getTime()}`;
}

/** A scratch directory's name (restore tests), for a temporary directory. */
export function scratchDirectoryName(kind: ScratchKind, owner: ScratchOwner): string {
  return `bm-${kind}.${owner.host}.${owner.pid}.${owner.startedAt.getTime()}.`;
}

const FILE_PATTERN =
  /^\.(.+)\.bm-(restore|verify|load|scratch)\.([A-Za-z0-9_-]+)\.(\d{1,10})\.(\d{1,15})(?:-journal|-wal|-shm)?$/;
const DIRECTORY_PATTERN =
  /^bm-(restore|verify|load|scratch)\.([A-Za-z0-9_-]+)\.(\d{1,10})\.(\d{1,15})\.[A-Za-z0-9_]*$/;

/** The kind, owner and target of a scratch file name, or `undefined` for any other name. */
export function parseScratchFileName(
  name: string,
): (ScratchName & { target: string }) | undefined {
  const match = FILE_PATTERN.exec(name);
  if (!match) return undefined;
  return {
    target: match[1],
    kind: match[2] as ScratchKind,
    owner: { host: match[3], pid: Number(match[4]), startedAt: new Date(Number(match[5])) },
  };
}

/** The kind and owner of a scratch directory name, or `undefined` for any other name. */
export function parseScratchDirectoryName(name: string): ScratchName | undefined {
  const match = DIRECTORY_PATTERN.exec(name);
  if (!match) return undefined;
  return {
    kind: match[1] as ScratchKind,
    owner: { host: match[2], pid: Number(match[3]), startedAt: new Date(Number(match[4])) },
  };
}

/**
 * A database name `bm_<kind>_<hosttag>_<pid>_<startSec>_<rand>` (at most 46 bytes). `random`
 * (lowercase letters and digits) keeps two names of one process and second apart.
 */
export function scratchDatabaseName(
  kind: ScratchKind,
  owner: ScratchOwner,
  random: string = crypto.randomUUID().replaceAll("-", "").slice(0, 8),
): string {
  const seconds = Math.floor(owner.startedAt.getTime() / 1000);
  return `bm_${kind}_${owner.host}_${owner.pid}_${seconds}_${random}`;
}

const DATABASE_PATTERN =
  /^bm_(restore|verify|load|scratch)_([0-9a-f]{8})_(\d{1,10})_(\d{1,12})_[0-9a-z]{1,16}$/;

/** The kind and owner of a scratch database name, or `undefined` for any other name. */
export function parseScratchDatabaseName(name: string): ScratchName | undefined {
  const match = DATABASE_PATTERN.exec(name);
  if (!match) return undefined;
  return {
    kind: match[1] as ScratchKind,
    owner: { host: match[2], pid: Number(match[3]), startedAt: new Date(Number(match[4]) * 1000) },
  };
}

/** What {@linkcode scratchStaleness} needs to know about this machine. */
export interface Liveness {
  /** This host as the name writes it ({@linkcode fileHost} or {@linkcode databaseHost}). */
  host: string;
  /** Whether a process of this host exists. */
  processAlive(pid: number): boolean;
  now: Date;
  /** Default {@linkcode FOREIGN_SCRATCH_STALE_AFTER_MS}. */
  foreignStaleAfterMs?: number;
}

/**
 * Why the owner of a scratch thing can no longer be using it, or `undefined` while it may be:
 * a live owner's scratch is never touched.
 */
export function scratchStaleness(owner: ScratchOwner, liveness: Liveness): string | undefined {
  if (owner.host === liveness.host) {
    return liveness.processAlive(owner.pid) ? undefined : `process ${owner.pid} is gone`;
  }
  const limit = liveness.foreignStaleAfterMs ?? FOREIGN_SCRATCH_STALE_AFTER_MS;
  const age = liveness.now.getTime() - owner.startedAt.getTime();
  return age > limit ? `made on another host over ${formatHours(limit)} ago` : undefined;
}

/** Whether `pid` is a process of this host (EPERM: it exists, under another user). */
export function processAlive(pid: number): boolean {
  if (pid === Deno.pid) return true;
  try {
    Deno.kill(pid, 0 as unknown as Deno.Signal); // signal 0: existence check only
    return true;
  } catch (error) {
    return !(error instanceof Deno.errors.NotFound);
  }
}

/** This machine's liveness for file names. */
export function localFileLiveness(now: Date): Liveness {
  return { host: fileHost(Deno.hostname()), processAlive, now };
}

/** This machine's liveness for database names. */
export function localDatabaseLiveness(now: Date): Liveness {
  return { host: databaseHost(Deno.hostname()), processAlive, now };
}

function formatHours(ms: number): string {
  const hours = ms / 3_600_000;
  return hours >= 1 ? `${hours} h` : `${Math.round(ms / 60_000)} min`;
}
