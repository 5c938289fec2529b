/**
 * `status`: gathers the facts health needs from the store, the database and the run history,
 * and applies the health rules. Every front end (CLI, scheduler, API) asks here, so a monitor
 * and a person see the same verdict.
 */
import type { Storage } from "../storage/storage.ts";
import { type CatalogEntry, isGood, listBackups } from "./catalog.ts";
import type { DestinationFacts } from "./health_destinations.ts";
import { leftovers, orphanDataFiles, sizeOf } from "./cleanup.ts";
import { findLeftovers, partialStaleness, tally } from "./scratch_sweep.ts";
import { localFileLiveness } from "./scratch_names.ts";
import type { ServiceContext } from "./context.ts";
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
import { trustProblem } from "./trust.ts";
import { sqlRawSize } from "./parts_summary.ts";
import type { DatabaseCheck, DatabaseHealthPolicy } from "./db_health.ts";
import { checkDatabaseHealth, withDatabaseHealth } from "./database_health.ts";

/** Options of {@linkcode getStatus}. */
export interface StatusOptions {
  /** Default {@linkcode DEFAULT_HEALTH_POLICY}. */
  policy?: HealthPolicy;
  /** Further stores backups are copied to: each is listed and judged against the RPO. */
  destinations?: Storage[];
  /** The store's listing when the caller has it already (metrics list once per scrape). */
  backups?: CatalogEntry[];
  /**
   * The database's own rules (`health.freshness`, `maxDatabaseSize`, `checks`, the last
   * `maintain`): folded into the verdict, each under `databaseChecks`. Absent: not judged.
   */
  database?: DatabaseHealthPolicy;
  /** Statement timeout of the database rules' queries. Default 10 s. */
  checkTimeoutMs?: number;
}

/** What `status` prints: every figure, the verdict, every reason, and the thresholds applied. */
export interface StatusReport extends HealthFigures {
  backupDir: string;
  systemHealth: HealthLevel;
  reasons: HealthReason[];
  policy: HealthPolicy;
  /** Backups whose sidecar is signed (`signing.key`); their signatures are checked on use. */
  signedBackups: number;
  /** Key id that signed the newest backup, `null` when it is unsigned (or there is none). */
  lastBackupSignedBy: string | null;
  /**
   * Backups that `signing.trusted` does not vouch for (unsigned, or signed by another key): they
   * count as damaged, as restore refuses them. 0 without trusted keys.
   */
  untrustedBackups: number;
  /** Every database rule's verdict, `ok` ones included (present when the rules were judged). */
  databaseChecks?: DatabaseCheck[];
}

/**
 * Status figures and health of the store, whether the database answers, what interrupted runs
 * left (in the store, beside the database or on its server), and the run history from the audit
 * log (so health needs no state of its own).
 */
export async function getStatus(
  context: ServiceContext,
  options: StatusOptions = {},
): Promise<StatusReport> {
  const { storage, engine, clock, database } = context;
  const policy = options.policy ?? DEFAULT_HEALTH_POLICY;
  const backups = options.backups ?? await listBackups(storage);
  const now = clock.now();
  const liveness = localFileLiveness(now);
  // a write in progress (its writer alive) is no leftover; an unnamed one counts at any age
  const incomplete = [
    ...(await storage.listIncomplete()).filter((e) => !partialStaleness(e, liveness).running),
    ...await orphanDataFiles(storage, backups),
  ];
  const scratch = (await findLeftovers(context, { stores: [] })).leftovers.filter((l) => l.stale);
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
          // with signing.trusted, a backup restore would refuse is no good backup to health
          good: isGood(b) && trustProblem(b.meta, context.signing?.trusted) === undefined,
          size: sizeOf(b),
          ...(b.meta ? { sqlSize: sqlRawSize(b.meta) } : {}),
          ...(verification?.outcome === "passed"
            ? { verifiedAt: new Date(verification.verifiedAt) }
            : {}),
        };
      }),
      incompleteFiles: incomplete.length,
      incompleteBytes: incomplete.reduce((sum, e) => sum + e.size, 0),
      scratch: tally(scratch),
      databaseReachable,
      freeBytes: await storage.freeBytes(),
      destinations: await Promise.all(
        (options.destinations ?? []).map((d) => destinationFacts(d, backups)),
      ),
      ...runs,
    },
    policy,
    now,
  );
  const report: StatusReport = {
    backupDir: storage.location,
    ...assessment.figures,
    systemHealth: assessment.level,
    reasons: assessment.reasons,
    policy: { ...policy },
    signedBackups: backups.filter((b) => b.meta?.signature !== undefined).length,
    untrustedBackups: backups.filter((b) => trustProblem(b.meta, context.signing?.trusted)).length,
    lastBackupSignedBy: backups[0]?.meta?.signature?.keyId ?? null,
  };
  if (!options.database) return report;
  const databaseHealth = await checkDatabaseHealth(context, options.database, {
    ...(options.checkTimeoutMs !== undefined ? { timeoutMs: options.checkTimeoutMs } : {}),
  });
  return withDatabaseHealth(report, databaseHealth);
}

/** What a destination's own listing says, against the primary store's backups. */
async function destinationFacts(
  storage: Storage,
  primary: CatalogEntry[],
): Promise<DestinationFacts> {
  try {
    const copies = await listBackups(storage);
    const good = copies.filter(isGood);
    const there = new Set(good.map((b) => b.id));
    const newest = primary.find((b) => isGood(b) && b.type !== "pre-restore");
    return {
      location: storage.location,
      goodCopies: good.length,
      ...(good[0] ? { newestGoodAt: good[0].createdAt } : {}),
      ...(newest && !there.has(newest.id) ? { missingNewest: newest.id } : {}),
      incompleteFiles: (await leftovers(storage, copies)).length,
    };
  } catch (error) {
    if (!(error instanceof BackupManagerError)) throw error;
    return { location: storage.location, goodCopies: 0, incompleteFiles: 0, error: error.message };
  }
}
