/**
 * `status`: gathers the facts health needs from the store, the database and the run history,
 * and applies the health rules. Every front end (CLI, scheduler, API) asks here, so a monitor
 * and a person see the same verdict.
 */
import { isGood, listBackups } from "./catalog.ts";
import { leftovers, type ServiceContext, sizeOf } from "./backup_service.ts";
import { BackupManagerError } from "./errors.ts";
import {
  assessHealth,
  DEFAULT_HEALTH_POLICY,
  type HealthAssessment,
  type HealthFigures,
  type HealthLevel,
  type HealthPolicy,
  type HealthReason,
} from "./health.ts";
import { summarizeRuns } from "./run_history.ts";
import { readAudit } from "./audit.ts";

/** Options of {@linkcode getStatus}. */
export interface StatusOptions {
  /** Default {@linkcode DEFAULT_HEALTH_POLICY}. */
  policy?: HealthPolicy;
}

/** What `status` prints: every figure, the verdict, every reason, and the thresholds applied. */
export interface StatusReport extends HealthFigures {
  backupDir: string;
  systemHealth: HealthLevel;
  reasons: HealthReason[];
  policy: HealthPolicy;
}

/**
 * Status figures and health of the store, whether the database answers, and the run history
 * from the audit log (so health needs no state of its own).
 */
export async function getStatus(
  context: ServiceContext,
  options: StatusOptions = {},
): Promise<StatusReport> {
  const { storage, engine, clock, database } = context;
  const policy = options.policy ?? DEFAULT_HEALTH_POLICY;
  const backups = await listBackups(storage);
  const incomplete = await leftovers(storage, backups);
  const runs = summarizeRuns(await readAudit(storage, { actions: ["run", "create"] }));
  let databaseReachable: boolean;
  try {
    databaseReachable = await engine.exists(database);
  } catch (error) {
    if (!(error instanceof BackupManagerError)) throw error;
    databaseReachable = false;
  }
  const assessment: HealthAssessment = assessHealth(
    {
      backups: backups.map((b) => {
        const verification = b.meta?.verification;
        return {
          id: b.id,
          type: b.type,
          createdAt: b.createdAt,
          good: isGood(b),
          size: sizeOf(b),
          ...(verification?.outcome === "passed"
            ? { verifiedAt: new Date(verification.verifiedAt) }
            : {}),
        };
      }),
      incompleteFiles: incomplete.length,
      databaseReachable,
      freeBytes: await storage.freeBytes(),
      ...runs,
    },
    policy,
    clock.now(),
  );
  return {
    backupDir: storage.location,
    ...assessment.figures,
    systemHealth: assessment.level,
    reasons: assessment.reasons,
    policy: { ...policy },
  };
}
