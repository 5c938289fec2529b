import assert from "node:assert/strict";
import {
  applyRetention,
  describePolicy,
  type RetentionCandidate,
  type RetentionPolicy,
} from "../../src/core/retention.ts";

const NOW = new Date("2026-11-23T12:00:00Z");
const DAY = 24 * 60 * 60 * 1000;

function backup(id: string, daysAgo: number, good = true, type = "full"): RetentionCandidate {
  return { id, type, createdAt: new Date(NOW.getTime() - daysAgo * DAY), good };
}

const cases: {
  name: string;
  backups: RetentionCandidate[];
  policy: RetentionPolicy;
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
    name: "a failed newest backup does not protect itself, the newest good one is kept",
    backups: [backup("bad", 10, false), backup("good", 20)],
    policy: { keepDays: 1, keepLast: 0 },
    deleted: ["bad"],
  },
  {
    name: "backups that are not good never count towards keepLast",
    backups: [backup("bad1", 1, false), backup("bad2", 2, false), backup("g1", 3), backup("g2", 4)],
    policy: { keepLast: 2 },
    deleted: ["bad1", "bad2"],
  },
  {
    name: "bad backups are kept while younger than keepDays",
    backups: [backup("bad", 1, false), backup("g", 2)],
    policy: { keepDays: 7 },
    deleted: [],
  },
];

for (const c of cases) {
  Deno.test(`applyRetention() ${c.name}`, () => {
    const decisions = applyRetention(c.backups, c.policy, NOW);
    assert.deepEqual(
      decisions.filter((d) => d.action === "delete").map((d) => d.id).sort(),
      [...c.deleted].sort(),
    );
    assert.equal(decisions.length, c.backups.length);
    for (const d of decisions) assert.ok(d.reasons.length > 0, `${d.id} has a reason`);
  });
}

Deno.test("applyRetention() returns decisions newest first with the rule that decided each", () => {
  const decisions = applyRetention([backup("old", 30), backup("new", 1)], { keepDays: 7 }, NOW);
  assert.deepEqual(decisions.map((d) => [d.id, d.action, d.reasons]), [
    ["new", "keep", ["newest good full backup", "younger than 7 days"]],
    ["old", "delete", ["older than 7 days"]],
  ]);
});

Deno.test("applyRetention() says that an empty policy keeps everything", () => {
  const [decision] = applyRetention([backup("a", 400)], {}, NOW);
  assert.equal(decision.action, "keep");
  assert.ok(decision.reasons.includes("no retention rule set"));
});

Deno.test("describePolicy() puts the policy in words", () => {
  assert.equal(describePolicy({}), "no retention rule set: keep everything");
  assert.equal(
    describePolicy({ keepLast: 7, keepDays: 30 }),
    "keep the last 7 good backups of each type, and every backup from the last 30 days; always keep the newest good backup",
  );
});
