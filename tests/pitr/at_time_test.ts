/** `restore --at` times, table by table: zones, daylight saving edges, ISO forms, mistakes. */
import assert from "node:assert/strict";
import { parseAtTime } from "../../src/pitr/at_time.ts";
import { UsageError } from "../../src/core/errors.ts";

Deno.test("parseAtTime() reads wall times in a zone, ISO times with their own zone, and latest", () => {
  const cases: [string, string, string][] = [
    ["2026-12-02 14:03:27", "UTC", "2026-12-02T14:03:27.000Z"],
    ["2026-12-02 14:03:27", "Europe/Berlin", "2026-12-02T13:03:27.000Z"],
    ["2026-07-02 14:03:27", "Europe/Berlin", "2026-07-02T12:03:27.000Z"],
    ["2026-12-02T14:03", "America/New_York", "2026-12-02T19:03:00.000Z"],
    ["2026-12-02 14:03:27.5", "UTC", "2026-12-02T14:03:27.500Z"],
    ["2026-12-02T14:03:27Z", "Europe/Berlin", "2026-12-02T14:03:27.000Z"],
    ["2026-12-02 14:03:27+02:00", "UTC", "2026-12-02T12:03:27.000Z"],
    // autumn: 02:30 happens twice in Berlin; the first is meant
    ["2026-10-25 02:30:00", "Europe/Berlin", "2026-10-25T00:30:00.000Z"],
    ["2026-03-29 03:30:00", "Europe/Berlin", "2026-03-29T01:30:00.000Z"],
  ];
  for (const [text, zone, iso] of cases) {
    assert.equal((parseAtTime(text, zone) as Date).toISOString(), iso, `${text} ${zone}`);
  }
  assert.equal(parseAtTime("latest", "UTC"), "latest");
  assert.equal(parseAtTime(" LATEST ", "UTC"), "latest");
});

Deno.test("parseAtTime() refuses what names no moment, in one line", () => {
  const cases: [string, string][] = [
    ["yesterday", "UTC"],
    ["2026-13-01 00:00:00", "UTC"],
    ["2026-12-02 25:00", "UTC"],
    ["2026-12-02", "UTC"],
    ["2026-03-29 02:30:00", "Europe/Berlin"], // skipped by the spring change
  ];
  for (const [text, zone] of cases) {
    assert.throws(() => parseAtTime(text, zone), (e: Error) => {
      assert.ok(e instanceof UsageError, text);
      assert.match(e.message, /^Invalid value ".*" for --at: /);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  }
});
