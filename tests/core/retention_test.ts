import assert from "node:assert/strict";
import {
  applyRetention,
  describePolicy,
  type RetentionCandidate,
  type RetentionPolicy,
} from "../../src/core/retention.ts";

const NOW = new Date("2026-11-23T12:00:00Z");
const DAY = 24 * 60 * 60 * 1000;

/** A good full backup `daysAgo` days before NOW. */
function backup(id: string, daysAgo: number, good = true, type = "full"): RetentionCandidate {
  return { id, type, createdAt: new Date(NOW.getTime() - daysAgo * DAY), good };
}

/** A good full backup at an instant. */
function at(id: string, iso: string, extra: Partial<RetentionCandidate> = {}): RetentionCandidate {
  return { id, type: "full", createdAt: new Date(iso), good: true, ...extra };
}

function deletedIds(
  backups: RetentionCandidate[],
  policy: RetentionPolicy,
  zone = "UTC",
  now = NOW,
): string[] {
  const plan = applyRetention(backups, policy, now, zone);
  assert.equal(plan.decisions.length, backups.length);
  for (const d of plan.decisions) assert.ok(d.reasons.length > 0, `${d.id} has a reason`);
  return plan.decisions.filter((d) => d.action === "delete").map((d) => d.id).sort();
}

const cases: {
  name: string;
  backups: RetentionCandidate[];
  policy: RetentionPolicy;
  zone?: string;
  now?: string;
  deleted: string[];
}[] = [
  {
    name: "an empty policy deletes nothing",
    backups: [backup("a", 1), backup("b", 100), backup("c", 1000)],
    policy: {},
    deleted: [],
  },
  {
    name: "keepLast keeps the newest N of each type",
    backups: [backup("a", 1), backup("b", 2), backup("c", 3), backup("s", 4, true, "schema")],
    policy: { keepLast: 2 },
    deleted: ["c"],
  },
  {
    name: "keepDays keeps backups younger than N days",
    backups: [backup("a", 1), backup("b", 6.9), backup("c", 7.1)],
    policy: { keepDays: 7 },
    deleted: ["c"],
  },
  {
    name: "a backup exactly N days old is deleted by keepDays",
    backups: [backup("a", 0), backup("b", 7)],
    policy: { keepDays: 7 },
    deleted: ["b"],
  },
  {
    name: "rules combine: kept when any rule keeps it",
    backups: [backup("a", 1), backup("b", 10), backup("c", 20), backup("d", 40)],
    policy: { keepDays: 15, keepLast: 3 },
    deleted: ["d"],
  },
  {
    name: "the newest good backup is kept even when every rule would delete it",
    backups: [backup("a", 100), backup("b", 200)],
    policy: { keepDays: 1, keepLast: 0 },
    deleted: ["b"],
  },
  {
    name: "backups that are not good never count towards keepLast",
    backups: [backup("g1", 1), backup("bad1", 2, false), backup("bad2", 3, false), backup("g2", 4)],
    policy: { keepLast: 2 },
    deleted: ["bad1", "bad2"],
  },
  {
    name: "bad backups are kept while younger than keepDays",
    backups: [backup("g", 1), backup("bad", 2, false)],
    policy: { keepDays: 7 },
    deleted: [],
  },
  {
    name: "keepDaily keeps the newest of each of the last N days that have a backup",
    backups: [
      at("d3-late", "2026-11-23T09:00:00Z"),
      at("d3-early", "2026-11-23T01:00:00Z"),
      at("d2", "2026-11-22T12:00:00Z"),
      at("d0", "2026-11-19T12:00:00Z"), // a gap: periods without backups do not count
      at("older", "2026-11-18T12:00:00Z"),
    ],
    policy: { keepDaily: 3 },
    deleted: ["d3-early", "older"],
  },
  {
    name: "a bad backup does not fill a day: the newest good one of that day does",
    backups: [
      at("today", "2026-11-23T09:00:00Z"),
      at("yesterday-bad", "2026-11-22T20:00:00Z", { good: false }),
      at("yesterday-good", "2026-11-22T08:00:00Z"),
    ],
    policy: { keepDaily: 2 },
    deleted: ["yesterday-bad"],
  },
  ...[["UTC", ["c"]], ["America/New_York", ["c"]], ["Europe/Berlin", ["b"]]].map((
    [zone, deleted],
  ) => ({
    name: `keepDaily counts days in ${zone}`,
    zone: zone as string,
    backups: [
      at("a", "2026-11-23T10:00:00Z"),
      at("b", "2026-11-22T23:30:00Z"), // Nov 23 00:30 in Berlin, Nov 22 elsewhere
      at("c", "2026-11-22T22:30:00Z"), // Nov 22 in every zone here
    ],
    policy: { keepDaily: 2 },
    deleted: deleted as string[],
  })),
  ...[["UTC", ["c"]], ["Pacific/Auckland", ["b"]]].map(([zone, deleted]) => ({
    name: `keepYearly counts years in ${zone}`,
    zone: zone as string,
    backups: [
      at("a", "2026-06-01T00:00:00Z"),
      at("b", "2025-12-31T11:30:00Z"), // 2026-01-01 00:30 in Auckland
      at("c", "2025-12-31T10:30:00Z"), // 2025-12-31 23:30 in Auckland
    ],
    policy: { keepYearly: 2 },
    deleted: deleted as string[],
  })),
  {
    name: "keepMonthly counts months in Europe/Berlin",
    zone: "Europe/Berlin",
    backups: [
      at("nov", "2026-11-20T10:00:00Z"),
      at("nov-1st", "2026-10-31T23:30:00Z"), // Nov 1 00:30 CET
      at("oct", "2026-10-31T22:30:00Z"), // Oct 31 23:30 CET
    ],
    policy: { keepMonthly: 2 },
    deleted: ["nov-1st"],
  },
  {
    name: "keepWeekly uses ISO weeks that start on Monday, across a year boundary",
    now: "2027-01-05T00:00:00Z",
    backups: [
      at("mon-w01", "2027-01-04T08:00:00Z"),
      at("sun-w53", "2027-01-03T08:00:00Z"),
      at("thu-w53", "2026-12-31T08:00:00Z"),
      at("mon-w53", "2026-12-28T08:00:00Z"),
      at("sun-w52", "2026-12-27T08:00:00Z"),
    ],
    policy: { keepWeekly: 3 },
    deleted: ["mon-w53", "thu-w53"],
  },
  {
    name: "keepWeekly counts weeks in the zone: Sunday night in UTC is Monday in Berlin",
    zone: "Europe/Berlin",
    backups: [
      at("mon", "2026-11-23T10:00:00Z"),
      at("sun-night", "2026-11-22T23:30:00Z"), // Monday 00:30 in Berlin
      at("sat", "2026-11-21T10:00:00Z"),
    ],
    policy: { keepWeekly: 2 },
    deleted: ["sun-night"],
  },
  {
    name: "spring forward (Berlin): the hours before and after the gap are two hours, one day",
    zone: "Europe/Berlin",
    now: "2026-03-29T12:00:00Z",
    backups: [
      at("after", "2026-03-29T01:30:00Z"), // 03:30 CEST
      at("before", "2026-03-29T00:30:00Z"), // 01:30 CET
      at("eve", "2026-03-28T22:30:00Z"), // 23:30 CET on the 28th
    ],
    policy: { keepHourly: 2 },
    deleted: ["eve"],
  },
  {
    name: "spring forward (Berlin): the 23-hour day keeps one daily backup",
    zone: "Europe/Berlin",
    now: "2026-03-29T23:00:00Z",
    backups: [
      at("late", "2026-03-29T21:30:00Z"), // 23:30 CEST, still the 29th
      at("after", "2026-03-29T01:30:00Z"),
      at("before", "2026-03-29T00:30:00Z"),
      at("eve", "2026-03-28T22:30:00Z"),
    ],
    policy: { keepDaily: 2 },
    deleted: ["after", "before"],
  },
  {
    name: "fall back (New York): two backups in the repeated hour are two hourly slots",
    zone: "America/New_York",
    now: "2026-11-01T12:00:00Z",
    backups: [
      at("est-0140", "2026-11-01T06:40:00Z"), // 01:40 EST
      at("est-0130", "2026-11-01T06:30:00Z"), // 01:30 EST
      at("edt-0130", "2026-11-01T05:30:00Z"), // 01:30 EDT
      at("edt-0030", "2026-11-01T04:30:00Z"), // 00:30 EDT
    ],
    policy: { keepHourly: 2 },
    deleted: ["edt-0030", "est-0130"],
  },
  {
    name: "fall back (New York): the 25-hour day keeps one daily backup",
    zone: "America/New_York",
    now: "2026-11-02T12:00:00Z",
    backups: [
      at("late", "2026-11-02T04:30:00Z"), // 23:30 EST on Nov 1
      at("est-0130", "2026-11-01T06:30:00Z"),
      at("edt-0130", "2026-11-01T05:30:00Z"),
      at("oct31", "2026-11-01T03:30:00Z"), // 23:30 EDT on Oct 31
    ],
    policy: { keepDaily: 2 },
    deleted: ["edt-0130", "est-0130"],
  },
  {
    name: "fall back (Auckland): the repeated 02:00 hour is two hourly slots",
    zone: "Pacific/Auckland",
    now: "2026-04-05T00:00:00Z",
    backups: [
      at("nzst", "2026-04-04T14:30:00Z"),
      at("nzdt", "2026-04-04T13:30:00Z"),
      at("nzdt-early", "2026-04-04T13:10:00Z"),
    ],
    policy: { keepHourly: 5 },
    deleted: ["nzdt-early"],
  },
  {
    name: "tiers combine: 2 daily and 3 weekly keep the newest of each",
    backups: [
      at("mon23", "2026-11-23T02:00:00Z"),
      at("sun22", "2026-11-22T02:00:00Z"),
      at("sat21", "2026-11-21T02:00:00Z"),
      at("sun15", "2026-11-15T02:00:00Z"),
      at("mon09", "2026-11-09T02:00:00Z"),
    ],
    policy: { keepDaily: 2, keepWeekly: 3 },
    deleted: ["mon09", "sat21"],
  },
  {
    name: "per-type rules replace the general ones for that type",
    backups: [
      backup("f1", 1),
      backup("s1", 1.5, true, "schema"),
      backup("f2", 2),
      backup("s2", 2.5, true, "schema"),
      backup("f3", 3),
    ],
    policy: { keepLast: 3, perType: { schema: { keepLast: 1 } } },
    deleted: ["s2"],
  },
  {
    name: "pre-restore backups are kept by their own rule",
    backups: [
      backup("f1", 1),
      backup("p1", 2, true, "pre-restore"),
      backup("f2", 3),
      backup("p2", 40, true, "pre-restore"),
      backup("p3", 50, true, "pre-restore"),
    ],
    policy: { keepLast: 10, preRestore: { keepDays: 30 } },
    deleted: ["p2", "p3"],
  },
  {
    name: "without a pre-restore rule, pre-restore backups follow the general rules",
    backups: [
      backup("f1", 1),
      backup("p1", 2, true, "pre-restore"),
      backup("p2", 3, true, "pre-restore"),
    ],
    policy: { keepLast: 1 },
    deleted: ["p2"],
  },
  {
    name: "a type without any rule keeps all its backups",
    backups: [
      backup("f1", 1),
      backup("f2", 2),
      backup("s1", 3, true, "schema"),
      backup("s2", 4, true, "schema"),
    ],
    policy: { perType: { schema: { keepLast: 1 } } },
    deleted: ["s2"],
  },
  {
    name: "pinned backups are never deleted",
    backups: [
      backup("a", 1),
      at("pinned", "2020-01-01T00:00:00Z", { pinned: true }),
      backup("c", 3),
    ],
    policy: { keepLast: 1 },
    deleted: ["c"],
  },
];

