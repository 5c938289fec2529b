/**
 * Health rules, as one pure function of the facts `status` gathers, a policy and the time, so
 * every rule and its boundaries have a table-driven test and monitors get the same verdict the
 * tests pin down.
 */
import { formatAge, formatBytes } from "./units.ts";
import {
  assessDestinations,
  type DestinationFacts,
  type DestinationFigures,
} from "./health_destinations.ts";

/** What health needs to know about one backup. */
export interface HealthBackup {
  id: string;
  type: string;
  createdAt: Date;
  /** Passes its cheap checks and did not fail its last verification. */
  good: boolean;
  /** Bytes on disk (data + sidecar). */
  size: number;
  /**
   * Bytes of SQL before compression (the sidecar's `sizes.raw`), when known. The size anomaly
   * compares these, so switching compression (gzip to zstd, or none) is not taken for lost data.
   */
  sqlSize?: number;
  /** When a verification of this backup last passed; absent when never verified. */
  verifiedAt?: Date;
}

/** The outcome of the newest run (a scheduler cycle or a manual `create`). */
export interface LastRun {
  time: Date;
  outcome: "ok" | "failed";
  /** The one-line error of a failed run. */
  error?: string;
  /** How long it took, when recorded. */
  durationMs?: number;
}

/** Everything the rules look at, gathered by `getStatus` (or a test). */
export interface HealthFacts {
  /** In any order. */
  backups: HealthBackup[];
  /** Files left in the store by interrupted runs. */
  incompleteFiles: number;
  /** Bytes those files take. Default 0. */
  incompleteBytes?: number;
  /**
   * Stale scratch interrupted runs left beside the database or on its server (restore
   * temporaries, load and restore-test databases). Default none.
   */
  scratch?: { count: number; bytes: number };
  /** Whether the database answered; `undefined` when not checked. */
  databaseReachable?: boolean;
  /** Free bytes where backups go; `undefined` when the store cannot tell. */
  freeBytes?: number;
  /** `undefined` when no run is recorded. */
  lastRun?: LastRun;
  /** Failed runs since the last successful one. */
  consecutiveFailures: number;
  /** The further stores backups are copied to. Default none. */
  destinations?: DestinationFacts[];
}

/** Thresholds of the rules; see {@linkcode DEFAULT_HEALTH_POLICY}. */
export interface HealthPolicy {
  /** Recovery point objective: the newest good backup may be this old (critical at twice). */
  rpoMs: number;
  /** The newest verified backup may be this old; 0 turns the rule off. */
  verifyMaxAgeMs: number;
  /** Newest full backup smaller than this share of the recent median is suspect; 0 turns it off. */
  sizeAnomalyRatio: number;
  /** Less free space than this in the backup directory is a warning; 0 turns it off. */
  minFreeBytes: number;
  /** This many failed runs in a row is critical (one is a warning). */
  criticalFailures: number;
}

const HOUR_MS = 60 * 60 * 1000;

/** Defaults that suit a daily backup: RPO 24 h, weekly verification, half the usual size, 1 GiB. */
export const DEFAULT_HEALTH_POLICY: Readonly<HealthPolicy> = {
  rpoMs: 24 * HOUR_MS,
  verifyMaxAgeMs: 7 * 24 * HOUR_MS,
  sizeAnomalyRatio: 0.5,
  minFreeBytes: 1024 ** 3,
  criticalFailures: 3,
};

/** How many earlier full backups make the "recent median", and how many it needs at least. */
export const SIZE_WINDOW = { max: 7, min: 3 } as const;

/** The overall verdict, worst rule wins. */
export type HealthLevel = "healthy" | "warning" | "critical";

/** Which rule raised a reason; stable for machines. */
export type HealthRule =
  | "database"
  | "backups"
  | "rpo"
  | "integrity"
  | "incomplete"
  | "last-run"
  | "verification"
  | "size"
  | "disk"
  | "destination"
  // the database's own rules (`db_health.ts`)
  | "maintenance"
  | "freshness"
  | "database-size"
  | "sql-check"
  // point-in-time recovery (`src/pitr/replication_lag.ts`, `src/pitr/pg_archive_health.ts`)
  | "replication"
  | "wal-archive";

/** One finding: a single line for `status --check` and notifications. */
export interface HealthReason {
  level: "warning" | "critical";
  rule: HealthRule;
  message: string;
}

