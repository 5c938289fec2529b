import assert from "node:assert/strict";
import { assessHealth, formatAge, type HealthInput } from "../../src/core/health.ts";

const NOW = new Date("2026-11-23T12:00:00Z");
const HOUR = 60 * 60 * 1000;

function b(hoursAgo: number, good = true, size = 100): HealthInput {
  return { type: "full", createdAt: new Date(NOW.getTime() - hoursAgo * HOUR), good, size };
}

const cases: {
  name: string;
  backups: HealthInput[];
  options?: Parameters<typeof assessHealth>[2];
  health: string;
  reason?: string;
}[] = [
  { name: "no backups is critical", backups: [], health: "critical", reason: "no backups exist" },
  { name: "a fresh good backup is healthy", backups: [b(1)], health: "healthy" },
  {
    name: "a good backup older than 24 h is a warning",
    backups: [b(30)],
    health: "warning",
    reason: "the newest good backup is 30h 0m old (limit 24h 0m)",
  },
  {
    name: "a good backup older than 48 h is critical",
    backups: [b(72)],
    health: "critical",
    reason: "the newest good backup is 3d 0h old (limit 2d 0h)",
  },
  {
    name: "only damaged backups is critical",
    backups: [b(1, false)],
    health: "critical",
    reason: "no backup passes its integrity checks",
  },
  {
    name: "a damaged newest backup is critical",
    backups: [b(1, false), b(2)],
    health: "critical",
    reason: "the newest backup fails its integrity checks",
  },
  {
    name: "an old damaged backup is a warning",
    backups: [b(1), b(50, false)],
    health: "warning",
    reason: "1 backup fails integrity checks",
  },
  {
    name: "leftover partial files are a warning",
    backups: [b(1)],
    options: { incompleteFiles: 2 },
    health: "warning",
    reason: "2 incomplete file(s) from interrupted runs (run cleanup)",
  },
  {
    name: "a missing database is critical",
    backups: [b(1)],
    options: { databaseReachable: false },
    health: "critical",
    reason: "the database cannot be found",
  },
];

for (const c of cases) {
  Deno.test(`assessHealth() says ${c.name}`, () => {
    const report = assessHealth(c.backups, NOW, c.options);
    assert.equal(report.systemHealth, c.health);
    if (c.reason) assert.ok(report.reasons.includes(c.reason), report.reasons.join(" | "));
    else assert.deepEqual(report.reasons, []);
  });
}

Deno.test("assessHealth() computes the figures status prints", () => {
  const report = assessHealth([b(5, true, 300), b(1, true, 100), b(3, false, 200)], NOW);
  assert.equal(report.totalBackups, 3);
  assert.equal(report.goodBackups, 2);
  assert.equal(report.lastBackupDate, "2026-11-23T11:00:00.000Z");
  assert.equal(report.lastBackupType, "full");
  assert.equal(report.totalSize, 600);
  assert.equal(report.averageBackupSize, 200);
});

Deno.test("formatAge() writes ages for people", () => {
  assert.equal(formatAge(5 * 60_000), "5m");
  assert.equal(formatAge(3 * HOUR + 5 * 60_000), "3h 5m");
  assert.equal(formatAge(50 * HOUR), "2d 2h");
});
