/**
 * Status figures and health rules, as pure functions of what the catalog holds and the time, so
 * every rule has a table-driven test.
 */

/** What health needs to know about one backup. */
export interface HealthInput {
  type: string;
  createdAt: Date;
  good: boolean;
  /** Bytes on disk (data + sidecar). */
  size: number;
}

/** Thresholds of the health rules. */
export interface HealthOptions {
  /** Newest good backup older than this is a warning. Default 24 h. */
  warnAgeMs?: number;
  /** Newest good backup older than this is critical. Default 48 h. */
  criticalAgeMs?: number;
  /** Interrupted writes left in the store. */
  incompleteFiles?: number;
  /** Whether the database could be found; `undefined` when not checked. */
  databaseReachable?: boolean;
}

/** The overall verdict, worst rule wins. */
export type Health = "healthy" | "warning" | "critical";

/** Figures and verdict that `status` prints. */
export interface StatusReport {
  totalBackups: number;
  goodBackups: number;
  lastBackupDate: string | null;
  lastBackupType: string | null;
  lastGoodBackupDate: string | null;
  totalSize: number;
  averageBackupSize: number;
  systemHealth: Health;
  reasons: string[];
}

const HOUR_MS = 60 * 60 * 1000;

/** Computes the status report; `backups` in any order. */
export function assessHealth(
  backups: HealthInput[],
  now: Date,
  options: HealthOptions = {},
): StatusReport {
  const warnAge = options.warnAgeMs ?? 24 * HOUR_MS;
  const criticalAge = options.criticalAgeMs ?? 48 * HOUR_MS;
  const sorted = [...backups].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  const good = sorted.filter((b) => b.good);
  const totalSize = sorted.reduce((sum, b) => sum + b.size, 0);
  const critical: string[] = [];
  const warning: string[] = [];
  if (options.databaseReachable === false) critical.push("the database cannot be found");
  if (good.length === 0) {
    critical.push(
      sorted.length === 0 ? "no backups exist" : "no backup passes its integrity checks",
    );
  } else {
    const age = now.getTime() - good[0].createdAt.getTime();
    const text = `the newest good backup is ${formatAge(age)} old`;
    if (age > criticalAge) critical.push(`${text} (limit ${formatAge(criticalAge)})`);
    else if (age > warnAge) warning.push(`${text} (limit ${formatAge(warnAge)})`);
  }
  if (sorted.length > 0 && !sorted[0].good && good.length > 0) {
    critical.push("the newest backup fails its integrity checks");
  }
  const bad = sorted.length - good.length;
  if (bad > 0) {
    warning.push(
      `${bad} backup${bad === 1 ? "" : "s"} fail${bad === 1 ? "s" : ""} integrity checks`,
    );
  }
  if ((options.incompleteFiles ?? 0) > 0) {
    warning.push(
      `${options.incompleteFiles} incomplete file(s) from interrupted runs (run cleanup)`,
    );
  }
  return {
    totalBackups: sorted.length,
    goodBackups: good.length,
    lastBackupDate: sorted[0]?.createdAt.toISOString() ?? null,
    lastBackupType: sorted[0]?.type ?? null,
    lastGoodBackupDate: good[0]?.createdAt.toISOString() ?? null,
    totalSize,
    averageBackupSize: sorted.length ? Math.round(totalSize / sorted.length) : 0,
    systemHealth: critical.length ? "critical" : warning.length ? "warning" : "healthy",
    reasons: [...critical, ...warning],
  };
}

/** "3h 5m", "2d 4h": ages in messages. */
export function formatAge(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}
