/**
 * SQLite maintenance: `PRAGMA optimize`, a `wal_checkpoint(TRUNCATE)`, the full
 * `integrity_check`, and a `VACUUM` only when it frees enough and the disk has room for it. A
 * busy database (another session holding a lock past the busy timeout) skips the step with a
 * warning rather than failing the run: maintenance is never worth an application's write.
 */
import { DatabaseSync } from "node:sqlite";
import { statfs } from "node:fs/promises";
import { dirname } from "node:path";
import {
  MAINTAIN_DEFAULTS,
  type MaintainOptions,
  type MaintenanceReport,
  type MaintenanceStep,
  MAX_PROBLEMS,
  type StepOutcome,
} from "../maintenance.ts";
import { checkIntegrity } from "./_integrity.ts";
import { formatBytes } from "../../core/units.ts";
import { messageOf } from "../../core/errors.ts";

/** What {@linkcode decideVacuum} weighs. */
export interface VacuumFacts {
  /** `--no-vacuum` turns it off. */
  enabled: boolean;
  /** Whether the integrity check passed (a damaged file is never vacuumed). */
  integrityOk: boolean;
  /** The database file's size. */
  sizeBytes: number;
  /** The WAL's size (0 without one). */
  walBytes: number;
  /** `freelist_count × page_size`: what a VACUUM gives back, about. */
  freelistBytes: number;
  /** Free bytes beside the database; `undefined` when they cannot be told. */
  freeBytes: number | undefined;
  minBytes: number;
  /** 0-1. */
  minRatio: number;
}

/** Whether to VACUUM, and why (one line, for the report). */
export interface VacuumDecision {
  run: boolean;
  reason: string;
}

/**
 * Pure: a VACUUM runs when it frees at least `minBytes` and `minRatio` of the file, and the disk
 * has room for it: SQLite writes a whole new copy of the database and the WAL (or journal) gets
 * up to the database's size again, so the free space must be at least the file plus its WAL.
 */
export function decideVacuum(facts: VacuumFacts): VacuumDecision {
  const skip = (reason: string) => ({ run: false, reason: `skipped: ${reason}` });
  if (!facts.enabled) return skip("--no-vacuum");
  if (!facts.integrityOk) {
    return skip("the integrity check did not pass (a VACUUM of a damaged file can lose rows)");
  }
  const free = formatBytes(facts.freelistBytes);
  const share = facts.sizeBytes > 0 ? facts.freelistBytes / facts.sizeBytes : 0;
  const percent = `${Math.round(share * 100)}% of the file`;
  if (facts.freelistBytes < facts.minBytes || facts.freelistBytes === 0) {
    return skip(`it would free ${free}, under the ${formatBytes(facts.minBytes)} threshold`);
  }
  if (share < facts.minRatio) {
    return skip(
      `it would free ${free} (${percent}), under the ${
        Math.round(facts.minRatio * 100)
      }% threshold`,
    );
  }
  if (facts.freeBytes === undefined) {
    return skip("the free space beside the database cannot be told");
  }
  const needed = facts.sizeBytes + facts.walBytes;
  if (facts.freeBytes < needed) {
    return skip(
      `it needs up to ${formatBytes(needed)} free beside the database, only ${
        formatBytes(facts.freeBytes)
      } is (it would free ${free})`,
    );
  }
  return { run: true, reason: `it frees about ${free} (${percent})` };
}

