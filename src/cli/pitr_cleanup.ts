import type { Config } from "../config/schema.ts";
import type { CommandDeps } from "./deps.ts";
import { pitrLocation } from "./pitr_store.ts";
import { listGenerations } from "../pitr/sqlite_pitr_store.ts";
import { generationsToRemove, pruneGenerations } from "../pitr/sqlite_pitr_retention.ts";
import { listBaseBackups } from "../pitr/pg_base_backup.ts";
import { archivedNames } from "../pitr/pg_wal_archive.ts";
import { archiveToPrune, pruneArchive } from "../pitr/pg_pitr_retention.ts";

/** What `cleanup` removed (or would) from the point-in-time store. */
export interface PitrCleanup {
  /** SQLite generations. */
  generations: string[];
  /** PostgreSQL base backups and WAL files. */
  baseBackups: string[];
  walFiles: string[];
  dryRun: boolean;
}

/**
 * `cleanup`'s pass over `<backupDir>/pitr/` by `pitr.keepDays`, the rules the replicator and
 * `create --type base` apply as they go: for a store where those stopped running. `undefined`
 * when the store holds nothing of point-in-time recovery.
 */
export async function cleanupPitr(
  config: Config,
  deps: CommandDeps,
  dryRun: boolean,
): Promise<PitrCleanup | undefined> {
  const { store } = pitrLocation(config, deps);
  const now = deps.clock.now();
  const keepMs = config.pitr.keepDays * 86_400_000;
  const generations = await listGenerations(store);
  const bases = await listBaseBackups(store);
  const names = await archivedNames(store);
  if (generations.length === 0 && bases.length === 0 && names.length === 0) return undefined;
  const prune = archiveToPrune(bases, names, now, config.pitr.keepDays);
  const result: PitrCleanup = {
    generations: generationsToRemove(generations, now, keepMs),
    baseBackups: prune.bases,
    walFiles: prune.wal,
    dryRun,
  };
  if (!dryRun) {
    await pruneGenerations(store, now, keepMs);
    await pruneArchive(store, prune);
  }
  return result;
}

/** The cleanup's line about it. */
export function pitrCleanupLine(result: PitrCleanup, keepDays: number): string {
  const parts = [
    [result.generations.length, "replicated generation(s)"],
    [result.baseBackups.length, "base backup(s)"],
    [result.walFiles.length, "WAL file(s)"],
  ].filter(([count]) => count !== 0).map(([count, what]) => `${count} ${what}`);
  return `Point-in-time store (pitr.keepDays ${keepDays}): ` +
    (parts.length === 0
      ? "nothing past retention\n"
      : `${result.dryRun ? "would remove" : "removed"} ${parts.join(", ")}\n`);
}
