import type { Config } from "../config/schema.ts";
import { parseDuration } from "../config/duration.ts";
import type { HealthReason } from "../core/health.ts";
import { sqlitePath } from "../engines/sqlite/sqlite_engine.ts";
import { replicationLagMs, replicationLagReason } from "../pitr/replication_lag.ts";
import { summarizeGenerations } from "../pitr/sqlite_pitr_summary.ts";
import type { CommandDeps } from "./deps.ts";
import { pitrLocation } from "./pitr_store.ts";

/** Replication figures in `status` (JSON `replication`). */
export interface ReplicationFigures {
  generations: number;
  /** The newest generation's span. */
  from: string;
  newestShipped: string;
  lagSeconds: number;
}

/**
 * `status`'s view of `replicate` for a SQLite database: nothing when nothing was ever replicated;
 * otherwise the figures, a text line, and a warning past `pitr.maxLag`.
 */
export async function replicationStatus(
  config: Config,
  database: string,
  deps: CommandDeps,
): Promise<{ figures: ReplicationFigures; line: string; reason?: HealthReason } | undefined> {
  const generations = await summarizeGenerations(pitrLocation(config, deps).store);
  const newest = generations[generations.length - 1];
  if (!newest) return undefined;
  const wal = await Deno.stat(`${sqlitePath(database)}-wal`).then((s) => s.mtime, () => null);
  const lagMs = replicationLagMs(
    { newestShippedMs: Date.parse(newest.to), walModifiedMs: wal?.getTime() },
    deps.clock.now().getTime(),
  );
  const figures = {
    generations: generations.length,
    from: newest.from,
    newestShipped: newest.to,
    lagSeconds: Math.round(lagMs / 1000),
  };
  return {
    figures,
    line: `${generations.length} generation${generations.length === 1 ? "" : "s"}, newest ` +
      `from ${newest.from}, newest commit shipped ${newest.to}, lag ${figures.lagSeconds} s`,
    reason: replicationLagReason(lagMs, parseDuration(config.pitr.maxLag)!),
  };
}
