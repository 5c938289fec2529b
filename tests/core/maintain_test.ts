/**
 * maintainDatabase() against real SQLite files (lock, audit line, notification of corruption),
 * and the pure parts of the database health rules: times of freshness values, the rules at each
 * level, the last maintenance read back from audit lines, and the merge into status.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { maintainDatabase } from "../../src/core/maintain.ts";
import type { ServiceContext } from "../../src/core/context.ts";
import { type AuditEntry, readAudit } from "../../src/core/audit.ts";
import { acquireLock } from "../../src/core/lock.ts";
import { LockBusyError } from "../../src/core/errors.ts";
import type { NotifyEvent } from "../../src/core/notify/event.ts";
import { engineFor } from "../../src/engines/registry.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { timeOfValue } from "../../src/core/freshness_time.ts";
import {
  assessDatabase,
  type DatabaseHealthFacts,
  type DatabaseHealthPolicy,
} from "../../src/core/db_health.ts";
import { newestMaintenance } from "../../src/core/maintenance_record.ts";
import { verdictOf, withDatabaseHealth } from "../../src/core/database_health.ts";
import { FakeClock } from "../helpers/cli.ts";
import { makeDatabase, withWorkspace, type Workspace } from "../helpers/workspace.ts";

const HOUR = 3_600_000;

function contextOf(ws: Workspace, clock = new FakeClock()): ServiceContext {
  return {
    storage: new LocalStorage(ws.dir),
    engine: engineFor(ws.database),
    database: ws.database,
    clock,
  };
}

/** The index of `accounts.name` now claims another column than the entries it holds. */
function corrupt(path: string): void {
  const db = new DatabaseSync(
    path,
    { defensive: false } as ConstructorParameters<
      typeof DatabaseSync
    >[1],
  );
  db.exec(`CREATE INDEX accounts_name ON accounts(name);
    PRAGMA writable_schema=ON;
    UPDATE sqlite_schema SET sql = 'CREATE INDEX accounts_name ON accounts(balance)'
      WHERE name = 'accounts_name';
    PRAGMA writable_schema=OFF;`);
  db.close();
}

Deno.test("maintainDatabase() records the run as a maintain audit line with its figures", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 50 });
    await Deno.mkdir(ws.dir);
    const sent: NotifyEvent[] = [];
    const result = await maintainDatabase(contextOf(ws), {
      notify: (event) => Promise.resolve(sent.push(event)),
    });
    assert.equal(result.integrity, "ok");
    assert.equal(result.database, ws.database);
    assert.equal(result.engine, "sqlite");
    assert.equal(result.startedAt, "2026-11-23T10:15:00.000Z");
    assert.deepEqual(sent, []);
    const [line] = await readAudit(ws.dir);
    assert.equal(line.action, "maintain");
    assert.equal(line.target, ws.database);
    assert.equal(line.outcome, "ok");
    assert.equal(line.details?.integrity, "ok");
    assert.deepEqual(
      (line.details?.steps as { name: string }[]).map((s) => s.name),
      ["optimize", "checkpoint", "integrity", "vacuum"],
    );
  });
});

Deno.test("maintainDatabase() on a corrupted file records a failure and sends a failure notification", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 50 });
    corrupt(ws.database);
    await Deno.mkdir(ws.dir);
    const sent: NotifyEvent[] = [];
    const result = await maintainDatabase(contextOf(ws), {
      notify: (event) => Promise.resolve(sent.push(event)),
    });
    assert.equal(result.integrity, "failed");
    assert.equal(sent.length, 1);
    assert.equal(sent[0].kind, "failure");
    assert.equal(sent[0].summary, `Maintenance of "${ws.database}" found corruption`);
    assert.match(
      sent[0].error!,
      /^Maintenance found \d+ integrity problems in the database: .*accounts_name.* \(restore a good backup, or repair it\)$/,
    );
    const [line] = await readAudit(ws.dir);
    assert.equal(line.outcome, "failed");
    assert.equal(line.error, sent[0].error);
    assert.equal(line.details?.integrity, "failed");
  });
});

Deno.test("maintainDatabase() refuses while another run holds the lock; a dry run needs no lock and records nothing", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    await Deno.mkdir(ws.dir);
    const clock = new FakeClock();
    const lock = await acquireLock(ws.dir, { command: "auto cycle", clock });
    try {
      await assert.rejects(maintainDatabase(contextOf(ws, clock)), LockBusyError);
      const plan = await maintainDatabase(contextOf(ws, clock), { dryRun: true });
      assert.equal(plan.dryRun, true);
      assert.ok(plan.steps.every((s) => s.outcome === "planned" || s.outcome === "skipped"));
    } finally {
      await lock.release();
    }
    assert.deepEqual(await readAudit(ws.dir), []);
  });
});

