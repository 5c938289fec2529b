import assert from "node:assert/strict";
import {
  assessHealth,
  DEFAULT_HEALTH_POLICY,
  type HealthBackup,
  type HealthFacts,
  type HealthPolicy,
  type HealthReason,
  severity,
} from "../../src/core/health.ts";

const NOW = new Date("2026-11-23T12:00:00Z");
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const GIB = 1024 ** 3;

let serial = 0;

/** A good full backup `ageMs` old, verified right after it was taken unless said otherwise. */
function b(
  ageMs: number,
  extra: Partial<HealthBackup> & { verified?: boolean } = {},
): HealthBackup {
  const createdAt = new Date(NOW.getTime() - ageMs);
  const { verified = true, ...rest } = extra;
  return {
    id: `full_${serial++}`,
    type: "full",
    createdAt,
    good: true,
    size: 1000,
    ...(verified ? { verifiedAt: new Date(createdAt.getTime() + MINUTE) } : {}),
    ...rest,
  };
}

/** Facts of a healthy store, with `extra` on top. */
function facts(extra: Partial<HealthFacts> = {}): HealthFacts {
  return {
    backups: [b(HOUR)],
    incompleteFiles: 0,
    databaseReachable: true,
    freeBytes: 10 * GIB,
    consecutiveFailures: 0,
    ...extra,
  };
}

const failedRun = (error?: string) => ({
  time: new Date(NOW.getTime() - HOUR),
  outcome: "failed" as const,
  ...(error ? { error } : {}),
});