/** Maintains the SQLite database at `path` (which exists); see the module comment. */
export async function maintainSqlite(
  path: string,
  options: MaintainOptions = {},
): Promise<MaintenanceReport> {
  const started = performance.now();
  const dryRun = options.dryRun ?? false;
  const steps: MaintenanceStep[] = [];
  const problems: string[] = [];
  const sizeBefore = await fileBytes(path) + await fileBytes(`${path}-wal`);
  const db = new DatabaseSync(path, {
    readOnly: dryRun,
    timeout: options.busyTimeoutMs ?? MAINTAIN_DEFAULTS.busyTimeoutMs,
    enableDoubleQuotedStringLiterals: true,
  });
  const run = async (
    name: string,
    fn: () => Promise<Omit<MaintenanceStep, "name" | "durationMs">>,
  ) => {
    if (options.signal?.aborted) return;
    options.onStep?.(name);
    const at = performance.now();
    let result: Omit<MaintenanceStep, "name" | "durationMs">;
    try {
      result = await fn();
    } catch (error) {
      result = stepError(error);
      if (result.outcome === "failed" && /malformed|corrupt|not a database/i.test(result.detail)) {
        problems.push(`${name}: ${result.detail}`);
      }
    }
    steps.push({ name, ...result, durationMs: Math.round(performance.now() - at) });
  };
  let integrityRan = false;
  try {
    await run("optimize", () => {
      if (dryRun) return Promise.resolve(planned("would run PRAGMA optimize"));
      db.exec("PRAGMA optimize");
      return Promise.resolve({ outcome: "done", detail: "PRAGMA optimize: statistics refreshed" });
    });
    await run("checkpoint", async () => {
      const mode = String(db.prepare("PRAGMA journal_mode").get()?.journal_mode);
      if (mode !== "wal") {
        return { outcome: "skipped", detail: `skipped: not in WAL mode (journal_mode ${mode})` };
      }
      const wal = await fileBytes(`${path}-wal`);
      if (dryRun) {
        return planned(`would checkpoint and truncate the WAL (${formatBytes(wal)})`);
      }
      const row = db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get() ?? {};
      const [busy, log, done] = [Number(row.busy), Number(row.log), Number(row.checkpointed)];
      const freed = Math.max(0, wal - await fileBytes(`${path}-wal`));
      if (busy) {
        return {
          outcome: "warning",
          detail: `busy: ${Math.max(0, done)} of ${
            Math.max(0, log)
          } frames checkpointed (another session held the database; the next run retries)`,
          bytesFreed: freed,
        };
      }
      return {
        outcome: "done",
        detail: `${Math.max(0, done)} frames checkpointed, WAL truncated (${
          formatBytes(freed)
        } freed)`,
        bytesFreed: freed,
      };
    });
    await run("integrity", async () => {
      if (dryRun) return planned("would run PRAGMA integrity_check (full)");
      const found = await checkIntegrity(path);
      integrityRan = true;
      problems.push(...found);
      if (found.length === 0) return { outcome: "done", detail: "PRAGMA integrity_check: ok" };
      return {
        outcome: "failed",
        detail: `PRAGMA integrity_check: ${found.length} problem${
          found.length === 1 ? "" : "s"
        }, the first: ${found[0]}`,
      };
    });
    await run("vacuum", async () => {
      if (!dryRun && problems.length > 0) {
        const enabled = options.vacuum ?? true;
        const facts = { enabled, integrityOk: false, sizeBytes: 0, walBytes: 0, freelistBytes: 0 };
        return {
          outcome: "skipped",
          detail: decideVacuum({ ...facts, freeBytes: 0, minBytes: 0, minRatio: 0 }).reason,
        };
      }
      const pageSize = Number(db.prepare("PRAGMA page_size").get()?.page_size);
      const freelist = Number(db.prepare("PRAGMA freelist_count").get()?.freelist_count);
      const walBytes = await fileBytes(`${path}-wal`);
      const sizeBytes = await fileBytes(path);
      const decision = decideVacuum({
        enabled: options.vacuum ?? true,
        integrityOk: dryRun || problems.length === 0,
        sizeBytes,
        walBytes,
        freelistBytes: pageSize * freelist,
        freeBytes: await (options.freeSpace ?? freeSpaceOf)(path),
        minBytes: options.vacuumMinBytes ?? MAINTAIN_DEFAULTS.vacuumMinBytes,
        minRatio: options.vacuumMinRatio ?? MAINTAIN_DEFAULTS.vacuumMinRatio,
      });
      if (!decision.run) return { outcome: "skipped", detail: decision.reason };
      if (dryRun) return planned(`would run VACUUM: ${decision.reason}`);
      const before = sizeBytes + walBytes;
      db.exec("VACUUM");
      // in WAL mode the new pages sit in the WAL until a checkpoint hands the space back
      if (String(db.prepare("PRAGMA journal_mode").get()?.journal_mode) === "wal") {
        db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get();
      }
      const after = await fileBytes(path) + await fileBytes(`${path}-wal`);
      const freed = Math.max(0, before - after);
      return {
        outcome: "done",
        detail: `VACUUM freed ${formatBytes(freed)} (${formatBytes(before)} -> ${
          formatBytes(after)
        })`,
        bytesFreed: freed,
      };
    });
  } finally {
    db.close();
  }
  const failed = problems.length > 0;
  return {
    steps,
    integrity: failed ? "failed" : integrityRan ? "ok" : "skipped",
    problems: problems.slice(0, MAX_PROBLEMS),
    sizeBefore,
    sizeAfter: await fileBytes(path) + await fileBytes(`${path}-wal`),
    durationMs: Math.round(performance.now() - started),
    dryRun,
  };
}

function planned(detail: string): Omit<MaintenanceStep, "name" | "durationMs"> {
  return { outcome: "planned" as StepOutcome, detail };
}

/** A step's error as its outcome: busy is a skip, anything else a failure. */
function stepError(error: unknown): Omit<MaintenanceStep, "name" | "durationMs"> {
  const message = messageOf(error).replace(/\s+/g, " ");
  if (/database is locked|busy/i.test(message)) {
    return {
      outcome: "skipped",
      detail: `skipped: busy (${message}; another session held a lock past the busy timeout)`,
    };
  }
  return { outcome: "failed", detail: message };
}

async function fileBytes(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0;
    throw error;
  }
}

/** Free bytes on the filesystem of `path`'s directory, `undefined` when it cannot tell. */
async function freeSpaceOf(path: string): Promise<number | undefined> {
  try {
    const stats = await statfs(dirname(path));
    return Number(stats.bavail) * Number(stats.bsize);
  } catch {
    return undefined;
  }
}
