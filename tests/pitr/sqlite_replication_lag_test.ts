import assert from "node:assert/strict";
import { replicationLagMs, replicationLagReason } from "../../src/pitr/replication_lag.ts";

Deno.test("replicationLagMs() is zero unless the log was written after the newest shipped commit", () => {
  const now = 100_000;
  const cases: [string, { newestShippedMs: number; walModifiedMs?: number }, number][] = [
    ["no log", { newestShippedMs: 10_000 }, 0],
    ["idle since the last shipping", { newestShippedMs: 10_000, walModifiedMs: 9_000 }, 0],
    ["written at the very moment", { newestShippedMs: 10_000, walModifiedMs: 10_000 }, 0],
    ["written since: behind", { newestShippedMs: 10_000, walModifiedMs: 11_000 }, 90_000],
    ["clock skew: never negative", { newestShippedMs: 120_000, walModifiedMs: 130_000 }, 0],
  ];
  for (const [name, state, lag] of cases) assert.equal(replicationLagMs(state, now), lag, name);
});

Deno.test("replicationLagReason() warns past pitr.maxLag, naming both", () => {
  assert.equal(replicationLagReason(60_000, 60_000), undefined);
  assert.deepEqual(replicationLagReason(90_000, 60_000), {
    level: "warning",
    rule: "replication",
    message:
      "replication is 90 s behind the database, more than pitr.maxLag 60 s (is replicate running?)",
  });
});
