import assert from "node:assert/strict";
import { toApiError } from "../../src/api/http_errors.ts";
import {
  InterruptedError,
  LockBusyError,
  StalledError,
  StorageError,
} from "../../src/core/errors.ts";

Deno.test("toApiError() answers each kind of failure with its status and code", () => {
  const cases: [Error, number, string][] = [
    [
      new StalledError("Stalled: no progress for 10 min while dumping the database"),
      504,
      "stalled",
    ],
    [new InterruptedError("Stopped"), 503, "interrupted"],
    [new LockBusyError("busy"), 409, "busy"],
    [new StorageError("Cannot write"), 502, "storage"],
    [new Error("secret detail"), 500, "internal"],
  ];
  for (const [error, status, code] of cases) {
    const answer = toApiError(error);
    assert.deepEqual([answer.status, answer.code], [status, code], error.constructor.name);
  }
  assert.equal(
    toApiError(new StalledError("Stalled: no progress")).message,
    "Stalled: no progress",
  );
});
