/**
 * The last run's outcome and the failures in a row, derived from audit log lines, so health needs
 * no state of its own: the audit log already records every run.
 */
import type { LastRun } from "./health.ts";

/** The fields of an audit line this module reads. */
export interface RunLine {
  time: string;
  actor: string;
  action: string;
  outcome: "ok" | "failed";
  error?: string;
  details?: Record<string, unknown>;
}

/** What {@linkcode summarizeRuns} finds. */
export interface RunSummary {
  lastRun?: LastRun;
  consecutiveFailures: number;
}

/**
 * A run is a `run` line (one scheduler cycle, which logs its own `create` too) or a `create` line
 * from the command line or the API (a manual or cron run). Lines come newest first, as `readAudit` returns
 * them; they are ordered by time again, so a clock step back cannot reorder the verdict.
 */
export function summarizeRuns(lines: readonly RunLine[]): RunSummary {
  const runs = lines
    .filter((l) => l.action === "run" || (l.action === "create" && l.actor !== "scheduler"))
    .map((l, index) => ({ line: l, time: new Date(l.time), index }))
    .filter((r) => !Number.isNaN(r.time.getTime()))
    // newest first; of two lines in the same millisecond, the one given first
    .sort((a, b) => b.time.getTime() - a.time.getTime() || a.index - b.index);
  if (runs.length === 0) return { consecutiveFailures: 0 };
  let consecutiveFailures = 0;
  while (
    consecutiveFailures < runs.length && runs[consecutiveFailures].line.outcome === "failed"
  ) {
    consecutiveFailures++;
  }
  const newest = runs[0];
  return {
    lastRun: {
      time: newest.time,
      outcome: newest.line.outcome,
      ...(newest.line.error ? { error: newest.line.error } : {}),
      ...(typeof newest.line.details?.durationMs === "number"
        ? { durationMs: newest.line.details.durationMs }
        : {}),
    },
    consecutiveFailures,
  };
}