for (const c of cases) {
  Deno.test(`applyRetention() ${c.name}`, () => {
    assert.deepEqual(
      deletedIds(c.backups, c.policy, c.zone ?? "UTC", c.now ? new Date(c.now) : NOW),
      [...c.deleted].sort(),
    );
  });
}

Deno.test("applyRetention() returns decisions newest first with every rule that decided each", () => {
  const plan = applyRetention(
    [backup("old", 30), backup("new", 1)],
    { keepDays: 7, keepLast: 1 },
    NOW,
    "UTC",
  );
  assert.equal(plan.hold, undefined);
  assert.deepEqual(plan.decisions.map((d) => [d.id, d.action, d.reasons]), [
    ["new", "keep", [
      "newest good full backup",
      "one of the last 1 full backups (#1)",
      "younger than 7 days",
    ]],
    ["old", "delete", ["beyond the last 1 full backups", "older than 7 days"]],
  ]);
});

Deno.test("applyRetention() names the period and slot of each tier that keeps a backup", () => {
  const plan = applyRetention(
    [
      at("a", "2026-11-23T09:00:00Z"),
      at("b", "2026-11-20T09:00:00Z", { pinned: true, pinReason: "before v2" }),
    ],
    { keepDaily: 2, keepMonthly: 1, preRestore: { keepDays: 30 } },
    NOW,
    "Europe/Berlin",
  );
  assert.deepEqual(plan.decisions.map((d) => [d.id, d.pinned, d.reasons]), [
    ["a", false, [
      "newest good full backup",
      "daily: newest of 2026-11-23 (#1 of 2)",
      "monthly: newest of 2026-11 (#1 of 1)",
    ]],
    ["b", true, ["pinned: before v2", "daily: newest of 2026-11-20 (#2 of 2)"]],
  ]);
});