Deno.test("timeOfValue() reads epoch numbers by magnitude and ISO-like text", () => {
  const at = "2026-11-23T10:00:00.000Z";
  const cases: [string | number, string | undefined][] = [
    [1795428000, at],
    [1795428000.5, "2026-11-23T10:00:00.500Z"],
    [1795428000000, at],
    [1795428000000000, at],
    [1795428000000000000, at],
    ["1795428000", at],
    ["2026-11-23T10:00:00Z", at],
    ["2026-11-23T10:00:00.000Z", at],
    ["2026-11-23 10:00:00", at],
    ["2026-11-23 10:00", at],
    ["2026-11-23 11:00:00+01", at],
    ["2026-11-23 11:00:00+0100", at],
    ["2026-11-23T05:30:00-04:30", at],
    ["2026-11-23 10:00:00.123456+00", "2026-11-23T10:00:00.123Z"],
    ["2026-11-23", "2026-11-23T00:00:00.000Z"],
    ["yesterday", undefined],
    ["2026-13-45", undefined],
    ["infinity", undefined],
    [Number.NaN, undefined],
  ];
  for (const [value, expected] of cases) {
    assert.equal(timeOfValue(value)?.toISOString(), expected, String(value));
  }
});

const NOW = new Date("2026-11-23T12:00:00.000Z");
const NONE: DatabaseHealthPolicy = { freshness: [], checks: [] };

Deno.test("assessDatabase() judges integrity from the last maintain", () => {
  const ran = (
    hoursAgo: number,
    more: Partial<NonNullable<DatabaseHealthFacts["maintenance"]>>,
  ) => ({
    maintenance: {
      time: new Date(NOW.getTime() - hoursAgo * HOUR),
      outcome: "ok" as const,
      integrity: "ok" as const,
      ...more,
    },
  });
  const week = { ...NONE, maintenanceMaxAgeMs: 8 * 24 * HOUR };
  const cases: [string, DatabaseHealthFacts, DatabaseHealthPolicy, string | undefined, string?][] =
    [
      ["never run, no limit", {}, NONE, undefined],
      [
        "never run, a limit",
        {},
        week,
        "warning",
        "the database has never been maintained (run maintain)",
      ],
      [
        "recent and sound",
        ran(2, {}),
        week,
        "ok",
        "the last maintain (2h 0m ago) found no corruption",
      ],
      [
        "sound, no check ran",
        ran(2, { integrity: "skipped" }),
        NONE,
        "ok",
        "the last maintain (2h 0m ago) ran no integrity check",
      ],
      [
        "too old",
        ran(200, {}),
        week,
        "warning",
        "the last maintain was 8d 8h ago (limit 8d 0h; run maintain)",
      ],
      [
        "corruption",
        ran(300, { outcome: "failed", integrity: "failed", error: "1 problem" }),
        week,
        "critical",
        "the last maintain (2026-11-11T00:00:00.000Z) found corruption: 1 problem",
      ],
      [
        "the run failed",
        ran(1, { outcome: "failed", integrity: undefined, error: "disk I/O error" }),
        NONE,
        "warning",
        "the last maintain failed at 2026-11-23T11:00:00.000Z: disk I/O error",
      ],
    ];
  for (const [name, facts, policy, level, message] of cases) {
    const [check] = assessDatabase(facts, policy, NOW);
    assert.equal(check?.level, level, name);
    if (message) assert.equal(check.message, message, name);
  }
});

