import assert from "node:assert/strict";
import { pingUrlsFromBase } from "../../../src/core/notify/pings.ts";

Deno.test("pingUrlsFromBase() appends /start and /fail and pings the base on success", () => {
  for (const base of ["https://hc-ping.com/0f1e", "https://hc-ping.com/0f1e/"]) {
    assert.deepEqual(pingUrlsFromBase(base), {
      start: "https://hc-ping.com/0f1e/start",
      success: "https://hc-ping.com/0f1e",
      fail: "https://hc-ping.com/0f1e/fail",
    });
  }
});
