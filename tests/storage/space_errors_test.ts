/** Which failures mean "the store is full", and what they say (table-driven). */
import assert from "node:assert/strict";
import { isOutOfSpace, outOfSpaceState } from "../../src/storage/_space_errors.ts";

function coded(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

Deno.test("isOutOfSpace() knows full disks, quotas and S3 size limits, through causes too", () => {
  const cases: [string, unknown, boolean][] = [
    ["ENOSPC", coded("ENOSPC", "No space left on device (os error 28)"), true],
    ["EDQUOT", coded("EDQUOT", "Disk quota exceeded (os error 122)"), true],
    ["EFBIG", coded("EFBIG", "File too large (os error 27)"), true],
    ["only the words", new Error("No space left on device"), true],
    ["S3 EntityTooLarge", Object.assign(new Error(""), { name: "EntityTooLarge" }), true],
    ["Ceph QuotaExceeded", Object.assign(new Error(""), { name: "QuotaExceeded" }), true],
    ["a cause", new Error("wrapped", { cause: coded("ENOSPC", "x") }), true],
    ["permission denied", coded("EACCES", "Permission denied (os error 13)"), false],
    ["a database error", new Error("database is locked"), false],
    ["not an error", "ENOSPC", false],
    ["undefined", undefined, false],
  ];
  for (const [what, error, expected] of cases) assert.equal(isOutOfSpace(error), expected, what);
});

Deno.test("outOfSpaceState() names a full disk, a quota or a size limit", () => {
  const cases: [unknown, string][] = [
    [coded("ENOSPC", "No space left on device (os error 28)"), "no space left on the device"],
    [coded("EDQUOT", "Disk quota exceeded"), "the quota is exhausted"],
    [Object.assign(new Error(""), { name: "QuotaExceeded" }), "the quota is exhausted"],
    [
      Object.assign(new Error(""), { name: "EntityTooLarge" }),
      "the object is larger than the store accepts",
    ],
  ];
  for (const [error, what] of cases) {
    assert.equal(
      outOfSpaceState(error),
      `${what} (free space there, or delete old backups with cleanup)`,
    );
  }
});