Deno.test("assessDatabase() judges freshness, size and SQL checks at each level; a failed query is a finding", () => {
  const policy: DatabaseHealthPolicy = {
    maxDatabaseSize: 1000,
    freshness: [
      { table: "events", column: "at", maxAgeMs: 25 * HOUR },
      { table: "orders", column: "at", maxAgeMs: 25 * HOUR, level: "critical" },
      { table: "empty", column: "at", maxAgeMs: HOUR },
      { table: "broken", column: "at", maxAgeMs: HOUR, level: "critical" },
      { table: "odd", column: "at", maxAgeMs: HOUR },
    ],
    checks: [
      { name: "queue", sql: "q", warnAbove: 10, critAbove: 100 },
      { name: "warn", sql: "q", warnAbove: 10, critAbove: 100 },
      { name: "crit", sql: "q", warnAbove: 10, critAbove: 100 },
      { name: "failing", sql: "q", warnAbove: 10 },
      { name: "failing-crit", sql: "q", critAbove: 1 },
    ],
  };
  const checks = assessDatabase(
    {
      answers: {
        sizeBytes: 2048,
        freshness: [
          { value: "2026-11-23T11:00:00Z" },
          { value: Math.floor(NOW.getTime() / 1000) - 26 * 3600 },
          { value: null },
          { error: "no such table: broken" },
          { value: "soon" },
        ],
        checks: [
          { value: 10 },
          { value: 11 },
          { value: 101 },
          { error: "syntax error" },
          { error: "timeout" },
        ],
      },
    },
    policy,
    NOW,
  );
  assert.deepEqual(checks.map((c) => [c.rule, c.name, c.level, c.message]), [
    ["database-size", "size", "warning", "the database is 2.0 KiB, over the 1000 B limit"],
    [
      "freshness",
      "events.at",
      "ok",
      "events.at: the newest row is 1h 0m old (2026-11-23T11:00:00.000Z; limit 25h 0m)",
    ],
    [
      "freshness",
      "orders.at",
      "critical",
      "orders.at: the newest row is 26h 0m old (2026-11-22T10:00:00.000Z; limit 25h 0m)",
    ],
    ["freshness", "empty.at", "warning", "empty.at: no row has a value (limit 1h 0m)"],
    ["freshness", "broken.at", "critical", "broken.at: the query failed: no such table: broken"],
    [
      "freshness",
      "odd.at",
      "warning",
      'odd.at: the newest value "soon" is no time (expected epoch seconds or milliseconds, ISO 8601 text or a timestamp)',
    ],
    ["sql-check", "queue", "ok", 'check "queue" is 10 (warning above 10, critical above 100)'],
    ["sql-check", "warn", "warning", 'check "warn" is 11 (warning above 10, critical above 100)'],
    ["sql-check", "crit", "critical", 'check "crit" is 101 (warning above 10, critical above 100)'],
    ["sql-check", "failing", "warning", 'check "failing" failed: syntax error'],
    ["sql-check", "failing-crit", "critical", 'check "failing-crit" failed: timeout'],
  ]);
  const unreachable = assessDatabase({ queryError: "the database cannot be reached" }, {
    ...NONE,
    maxDatabaseSize: 1,
    checks: [{ name: "c", sql: "q", critAbove: 1 }],
  }, NOW);
  assert.deepEqual(unreachable.map((c) => [c.level, c.message]), [
    ["warning", "size: cannot be checked: the database cannot be reached"],
    ["critical", "c: cannot be checked: the database cannot be reached"],
  ]);
});

Deno.test("newestMaintenance() picks the newest maintain line of the database", () => {
  const line = (time: string, target: string, more: Partial<AuditEntry> = {}): AuditEntry => ({
    time,
    actor: "cli",
    action: "maintain",
    target,
    outcome: "ok",
    details: { integrity: "ok" },
    ...more,
  });
  const lines = [
    line("2026-11-20T00:00:00Z", "app.db", {
      outcome: "failed",
      error: "corrupt",
      details: { integrity: "failed" },
    }),
    line("2026-11-22T00:00:00Z", "app.db"),
    line("2026-11-23T00:00:00Z", "other.db", { outcome: "failed" }),
    line("2026-11-23T00:00:00Z", "app.db", { action: "verify" }),
    line("garbage", "app.db"),
  ];
  assert.deepEqual(newestMaintenance(lines, "app.db"), {
    time: new Date("2026-11-22T00:00:00Z"),
    outcome: "ok",
    integrity: "ok",
  });
  assert.equal(newestMaintenance(lines, "missing.db"), undefined);
  assert.deepEqual(newestMaintenance(lines.slice(0, 1), "app.db")?.integrity, "failed");
});

Deno.test("withDatabaseHealth() folds the database's verdict into status: the worse level wins", () => {
  const status = {
    systemHealth: "warning" as const,
    reasons: [{ level: "warning" as const, rule: "rpo" as const, message: "old" }],
  };
  const database = verdictOf([
    { rule: "freshness", name: "t.c", level: "critical", message: "stale" },
    { rule: "sql-check", name: "q", level: "ok", message: "fine" },
  ]);
  assert.equal(database.level, "critical");
  const merged = withDatabaseHealth(status, database);
  assert.equal(merged.systemHealth, "critical");
  assert.deepEqual(merged.reasons.map((r) => r.message), ["stale", "old"]);
  assert.equal(merged.databaseChecks.length, 2);
  assert.equal(withDatabaseHealth(status, verdictOf([])).systemHealth, "warning");
});
