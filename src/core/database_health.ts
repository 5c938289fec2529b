/**
 * Gathers the facts of the database rules (`db_health.ts`): the last `maintain` from the audit
 * log, and the answers of the read-only queries the policy needs (asked only when a freshness
 * rule, a size limit or a SQL check is set). A database that cannot be asked is a finding of
 * every rule that needed it, never a crash: monitors must always get a verdict.
 */
import type { ServiceContext } from "./context.ts";
import { BackupManagerError, messageOf } from "./errors.ts";
import {
  assessDatabase,
  type DatabaseCheck,
  type DatabaseHealthFacts,
  type DatabaseHealthPolicy,
} from "./db_health.ts";
import type { HealthLevel, HealthReason } from "./health.ts";
import { lastMaintenance } from "./maintenance_record.ts";

/** Default statement timeout of each query. */
export const CHECK_TIMEOUT_MS = 10_000;

/** The database's verdict: the worst of its checks, and every check. */
export interface DatabaseHealth {
  level: HealthLevel;
  checks: DatabaseCheck[];
  /** The checks that are not `ok`, as health reasons (critical first). */
  reasons: HealthReason[];
}

/** No rule configured and nothing recorded: healthy, nothing checked. */
export const NO_DATABASE_POLICY: Readonly<DatabaseHealthPolicy> = { freshness: [], checks: [] };

/** Options of {@linkcode checkDatabaseHealth}. */
export interface CheckDatabaseHealthOptions {
  /** Statement timeout of each query. Default {@linkcode CHECK_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/** Applies the database rules of `policy` to the context's database. */
export async function checkDatabaseHealth(
  context: ServiceContext,
  policy: DatabaseHealthPolicy,
  options: CheckDatabaseHealthOptions = {},
): Promise<DatabaseHealth> {
  const { engine, storage, clock } = context;
  const facts: DatabaseHealthFacts = {
    maintenance: await lastMaintenance(storage, engine.redact(context.database)),
  };
  const asks = policy.freshness.length > 0 || policy.checks.length > 0 ||
    policy.maxDatabaseSize !== undefined;
  if (asks) {
    if (!engine.queryHealth) {
      facts.queryError = `the ${engine.kind} engine cannot answer health queries`;
    } else {
      try {
        facts.answers = await engine.queryHealth(context.database, {
          freshness: policy.freshness.map(({ table, column }) => ({ table, column })),
          checks: policy.checks.map(({ name, sql }) => ({ name, sql })),
          timeoutMs: options.timeoutMs ?? CHECK_TIMEOUT_MS,
        });
      } catch (error) {
        if (!(error instanceof BackupManagerError)) throw error;
        facts.queryError = messageOf(error);
      }
    }
  }
  return verdictOf(assessDatabase(facts, policy, clock.now()));
}

/** The level and reasons of `checks`. */
export function verdictOf(checks: DatabaseCheck[]): DatabaseHealth {
  const reasons: HealthReason[] = checks
    .filter((c) => c.level !== "ok")
    .map((c) => ({ level: c.level as HealthReason["level"], rule: c.rule, message: c.message }))
    .sort((a, b) => Number(a.level === "warning") - Number(b.level === "warning"));
  const level: HealthLevel = reasons.some((r) => r.level === "critical")
    ? "critical"
    : reasons.length
    ? "warning"
    : "healthy";
  return { level, checks, reasons };
}

/**
 * `status` with the database's verdict folded in: the worse level wins, the reasons are merged
 * (critical first), and the checks are listed under `databaseChecks`.
 */
export function withDatabaseHealth<
  T extends { systemHealth: HealthLevel; reasons: HealthReason[] },
>(
  report: T,
  database: DatabaseHealth,
): T & { databaseChecks: DatabaseCheck[] } {
  const reasons = [...report.reasons, ...database.reasons]
    .sort((a, b) => Number(a.level === "warning") - Number(b.level === "warning"));
  const rank = (level: HealthLevel) => level === "critical" ? 2 : level === "warning" ? 1 : 0;
  return {
    ...report,
    systemHealth: rank(database.level) > rank(report.systemHealth)
      ? database.level
      : report.systemHealth,
    reasons,
    databaseChecks: database.checks,
  };
}