/** Every figure `status` prints; dates as ISO strings, ages and sizes as numbers, `null` = none. */
export interface HealthFigures {
  totalBackups: number;
  goodBackups: number;
  damagedBackups: number;
  incompleteFiles: number;
  /** Bytes of {@linkcode HealthFigures.incompleteFiles}. */
  incompleteBytes: number;
  /** Stale scratch of interrupted runs beside the database or on its server. */
  scratchLeftovers: number;
  scratchBytes: number;
  lastBackupDate: string | null;
  lastBackupType: string | null;
  lastGoodBackupDate: string | null;
  lastGoodBackupAgeMs: number | null;
  totalSize: number;
  averageBackupSize: number;
  lastRunDate: string | null;
  lastRunOutcome: "ok" | "failed" | null;
  lastRunError: string | null;
  lastRunDurationMs: number | null;
  consecutiveFailures: number;
  lastVerifiedBackup: string | null;
  lastVerifiedBackupDate: string | null;
  lastVerifiedBackupAgeMs: number | null;
  lastVerifiedAt: string | null;
  newestFullBackupSize: number | null;
  recentMedianSize: number | null;
  freeBytes: number | null;
  databaseReachable: boolean | null;
  /** One entry per copy destination. */
  destinations: DestinationFigures[];
}

/** The verdict, its reasons (critical first) and the figures behind them. */
export interface HealthAssessment {
  level: HealthLevel;
  reasons: HealthReason[];
  figures: HealthFigures;
}

/** Applies every rule of `policy` to `facts` at `now`. */
export function assessHealth(
  facts: HealthFacts,
  policy: HealthPolicy,
  now: Date,
): HealthAssessment {
  const sorted = [...facts.backups].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  const good = sorted.filter((b) => b.good);
  const verified = good.find((b) => b.verifiedAt !== undefined);
  const size = sizeFigures(good);
  const totalSize = sorted.reduce((sum, b) => sum + b.size, 0);
  const figures: HealthFigures = {
    totalBackups: sorted.length,
    goodBackups: good.length,
    damagedBackups: sorted.length - good.length,
    incompleteFiles: facts.incompleteFiles,
    incompleteBytes: facts.incompleteBytes ?? 0,
    scratchLeftovers: facts.scratch?.count ?? 0,
    scratchBytes: facts.scratch?.bytes ?? 0,
    lastBackupDate: sorted[0]?.createdAt.toISOString() ?? null,
    lastBackupType: sorted[0]?.type ?? null,
    lastGoodBackupDate: good[0]?.createdAt.toISOString() ?? null,
    lastGoodBackupAgeMs: good[0] ? ageOf(good[0].createdAt, now) : null,
    totalSize,
    averageBackupSize: sorted.length ? Math.round(totalSize / sorted.length) : 0,
    lastRunDate: facts.lastRun?.time.toISOString() ?? null,
    lastRunOutcome: facts.lastRun?.outcome ?? null,
    lastRunError: facts.lastRun?.error ?? null,
    lastRunDurationMs: facts.lastRun?.durationMs ?? null,
    consecutiveFailures: facts.consecutiveFailures,
    lastVerifiedBackup: verified?.id ?? null,
    lastVerifiedBackupDate: verified?.createdAt.toISOString() ?? null,
    lastVerifiedBackupAgeMs: verified ? ageOf(verified.createdAt, now) : null,
    lastVerifiedAt: verified?.verifiedAt?.toISOString() ?? null,
    newestFullBackupSize: size.newest,
    recentMedianSize: size.median,
    freeBytes: facts.freeBytes ?? null,
    databaseReachable: facts.databaseReachable ?? null,
    destinations: [],
  };
  const reasons: HealthReason[] = [];
  const add = (level: HealthReason["level"], rule: HealthRule, message: string) =>
    reasons.push({ level, rule, message });

  if (facts.databaseReachable === false) {
    add("critical", "database", "the database cannot be reached");
  }
  if (sorted.length === 0) add("critical", "backups", "no backups exist");
  else if (good.length === 0) add("critical", "backups", "no backup passes its integrity checks");

  if (figures.lastGoodBackupAgeMs !== null) {
    const age = figures.lastGoodBackupAgeMs;
    const text = `the newest good backup is ${formatAge(age)} old`;
    if (age > 2 * policy.rpoMs) {
      add("critical", "rpo", `${text}, past twice the RPO (limit ${formatAge(2 * policy.rpoMs)})`);
    } else if (age > policy.rpoMs) {
      add("warning", "rpo", `${text}, past the RPO (limit ${formatAge(policy.rpoMs)})`);
    }
  }

  if (sorted.length > 0 && !sorted[0].good && good.length > 0) {
    add("critical", "integrity", "the newest backup fails its integrity checks");
  }
  const bad = figures.damagedBackups;
  if (bad > 0 && good.length > 0) {
    add(
      "warning",
      "integrity",
      `${plural(bad, "backup")} fail${bad === 1 ? "s" : ""} integrity checks`,
    );
  }
  const copies = assessDestinations(facts.destinations ?? [], policy.rpoMs, now);
  figures.destinations = copies.figures;
  for (const reason of copies.reasons) add(reason.level, "destination", reason.message);
  const leftovers = figures.incompleteFiles + figures.scratchLeftovers;
  if (leftovers > 0) {
    add(
      "warning",
      "incomplete",
      `${plural(leftovers, "leftover")} from interrupted runs, ${
        formatBytes(figures.incompleteBytes + figures.scratchBytes)
      }: run cleanup`,
    );
  }

  if (facts.lastRun?.outcome === "failed") {
    const failures = Math.max(1, facts.consecutiveFailures);
    const text = `the last run failed at ${facts.lastRun.time.toISOString()}` +
      (failures > 1 ? ` (${failures} failures in a row)` : "") +
      (facts.lastRun.error ? `: ${facts.lastRun.error}` : "");
    add(failures >= policy.criticalFailures ? "critical" : "warning", "last-run", text);
  }

  if (good.length > 0 && policy.verifyMaxAgeMs > 0) {
    if (!verified) {
      add("warning", "verification", "no good backup has been verified (run verify)");
    } else if (figures.lastVerifiedBackupAgeMs! > policy.verifyMaxAgeMs) {
      add(
        "warning",
        "verification",
        `the newest verified backup is ${formatAge(figures.lastVerifiedBackupAgeMs!)} old ` +
          `(limit ${formatAge(policy.verifyMaxAgeMs)}; run verify)`,
      );
    }
  }

  const sql = sqlSizeFigures(good);
  const compared = sql ?? size;
  if (
    compared.newest !== null && compared.median !== null && policy.sizeAnomalyRatio > 0 &&
    compared.newest < policy.sizeAnomalyRatio * compared.median
  ) {
    const of = sql ? " of SQL" : "";
    add(
      "warning",
      "size",
      `the newest full backup (${formatBytes(compared.newest)}${of}) is ${
        Math.floor((compared.newest / compared.median) * 100)
      }% of the recent median (${formatBytes(compared.median)}${of}; limit ${
        Math.round(policy.sizeAnomalyRatio * 100)
      }%)`,
    );
  }

  if (facts.freeBytes !== undefined) {
    const free = formatBytes(facts.freeBytes);
    if (good.length > 0 && facts.freeBytes < good[0].size) {
      add(
        "critical",
        "disk",
        `only ${free} free in the backup directory, less than the newest backup ` +
          `(${formatBytes(good[0].size)}): the next one may not fit`,
      );
    } else if (facts.freeBytes < policy.minFreeBytes) {
      add(
        "warning",
        "disk",
        `only ${free} free in the backup directory (limit ${formatBytes(policy.minFreeBytes)})`,
      );
    }
  }

  reasons.sort((a, b) => Number(a.level === "warning") - Number(b.level === "warning"));
  const level: HealthLevel = reasons.some((r) => r.level === "critical")
    ? "critical"
    : reasons.length
    ? "warning"
    : "healthy";
  return { level, reasons, figures };
}