const cases: {
  name: string;
  facts: HealthFacts;
  policy?: Partial<HealthPolicy>;
  level: string;
  reasons: [HealthReason["level"], HealthReason["rule"], string][];
}[] = [
  { name: "a fresh, verified backup is healthy", facts: facts(), level: "healthy", reasons: [] },
  // database
  {
    name: "an unreachable database is critical",
    facts: facts({ databaseReachable: false }),
    level: "critical",
    reasons: [["critical", "database", "the database cannot be reached"]],
  },
  {
    name: "an unchecked database raises nothing",
    facts: facts({ databaseReachable: undefined }),
    level: "healthy",
    reasons: [],
  },
  // backups
  {
    name: "no backups is critical",
    facts: facts({ backups: [] }),
    level: "critical",
    reasons: [["critical", "backups", "no backups exist"]],
  },
  {
    name: "only damaged backups is critical",
    facts: facts({ backups: [b(HOUR, { good: false })] }),
    level: "critical",
    reasons: [["critical", "backups", "no backup passes its integrity checks"]],
  },
  // RPO: warning past it, critical past twice it, boundaries included
  {
    name: "a good backup exactly RPO old is healthy",
    facts: facts({ backups: [b(DAY)] }),
    level: "healthy",
    reasons: [],
  },
  {
    name: "a good backup a minute past the RPO is a warning",
    facts: facts({ backups: [b(DAY + MINUTE)] }),
    level: "warning",
    reasons: [[
      "warning",
      "rpo",
      "the newest good backup is 24h 1m old, past the RPO (limit 24h 0m)",
    ]],
  },
  {
    name: "a good backup exactly twice the RPO old is a warning",
    facts: facts({ backups: [b(2 * DAY)] }),
    level: "warning",
    reasons: [[
      "warning",
      "rpo",
      "the newest good backup is 2d 0h old, past the RPO (limit 24h 0m)",
    ]],
  },
  {
    name: "a good backup past twice the RPO is critical",
    facts: facts({ backups: [b(2 * DAY + HOUR)] }),
    level: "critical",
    reasons: [[
      "critical",
      "rpo",
      "the newest good backup is 2d 1h old, past twice the RPO (limit 2d 0h)",
    ]],
  },
  {
    name: "the RPO is configurable",
    facts: facts({ backups: [b(2 * HOUR)] }),
    policy: { rpoMs: HOUR },
    level: "warning",
    reasons: [[
      "warning",
      "rpo",
      "the newest good backup is 2h 0m old, past the RPO (limit 1h 0m)",
    ]],
  },
  {
    name: "the RPO looks at the newest good backup, not the newest",
    facts: facts({ backups: [b(HOUR, { good: false }), b(30 * HOUR)] }),
    level: "critical",
    reasons: [
      ["critical", "integrity", "the newest backup fails its integrity checks"],
      ["warning", "rpo", "the newest good backup is 30h 0m old, past the RPO (limit 24h 0m)"],
      ["warning", "integrity", "1 backup fails integrity checks"],
    ],
  },
  // integrity and leftovers
  {
    name: "an older damaged backup is a warning",
    facts: facts({
      backups: [b(HOUR), b(50 * HOUR, { good: false }), b(60 * HOUR, { good: false })],
    }),
    level: "warning",
    reasons: [["warning", "integrity", "2 backups fail integrity checks"]],
  },
  {
    name: "files left by interrupted runs are a warning",
    facts: facts({ incompleteFiles: 2 }),
    level: "warning",
    reasons: [["warning", "incomplete", "2 leftovers from interrupted runs, 0 B: run cleanup"]],
  },
  {
    name: "store files and database scratch left by interrupted runs are counted with their size",
    facts: facts({
      incompleteFiles: 1,
      incompleteBytes: 4 * 1024 ** 2,
      scratch: { count: 1, bytes: 120 * 1024 ** 2 },
    }),
    level: "warning",
    reasons: [[
      "warning",
      "incomplete",
      "2 leftovers from interrupted runs, 124.0 MiB: run cleanup",
    ]],
  },
  {
    name: "one scratch leftover alone is a warning",
    facts: facts({ scratch: { count: 1, bytes: 2048 } }),
    level: "warning",
    reasons: [["warning", "incomplete", "1 leftover from interrupted runs, 2.0 KiB: run cleanup"]],
  },
  // last run and failures in a row
  {
    name: "a successful last run raises nothing",
    facts: facts({ lastRun: { time: NOW, outcome: "ok" } }),
    level: "healthy",
    reasons: [],
  },
  {
    name: "one failed run is a warning with its error",
    facts: facts({ lastRun: failedRun("Cannot back up: disk full"), consecutiveFailures: 1 }),
    level: "warning",
    reasons: [[
      "warning",
      "last-run",
      "the last run failed at 2026-11-23T11:00:00.000Z: Cannot back up: disk full",
    ]],
  },
  {
    name: "two failed runs in a row are still a warning",
    facts: facts({ lastRun: failedRun(), consecutiveFailures: 2 }),
    level: "warning",
    reasons: [[
      "warning",
      "last-run",
      "the last run failed at 2026-11-23T11:00:00.000Z (2 failures in a row)",
    ]],
  },
  {
    name: "three failed runs in a row are critical",
    facts: facts({ lastRun: failedRun(), consecutiveFailures: 3 }),
    level: "critical",
    reasons: [[
      "critical",
      "last-run",
      "the last run failed at 2026-11-23T11:00:00.000Z (3 failures in a row)",
    ]],
  },
  {
    name: "the failures that make it critical are configurable",
    facts: facts({ lastRun: failedRun(), consecutiveFailures: 1 }),
    policy: { criticalFailures: 1 },
    level: "critical",
    reasons: [["critical", "last-run", "the last run failed at 2026-11-23T11:00:00.000Z"]],
  },
  // verification
  {
    name: "never verified is a warning",
    facts: facts({ backups: [b(HOUR, { verified: false })] }),
    level: "warning",
    reasons: [["warning", "verification", "no good backup has been verified (run verify)"]],
  },
  {
    name: "a verified backup exactly verifyMaxAge old is healthy",
    facts: facts({ backups: [b(HOUR, { verified: false }), b(7 * DAY)] }),
    level: "healthy",
    reasons: [],
  },
  {
    name: "a verified backup past verifyMaxAge is a warning",
    facts: facts({ backups: [b(HOUR, { verified: false }), b(7 * DAY + HOUR)] }),
    level: "warning",
    reasons: [[
      "warning",
      "verification",
      "the newest verified backup is 7d 1h old (limit 7d 0h; run verify)",
    ]],
  },
  {
    name: "a verified backup that is damaged now does not count",
    facts: facts({ backups: [b(HOUR, { verified: false }), b(2 * HOUR, { good: false })] }),
    level: "warning",
    reasons: [
      ["warning", "integrity", "1 backup fails integrity checks"],
      ["warning", "verification", "no good backup has been verified (run verify)"],
    ],
  },
  {
    name: "verifyMaxAge 0 turns the verification rule off",
    facts: facts({ backups: [b(HOUR, { verified: false })] }),
    policy: { verifyMaxAgeMs: 0 },
    level: "healthy",
    reasons: [],
  },
  // size anomaly
  {
    name: "a newest full backup below half the recent median is a warning",
    facts: facts({
      backups: [b(HOUR, { size: 499 }), b(2 * HOUR), b(3 * HOUR, { size: 900 }), b(4 * HOUR)],
    }),
    level: "warning",
    reasons: [[
      "warning",
      "size",
      "the newest full backup (499 B) is 49% of the recent median (1000 B; limit 50%)",
    ]],
  },
  {
    name: "a newest full backup of exactly half the median is healthy",
    facts: facts({ backups: [b(HOUR, { size: 500 }), b(2 * HOUR), b(3 * HOUR), b(4 * HOUR)] }),
    level: "healthy",
    reasons: [],
  },
  {
    name: "fewer than three earlier full backups make no median",
    facts: facts({ backups: [b(HOUR, { size: 1 }), b(2 * HOUR), b(3 * HOUR)] }),
    level: "healthy",
    reasons: [],
  },
  {
    name: "schema backups are not compared with full ones",
    facts: facts({
      backups: [
        b(HOUR, { type: "schema", size: 10 }),
        b(2 * HOUR),
        b(3 * HOUR),
        b(4 * HOUR),
        b(5 * HOUR),
      ],
    }),
    level: "healthy",
    reasons: [],
  },
  {
    name: "the size ratio is configurable",
    facts: facts({ backups: [b(HOUR, { size: 800 }), b(2 * HOUR), b(3 * HOUR), b(4 * HOUR)] }),
    policy: { sizeAnomalyRatio: 0.9 },
    level: "warning",
    reasons: [[
      "warning",
      "size",
      "the newest full backup (800 B) is 80% of the recent median (1000 B; limit 90%)",
    ]],
  },
  {
    name: "a switch of compression is not a size anomaly when SQL sizes are recorded",
    facts: facts({
      backups: [
        b(HOUR, { size: 300, sqlSize: 5000 }),
        b(2 * HOUR, { size: 1000, sqlSize: 5000 }),
        b(3 * HOUR, { size: 1000, sqlSize: 5000 }),
        b(4 * HOUR, { size: 1000, sqlSize: 5000 }),
      ],
    }),
    level: "healthy",
    reasons: [],
  },
  {
    name: "SQL sizes that shrink are an anomaly whatever the compression",
    facts: facts({
      backups: [
        b(HOUR, { size: 1000, sqlSize: 1000 }),
        b(2 * HOUR, { size: 1000, sqlSize: 5000 }),
        b(3 * HOUR, { size: 1000, sqlSize: 5000 }),
        b(4 * HOUR, { size: 1000, sqlSize: 5000 }),
      ],
    }),
    level: "warning",
    reasons: [[
      "warning",
      "size",
      "the newest full backup (1000 B of SQL) is 20% of the recent median (4.9 KiB of SQL; limit 50%)",
    ]],
  },
  // free disk space
  {
    name: "less free space than minFreeBytes is a warning",
    facts: facts({ freeBytes: GIB - 1 }),
    level: "warning",
    reasons: [[
      "warning",
      "disk",
      "only 1024.0 MiB free in the backup directory (limit 1.0 GiB)",
    ]],
  },
  {
    name: "exactly minFreeBytes free is healthy",
    facts: facts({ freeBytes: GIB }),
    level: "healthy",
    reasons: [],
  },
  {
    name: "less free space than the newest backup takes is critical",
    facts: facts({ freeBytes: 999 }),
    level: "critical",
    reasons: [[
      "critical",
      "disk",
      "only 999 B free in the backup directory, less than the newest backup (1000 B): the next one may not fit",
    ]],
  },
  {
    name: "a store that cannot tell its free space raises nothing",
    facts: facts({ freeBytes: undefined }),
    level: "healthy",
    reasons: [],
  },
  {
    name: "minFreeBytes 0 turns the warning off",
    facts: facts({ freeBytes: 5000 }),
    policy: { minFreeBytes: 0 },
    level: "healthy",
    reasons: [],
  },
];

