import assert from "node:assert/strict";
import { isoWeek, type Period, periodOf } from "../../src/core/periods.ts";

const cases: { at: string; zone: string; period: Period; expected: string; why: string }[] = [
  {
    at: "2026-11-23T10:15:00Z",
    zone: "UTC",
    period: "hourly",
    expected: "2026-11-23 10:00 GMT",
    why: "UTC hour",
  },
  {
    at: "2026-11-22T23:30:00Z",
    zone: "UTC",
    period: "daily",
    expected: "2026-11-22",
    why: "UTC day",
  },
  {
    at: "2026-11-22T23:30:00Z",
    zone: "Europe/Berlin",
    period: "daily",
    expected: "2026-11-23",
    why: "already tomorrow in Berlin",
  },
  {
    at: "2026-11-22T23:30:00Z",
    zone: "UTC",
    period: "weekly",
    expected: "2026-W47",
    why: "Sunday ends the ISO week",
  },
  {
    at: "2026-11-22T23:30:00Z",
    zone: "Europe/Berlin",
    period: "weekly",
    expected: "2026-W48",
    why: "Monday in Berlin starts the next week",
  },
  {
    at: "2026-11-23T03:00:00Z",
    zone: "America/New_York",
    period: "daily",
    expected: "2026-11-22",
    why: "still yesterday in New York",
  },
  {
    at: "2026-10-31T23:30:00Z",
    zone: "Europe/Berlin",
    period: "monthly",
    expected: "2026-11",
    why: "November in Berlin, October in UTC",
  },
  {
    at: "2026-10-31T23:30:00Z",
    zone: "UTC",
    period: "monthly",
    expected: "2026-10",
    why: "October in UTC",
  },
  {
    at: "2025-12-31T11:30:00Z",
    zone: "Pacific/Auckland",
    period: "yearly",
    expected: "2026",
    why: "New Year in Auckland (+13)",
  },
  {
    at: "2025-12-31T11:30:00Z",
    zone: "UTC",
    period: "yearly",
    expected: "2025",
    why: "still 2025 in UTC",
  },
  {
    at: "2027-01-03T12:00:00Z",
    zone: "UTC",
    period: "weekly",
    expected: "2026-W53",
    why: "2027-01-03 is in the last ISO week of 2026",
  },
  {
    at: "2027-01-04T00:00:00Z",
    zone: "UTC",
    period: "weekly",
    expected: "2027-W01",
    why: "the first Monday of 2027",
  },
  {
    at: "2024-12-30T12:00:00Z",
    zone: "UTC",
    period: "weekly",
    expected: "2025-W01",
    why: "a December Monday in week 1 of the next year",
  },
  // spring forward: Berlin skips 02:00-03:00 on 2026-03-29
  {
    at: "2026-03-29T00:30:00Z",
    zone: "Europe/Berlin",
    period: "hourly",
    expected: "2026-03-29 01:00 GMT+01:00",
    why: "the hour before the gap",
  },
  {
    at: "2026-03-29T01:30:00Z",
    zone: "Europe/Berlin",
    period: "hourly",
    expected: "2026-03-29 03:00 GMT+02:00",
    why: "the hour after the gap",
  },
  {
    at: "2026-03-29T21:59:00Z",
    zone: "Europe/Berlin",
    period: "daily",
    expected: "2026-03-29",
    why: "the 23-hour day ends at 22:00 UTC",
  },
  {
    at: "2026-03-29T22:00:00Z",
    zone: "Europe/Berlin",
    period: "daily",
    expected: "2026-03-30",
    why: "midnight CEST",
  },
  // fall back: New York repeats 01:00-02:00 on 2026-11-01
  {
    at: "2026-11-01T05:30:00Z",
    zone: "America/New_York",
    period: "hourly",
    expected: "2026-11-01 01:00 GMT-04:00",
    why: "01:30 EDT",
  },
  {
    at: "2026-11-01T06:30:00Z",
    zone: "America/New_York",
    period: "hourly",
    expected: "2026-11-01 01:00 GMT-05:00",
    why: "01:30 EST, the repeated hour",
  },
  {
    at: "2026-11-02T04:59:00Z",
    zone: "America/New_York",
    period: "daily",
    expected: "2026-11-01",
    why: "the 25-hour day ends at 05:00 UTC",
  },
  // fall back in the southern hemisphere: Auckland repeats 02:00-03:00 on 2026-04-05
  {
    at: "2026-04-04T13:30:00Z",
    zone: "Pacific/Auckland",
    period: "hourly",
    expected: "2026-04-05 02:00 GMT+13:00",
    why: "02:30 NZDT",
  },
  {
    at: "2026-04-04T14:30:00Z",
    zone: "Pacific/Auckland",
    period: "hourly",
    expected: "2026-04-05 02:00 GMT+12:00",
    why: "02:30 NZST",
  },
  {
    at: "2026-11-23T10:15:00Z",
    zone: "Asia/Kolkata",
    period: "hourly",
    expected: "2026-11-23 15:00 GMT+05:30",
    why: "a half-hour offset",
  },
];

for (const c of cases) {
  Deno.test(`periodOf() puts ${c.at} in ${c.zone} in ${c.period} period ${c.expected}: ${c.why}`, () => {
    assert.equal(periodOf(new Date(c.at), c.period, c.zone), c.expected);
  });
}

Deno.test("isoWeek() follows ISO 8601 at year boundaries", () => {
  const table: [number, number, number, number, number][] = [
    [2026, 1, 1, 2026, 1], // a Thursday: week 1
    [2021, 1, 3, 2020, 53], // a Sunday: still the last week of 2020
    [2021, 1, 4, 2021, 1],
    [2026, 12, 31, 2026, 53],
    [2019, 12, 30, 2020, 1],
  ];
  for (const [y, m, d, year, week] of table) {
    assert.deepEqual(isoWeek(y, m, d), { year, week }, `${y}-${m}-${d}`);
  }
});