interface SizeFigures {
  newest: number | null;
  median: number | null;
}

/** The newest full backup's size and the median of up to the 7 good full backups before it. */
function sizeFigures(
  good: HealthBackup[],
  sizeOf: (b: HealthBackup) => number = (b) => b.size,
): SizeFigures {
  const full = good.filter((b) => b.type === "full");
  if (full.length === 0) return { newest: null, median: null };
  const before = full.slice(1, 1 + SIZE_WINDOW.max).map(sizeOf).sort((a, b) => a - b);
  if (before.length < SIZE_WINDOW.min) return { newest: sizeOf(full[0]), median: null };
  const middle = Math.floor(before.length / 2);
  const median = before.length % 2
    ? before[middle]
    : Math.round((before[middle - 1] + before[middle]) / 2);
  return { newest: sizeOf(full[0]), median };
}

/** {@linkcode sizeFigures} over SQL sizes, when every backup compared records one. */
function sqlSizeFigures(good: HealthBackup[]): SizeFigures | null {
  const window = good.filter((b) => b.type === "full").slice(0, 1 + SIZE_WINDOW.max);
  if (window.length === 0 || window.some((b) => b.sqlSize === undefined)) return null;
  return sizeFigures(good, (b) => b.sqlSize!);
}

function ageOf(date: Date, now: Date): number {
  return Math.max(0, now.getTime() - date.getTime());
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** Orders levels for comparisons ("did it get worse?"). */
export function severity(level: HealthLevel): number {
  return level === "critical" ? 2 : level === "warning" ? 1 : 0;
}