for (const c of cases) {
  Deno.test(`assessHealth() says ${c.name}`, () => {
    const result = assessHealth(c.facts, { ...DEFAULT_HEALTH_POLICY, ...c.policy }, NOW);
    assert.deepEqual(result.reasons.map((r) => [r.level, r.rule, r.message]), c.reasons);
    assert.equal(result.level, c.level);
  });
}

Deno.test("assessHealth() computes every figure status prints", () => {
  const backups = [
    b(5 * HOUR, { size: 300 }),
    b(1 * HOUR, { size: 100, verified: false }),
    b(3 * HOUR, { size: 200, good: false }),
    b(2 * HOUR, { size: 400, type: "schema" }),
  ];
  const { figures } = assessHealth(
    facts({
      backups,
      incompleteFiles: 1,
      lastRun: failedRun("boom"),
      consecutiveFailures: 1,
      freeBytes: 12345,
    }),
    DEFAULT_HEALTH_POLICY,
    NOW,
  );
  assert.deepEqual(figures, {
    totalBackups: 4,
    goodBackups: 3,
    damagedBackups: 1,
    incompleteFiles: 1,
    incompleteBytes: 0,
    scratchLeftovers: 0,
    scratchBytes: 0,
    lastBackupDate: "2026-11-23T11:00:00.000Z",
    lastBackupType: "full",
    lastGoodBackupDate: "2026-11-23T11:00:00.000Z",
    lastGoodBackupAgeMs: HOUR,
    totalSize: 1000,
    averageBackupSize: 250,
    lastRunDate: "2026-11-23T11:00:00.000Z",
    lastRunOutcome: "failed",
    lastRunError: "boom",
    lastRunDurationMs: null,
    consecutiveFailures: 1,
    lastVerifiedBackup: backups[3].id,
    lastVerifiedBackupDate: "2026-11-23T10:00:00.000Z",
    lastVerifiedBackupAgeMs: 2 * HOUR,
    lastVerifiedAt: "2026-11-23T10:01:00.000Z",
    newestFullBackupSize: 100,
    recentMedianSize: null,
    freeBytes: 12345,
    databaseReachable: true,
    destinations: [],
  });
});

