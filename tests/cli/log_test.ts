/** Log lines: every event as one human line, and the same facts as one JSON object. */
import assert from "node:assert/strict";
import { formatLogLine } from "../../src/cli/log.ts";
import type { AuditEntry } from "../../src/core/audit.ts";
import type { OpsEvent } from "../../src/core/events.ts";

const time = new Date("2026-11-23T10:15:00.123Z");
const at = (text: string) => new Date(`2026-11-23T${text}Z`);
const entry = (fields: Partial<AuditEntry>): AuditEntry => ({
  time: time.toISOString(),
  actor: "scheduler",
  action: "create",
  target: "full_20261123T101500000Z",
  outcome: "ok",
  ...fields,
});

const CASES: [OpsEvent, string][] = [
  [
    { type: "scheduler-start", time, schedule: "every 6h", next: [at("10:15:00"), at("16:15:00")] },
    "info  scheduler started: every 6h; next runs 2026-11-23T10:15:00Z, 2026-11-23T16:15:00Z",
  ],
  [{ type: "run-start", time, attempt: 1, attempts: 4 }, "info  run started"],
  [{ type: "run-start", time, attempt: 2, attempts: 4 }, "info  run started (attempt 2 of 4)"],
  [
    {
      type: "action",
      time,
      entry: entry({ details: { tables: 12, rows: 48210, bytes: 3565158, durationMs: 1 } }),
    },
    "info  backup created full_20261123T101500000Z (12 tables, 48,210 rows, 3.4 MiB)",
  ],
  [
    { type: "action", time, entry: entry({ action: "verify", details: { restoreTest: true } }) },
    "info  backup verified full_20261123T101500000Z (with a restore test)",
  ],
  [
    {
      type: "action",
      time,
      entry: entry({ action: "delete", details: { reasons: ["beyond the last 7 full backups"] } }),
    },
    "info  backup deleted full_20261123T101500000Z (beyond the last 7 full backups)",
  ],
  [
    { type: "action", time, entry: entry({ outcome: "failed", error: "disk full" }) },
    "error create full_20261123T101500000Z failed: disk full",
  ],
  [
    {
      type: "run-ok",
      time,
      attempt: 1,
      backupId: "full_20261123T101500000Z",
      durationMs: 3456,
      deleted: 2,
      next: at("16:15:00"),
    },
    "info  run finished: full_20261123T101500000Z in 3.5 s, 2 old backup(s) deleted; next run at 2026-11-23T16:15:00Z",
  ],
  [
    {
      type: "run-failed",
      time,
      attempt: 1,
      attempts: 4,
      error: "disk full",
      retryAt: at("10:16:00"),
      next: at("16:15:00"),
    },
    "error run failed (attempt 1 of 4): disk full; retrying at 2026-11-23T10:16:00Z",
  ],
  [
    { type: "run-failed", time, attempt: 4, attempts: 4, error: "disk full", next: at("16:15:00") },
    "error run failed (attempt 4 of 4): disk full; no more retries, next run at 2026-11-23T16:15:00Z",
  ],
  [
    { type: "run-skipped", time, reason: "the lock is busy", next: at("16:15:00") },
    "warn  run skipped: the lock is busy; next run at 2026-11-23T16:15:00Z",
  ],
  [
    { type: "warning", time, message: "Cannot write the audit log" },
    "warn  Cannot write the audit log",
  ],
  [
    { type: "scheduler-stop", time, reason: "asked to stop" },
    "info  scheduler stopped: asked to stop",
  ],
];

for (const [event, expected] of CASES) {
  Deno.test(`formatLogLine() writes a ${event.type} event as "${expected.slice(6, 40)}…"`, () => {
    assert.equal(formatLogLine(event, "human"), `2026-11-23T10:15:00Z ${expected}\n`);
    const json = formatLogLine(event, "json")!;
    assert.ok(json.endsWith("}\n") && !json.slice(0, -1).includes("\n"));
    const parsed = JSON.parse(json);
    assert.equal(parsed.level, expected.slice(0, 5).trim());
    assert.equal(parsed.message, expected.slice(6));
    assert.equal(parsed.time, "2026-11-23T10:15:00.123Z");
  });
}

Deno.test("formatLogLine() leaves out the audit run line (run-ok and run-failed say it)", () => {
  assert.equal(
    formatLogLine({ type: "action", time, entry: entry({ action: "run" }) }, "human"),
    undefined,
  );
});
