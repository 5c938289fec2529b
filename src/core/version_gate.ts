/**
 * The version check a restore and its dry run run first, before anything is touched: the
 * sidecar's facts (the source's server or library version, the features its schema uses) against
 * the target's version, judged by the engine (`engines/version_check.ts`).
 */
import type { BackupMeta } from "./backup_file.ts";
import { TargetVersionError } from "./errors.ts";
import type { Engine } from "../engines/engine.ts";

/** What the check compared, for a dry run to show. */
export interface VersionCheck {
  /** The version the backup was taken with. */
  backup: string;
  /** The version of what would load it. */
  target: string;
  /** Why the target may not take the backup; absent when it can. */
  problem?: string;
  /** Whether a problem was let through (`ignoreVersion`). */
  ignored: boolean;
}

/**
 * Compares the backup with the target at `location`; throws {@linkcode TargetVersionError}
 * (exit 6), one line naming what cannot be created, unless `ignore`. `undefined` when the engine
 * has no check or the backup is of another engine (refused elsewhere).
 */
export async function checkTargetVersion(
  engine: Engine,
  meta: BackupMeta,
  location: string,
  ignore = false,
): Promise<VersionCheck | undefined> {
  if (!engine.targetVersion || !engine.checkTarget || meta.engine !== engine.kind) return undefined;
  const target = await engine.targetVersion(location);
  const problem = engine.checkTarget(
    { engineVersion: meta.engineVersion, features: meta.features },
    target,
  );
  if (problem !== undefined && !ignore) {
    throw new TargetVersionError(
      `Cannot restore backup "${meta.id}": ${problem} (use --ignore-version to try anyway)`,
    );
  }
  return { backup: meta.engineVersion, target, problem, ignored: problem !== undefined };
}
