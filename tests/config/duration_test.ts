import assert from "node:assert/strict";
import { formatDuration, parseDuration, parseTimeout } from "../../src/config/duration.ts";

const cases: [string, number | undefined][] = [
  ["90s", 90_000],
  ["15m", 900_000],
  ["6h", 21_600_000],
  ["7d", 604_800_000],
  ["2w", 1_209_600_000],
  ["500ms", 500],
  ["1h30m", 5_400_000],
  [" 1d12h ", 129_600_000],
  ["0s", 0],
  ["6", undefined],
  ["", undefined],
  ["6 h", undefined],
  ["-5m", undefined],
  ["1.5h", undefined],
  ["6x", undefined],
  ["h", undefined],
  ["99999999999999999999d", undefined],
];

for (const [text, expected] of cases) {
  Deno.test(`parseDuration() reads ${JSON.stringify(text)} as ${expected}`, () => {
    assert.equal(parseDuration(text), expected);
  });
}

Deno.test("formatDuration() writes what parseDuration() reads back", () => {
  for (const ms of [0, 500, 90_000, 5_400_000, 604_800_000, 694_861_001]) {
    assert.equal(parseDuration(formatDuration(ms)), ms, String(ms));
  }
  assert.equal(formatDuration(5_400_000), "1h30m");
});

Deno.test("parseTimeout() reads durations, and off or 0 as no timeout", () => {
  const timeouts: [string, number | undefined][] = [
    ["10m", 600_000],
    ["2s", 2_000],
    ["off", 0],
    ["OFF", 0],
    [" 0 ", 0],
    ["0s", 0],
    ["10", undefined],
    ["never", undefined],
    ["", undefined],
  ];
  for (const [text, expected] of timeouts) assert.equal(parseTimeout(text), expected, text);
});
