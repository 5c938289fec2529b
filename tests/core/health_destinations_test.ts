import assert from "node:assert/strict";
import { assessDestinations, type DestinationFacts } from "../../src/core/health_destinations.ts";

const HOUR = 60 * 60 * 1000;
const NOW = new Date("2026-12-02T12:00:00Z");
const RPO = 24 * HOUR;
const at = (hoursAgo: number) => new Date(NOW.getTime() - hoursAgo * HOUR);
const dest = (extra: Partial<DestinationFacts> = {}): DestinationFacts => ({
  location: "s3://acme/db-1",
  goodCopies: 3,
  newestGoodAt: at(2),
  incompleteFiles: 0,
  ...extra,
});

const cases: { name: string; facts: DestinationFacts; reasons: string[] }[] = [
  { name: "a destination with a fresh copy of the newest backup", facts: dest(), reasons: [] },
  {
    name: "a destination that cannot be listed",
    facts: dest({ goodCopies: 0, newestGoodAt: undefined, error: "Cannot list: access denied" }),
    reasons: [
      'warning: copy destination "s3://acme/db-1" cannot be read: Cannot list: access denied',
    ],
  },
  {
    name: "a destination with no copy yet",
    facts: dest({ goodCopies: 0, newestGoodAt: undefined, missingNewest: "full_x" }),
    reasons: ['warning: copy destination "s3://acme/db-1" holds no good copy yet'],
  },
  {
    name: "a destination whose newest copy is past the RPO",
    facts: dest({ newestGoodAt: at(25) }),
    reasons: [
      'warning: copy destination "s3://acme/db-1": the newest copy is 25h 0m old, past the RPO (limit 24h 0m)',
    ],
  },
  {
    name: "a destination exactly at the RPO",
    facts: dest({ newestGoodAt: at(24) }),
    reasons: [],
  },
  {
    name: "a destination that lacks the newest backup",
    facts: dest({ missingNewest: "full_20261202T110000000Z" }),
    reasons: [
      'warning: copy destination "s3://acme/db-1" lags: the newest backup "full_20261202T110000000Z" is not copied yet',
    ],
  },
  {
    name: "a destination with uploads left incomplete",
    facts: dest({ incompleteFiles: 2 }),
    reasons: [
      'warning: copy destination "s3://acme/db-1" has 2 incomplete upload(s) from interrupted runs (run cleanup)',
    ],
  },
];

for (const c of cases) {
  Deno.test(`assessDestinations() on ${c.name}`, () => {
    const { reasons } = assessDestinations([c.facts], RPO, NOW);
    assert.deepEqual(reasons.map((r) => `${r.level}: ${r.message}`), c.reasons);
  });
}

Deno.test("assessDestinations() gives each destination's figures", () => {
  const { figures } = assessDestinations(
    [dest(), dest({ location: "/mnt/usb", goodCopies: 0, newestGoodAt: undefined })],
    RPO,
    NOW,
  );
  assert.deepEqual(figures, [
    {
      location: "s3://acme/db-1",
      goodCopies: 3,
      newestGoodCopyDate: "2026-12-02T10:00:00.000Z",
      newestGoodCopyAgeMs: 2 * HOUR,
      missingNewest: null,
      incompleteFiles: 0,
      error: null,
    },
    {
      location: "/mnt/usb",
      goodCopies: 0,
      newestGoodCopyDate: null,
      newestGoodCopyAgeMs: null,
      missingNewest: null,
      incompleteFiles: 0,
      error: null,
    },
  ]);
});
