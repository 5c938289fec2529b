import assert from "node:assert/strict";
import { formatAge, formatBytes } from "../../src/core/units.ts";

const HOUR = 60 * 60 * 1000;

Deno.test("formatAge() writes ages for people", () => {
  for (
    const [ms, text] of [
      [0, "0m"],
      [5 * 60_000, "5m"],
      [59 * 60_000 + 59_999, "59m"],
      [3 * HOUR + 5 * 60_000, "3h 5m"],
      [47 * HOUR + 59 * 60_000, "47h 59m"],
      [50 * HOUR, "2d 2h"],
    ] as const
  ) {
    assert.equal(formatAge(ms), text);
  }
});

Deno.test("formatBytes() uses binary units with one decimal", () => {
  for (
    const [bytes, text] of [
      [0, "0 B"],
      [1023, "1023 B"],
      [1536, "1.5 KiB"],
      [1024 ** 3, "1.0 GiB"],
    ] as const
  ) {
    assert.equal(formatBytes(bytes), text);
  }
});
