import type { HealthReason } from "../core/health.ts";

/** What `status` knows of replication: the store's newest shipped commit, the log's last write. */
export interface ReplicationState {
  /** When the newest shipped commit was seen by the replicator (ms since the epoch). */
  newestShippedMs: number;
  /** When the database's `-wal` file was last written (ms), or undefined without one. */
  walModifiedMs?: number;
}

/**
 * The replication lag as far as it can be told without the replicator: zero when nothing was
 * written to the log after the newest shipped commit was seen (an idle application is not
 * behind); otherwise the time since that commit, which overstates the true lag by at most one
 * `pitr.interval` (the store has no record of the first unshipped commit).
 */
export function replicationLagMs(state: ReplicationState, nowMs: number): number {
  if (state.walModifiedMs === undefined || state.walModifiedMs <= state.newestShippedMs) return 0;
  return Math.max(0, nowMs - state.newestShippedMs);
}

/** A warning when the lag exceeds `maxLagMs` (`pitr.maxLag`): a stopped or overwhelmed replicator. */
export function replicationLagReason(lagMs: number, maxLagMs: number): HealthReason | undefined {
  if (lagMs <= maxLagMs) return undefined;
  return {
    level: "warning",
    rule: "replication",
    message: `replication is ${Math.round(lagMs / 1000)} s behind the database, more than ` +
      `pitr.maxLag ${Math.round(maxLagMs / 1000)} s (is replicate running?)`,
  };
}
