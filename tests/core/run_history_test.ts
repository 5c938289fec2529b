import assert from "node:assert/strict";
import { type RunLine, summarizeRuns } from "../../src/core/run_history.ts";

function line(
  time: string,
  action: string,
  outcome: "ok" | "failed",
  actor = "scheduler",
  error?: string,
): RunLine {
  return {
    time: `2026-11-23T${time}:00.000Z`,
    actor,
    action,
    outcome,
    ...(error ? { error } : {}),
  };
}

const cases: {
  name: string;
  lines: RunLine[];
  last?: [string, "ok" | "failed", string?];
  failures: number;
}[] = [
  { name: "no lines: no run, no failures", lines: [], failures: 0 },
  {
    name: "a successful scheduler run",
    lines: [line("01:00", "run", "ok")],
    last: ["01:00", "ok"],
    failures: 0,
  },
  {
    name: "failures after the last success count in a row",
    lines: [
      line("01:00", "run", "failed"),
      line("02:00", "run", "ok"),
      line("03:00", "run", "failed", "scheduler", "disk full"),
      line("04:00", "create", "failed", "cli", "database locked"),
    ],
    last: ["04:00", "failed", "database locked"],
    failures: 2,
  },
  {
    name: "a manual create after failures ends the streak",
    lines: [line("01:00", "run", "failed"), line("02:00", "create", "ok", "cli")],
    last: ["02:00", "ok"],
    failures: 0,
  },
  {
    name: "a scheduler's own create lines are part of its run, not runs",
    lines: [line("01:00", "run", "ok"), line("02:00", "create", "failed", "scheduler")],
    last: ["01:00", "ok"],
    failures: 0,
  },
  {
    name: "other actions are not runs",
    lines: [
      line("01:00", "run", "ok"),
      line("02:00", "verify", "failed", "cli"),
      line("03:00", "delete", "failed", "cli"),
    ],
    last: ["01:00", "ok"],
    failures: 0,
  },
  {
    name: "lines out of order are ordered by time",
    lines: [
      line("03:00", "run", "failed"),
      line("01:00", "run", "ok"),
      line("02:00", "run", "failed"),
    ],
    last: ["03:00", "failed"],
    failures: 2,
  },
  {
    name: "of two lines in the same millisecond the one given first (newest) wins",
    lines: [line("03:00", "run", "ok"), line("03:00", "run", "failed")],
    last: ["03:00", "ok"],
    failures: 0,
  },
  {
    name: "every run failed",
    lines: [line("01:00", "run", "failed"), line("02:00", "run", "failed")],
    last: ["02:00", "failed"],
    failures: 2,
  },
];

for (const c of cases) {
  Deno.test(`summarizeRuns() handles ${c.name}`, () => {
    const summary = summarizeRuns(c.lines);
    assert.equal(summary.consecutiveFailures, c.failures);
    if (!c.last) return assert.equal(summary.lastRun, undefined);
    assert.deepEqual(summary.lastRun, {
      time: new Date(`2026-11-23T${c.last[0]}:00.000Z`),
      outcome: c.last[1],
      ...(c.last[2] ? { error: c.last[2] } : {}),
    });
  });
}