Deno.test("applyRetention() labels reasons of per-type and pre-restore rules", () => {
  const plan = applyRetention(
    [backup("p", 1, true, "pre-restore"), backup("s", 2, true, "schema"), backup("f", 3)],
    { keepLast: 5, preRestore: { keepDays: 30 }, perType: { schema: { keepLast: 2 } } },
    NOW,
    "UTC",
  );
  assert.deepEqual(plan.decisions.map((d) => d.reasons), [
    ["newest good pre-restore backup", "pre-restore rule: younger than 30 days"],
    ["newest good schema backup", "schema rule: one of the last 2 schema backups (#1)"],
    ["newest good full backup", "one of the last 5 full backups (#1)"],
  ]);
});

Deno.test("applyRetention() deletes nothing and says so when the policy is empty", () => {
  const plan = applyRetention([backup("a", 400), backup("b", 500, false)], {}, NOW, "UTC");
  assert.equal(plan.hold, "no retention rule set");
  assert.ok(plan.decisions.every((d) => d.action === "keep"));
  assert.ok(plan.decisions.every((d) => d.reasons.includes("no retention rule set")));
});

Deno.test("applyRetention() deletes nothing when the newest backup is not good, and says so", () => {
  const plan = applyRetention(
    [backup("bad", 1, false), backup("g1", 2), backup("g2", 300)],
    { keepLast: 1 },
    NOW,
    "UTC",
  );
  const hold = "the newest backup bad is not good: nothing is deleted until a backup succeeds";
  assert.equal(plan.hold, hold);
  assert.deepEqual(plan.decisions.map((d) => [d.id, d.action, d.reasons.at(-1)]), [
    ["bad", "keep", hold],
    ["g1", "keep", hold],
    ["g2", "keep", hold],
  ]);
});