Deno.test("assessHealth() takes the median of at most the seven full backups before the newest", () => {
  const sizes = [100, 9000, 9000, 9000, 9000, 10, 10, 10, 10]; // newest first; the last is outside
  const backups = sizes.map((size, i) => b((i + 1) * HOUR, { size }));
  const { figures } = assessHealth(facts({ backups }), DEFAULT_HEALTH_POLICY, NOW);
  assert.equal(figures.newestFullBackupSize, 100);
  assert.equal(figures.recentMedianSize, 9000);
});

Deno.test("assessHealth() averages the two middle sizes of an even window", () => {
  const backups = [b(HOUR), b(2 * HOUR, { size: 100 }), b(3 * HOUR, { size: 200 })]
    .concat([b(4 * HOUR, { size: 301 }), b(5 * HOUR, { size: 400 })]);
  const { figures } = assessHealth(facts({ backups }), DEFAULT_HEALTH_POLICY, NOW);
  assert.equal(figures.recentMedianSize, 251);
});

Deno.test("assessHealth() lists critical reasons before warnings", () => {
  const result = assessHealth(
    facts({ incompleteFiles: 1, databaseReachable: false }),
    DEFAULT_HEALTH_POLICY,
    NOW,
  );
  assert.deepEqual(result.reasons.map((r) => r.level), ["critical", "warning"]);
});

Deno.test("severity() orders healthy < warning < critical as the Nagios exit codes", () => {
  assert.deepEqual(["healthy", "warning", "critical"].map((l) => severity(l as never)), [0, 1, 2]);
});
