import type { Config } from "./schema.ts";
import { parseDuration } from "./duration.ts";
import type { HealthPolicy } from "../core/health.ts";
import type { DatabaseHealthPolicy } from "../core/db_health.ts";

/** The core's health thresholds from the validated `health` section (durations in ms). */
export function healthPolicyOf(health: Config["health"]): HealthPolicy {
  return {
    rpoMs: parseDuration(health.rpo)!,
    verifyMaxAgeMs: parseDuration(health.verifyMaxAge)!,
    sizeAnomalyRatio: health.sizeAnomalyRatio,
    minFreeBytes: health.minFreeBytes,
    criticalFailures: health.criticalFailures,
  };
}

/** The database rules (`db_health.ts`) from the `health` section (durations in ms). */
export function databaseHealthPolicyOf(health: Config["health"]): DatabaseHealthPolicy {
  return {
    ...(health.maintenanceMaxAge !== undefined
      ? { maintenanceMaxAgeMs: parseDuration(health.maintenanceMaxAge)! }
      : {}),
    ...(health.maxDatabaseSize !== undefined ? { maxDatabaseSize: health.maxDatabaseSize } : {}),
    freshness: (health.freshness ?? []).map((f) => ({
      table: f.table,
      column: f.column,
      maxAgeMs: parseDuration(f.maxAge)!,
      level: f.level,
    })),
    checks: (health.checks ?? []).map((c) => ({
      name: c.name,
      sql: c.sql,
      ...(c.warnAbove !== undefined ? { warnAbove: c.warnAbove } : {}),
      ...(c.critAbove !== undefined ? { critAbove: c.critAbove } : {}),
    })),
  };
}

/** The statement timeout of `check`'s queries (`health.checkTimeout`, default 10 s). */
export function checkTimeoutOf(health: Config["health"]): number {
  return parseDuration(health.checkTimeout ?? "10s")!;
}

/**
 * The database half of `getStatus`'s options (its rules and their queries' timeout), so every
 * front end (status, check, notifications, the API, the library) judges the database alike.
 */
export function databaseStatusOptions(
  health: Config["health"],
): { database: DatabaseHealthPolicy; checkTimeoutMs: number } {
  return { database: databaseHealthPolicyOf(health), checkTimeoutMs: checkTimeoutOf(health) };
}