Deno.test("applyRetention() deletes nothing when the last backup attempt failed after the newest backup", () => {
  const backups = [backup("g1", 1), backup("g2", 300)];
  const failed = { at: new Date(NOW.getTime() - 60_000), ok: false };
  const plan = applyRetention(backups, { keepLast: 1 }, NOW, "UTC", { lastAttempt: failed });
  assert.match(plan.hold ?? "", /^the last backup attempt \(.+\) failed: nothing is deleted/);
  assert.ok(plan.decisions.every((d) => d.action === "keep"));
  const earlier = { at: new Date(NOW.getTime() - 2 * DAY), ok: false };
  const recovered = applyRetention(backups, { keepLast: 1 }, NOW, "UTC", { lastAttempt: earlier });
  assert.equal(recovered.hold, undefined);
  assert.deepEqual(recovered.decisions.map((d) => d.action), ["keep", "delete"]);
});

/** A small deterministic generator, so the invariant test explores many cases reproducibly. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

Deno.test("applyRetention() keeps invariants over many generated stores and policies", () => {
  const next = random(42);
  const types = ["full", "schema", "pre-restore"];
  const zones = ["UTC", "Europe/Berlin", "America/New_York", "Pacific/Auckland"];
  const count = () => next() < 0.3 ? undefined : Math.floor(next() * 4);
  for (let round = 0; round < 300; round++) {
    const backups = Array.from({ length: 1 + Math.floor(next() * 25) }, (_, i) => ({
      id: `b${i}`,
      type: types[Math.floor(next() * 3)],
      createdAt: new Date(NOW.getTime() - Math.floor(next() * 400 * DAY)),
      good: next() < 0.85,
      pinned: next() < 0.1,
    }));
    const policy: RetentionPolicy = {
      keepLast: count(),
      keepDays: count(),
      keepHourly: count(),
      keepDaily: count(),
      keepWeekly: count(),
      keepMonthly: count(),
      keepYearly: count(),
      ...(next() < 0.3 ? { preRestore: { keepDays: count(), keepLast: count() } } : {}),
    };
    const zone = zones[round % zones.length];
    const plan = applyRetention(backups, policy, NOW, zone);
    const byId = new Map(plan.decisions.map((d) => [d.id, d]));
    const sorted = [...backups].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    for (const type of types) {
      const newestGood = sorted.find((b) => b.type === type && b.good);
      if (newestGood) assert.equal(byId.get(newestGood.id)!.action, "keep", "newest good kept");
    }
    for (const b of backups.filter((b) => b.pinned)) {
      assert.equal(byId.get(b.id)!.action, "keep", "pinned kept");
    }
    if (!sorted[0].good) {
      assert.ok(plan.decisions.every((d) => d.action === "keep"), "failed newest holds all");
    }
    for (const d of plan.decisions) {
      assert.ok(d.reasons.length > 0);
      if (!d.good && d.action === "keep" && !d.pinned && !plan.hold) {
        assert.ok(d.reasons.some((r) => r.includes("younger than")), "bad kept only by age");
      }
    }
    assert.deepEqual(applyRetention(backups, policy, NOW, zone), plan, "deterministic");
  }
});

Deno.test("describePolicy() puts the policy in words", () => {
  const table: [RetentionPolicy, string | undefined, string][] = [
    [{}, undefined, "no retention rule set: nothing is deleted"],
    [{ keepLast: 7, keepDays: 30 }, "UTC", "keep the last 7 and 30 days; pinned backups always"],
    [
      { keepLast: 7, keepDaily: 7, keepWeekly: 4, keepMonthly: 12, preRestore: { keepDays: 30 } },
      undefined,
      "keep the last 7; 7 daily, 4 weekly, 12 monthly; pre-restore backups 30 days; pinned backups always",
    ],
    [
      { keepDaily: 7, perType: { schema: { keepLast: 3 } } },
      "Europe/Berlin",
      "keep 7 daily; schema backups the last 3; pinned backups always; periods in Europe/Berlin",
    ],
    [
      { perType: { schema: { keepLast: 3 } } },
      "UTC",
      "keep schema backups the last 3; other backups all (no general rule); pinned backups always",
    ],
  ];
  for (const [policy, zone, text] of table) assert.equal(describePolicy(policy, zone), text);
});
