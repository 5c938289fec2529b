import assert from "node:assert/strict";
import { checkRestored, restoredDifference } from "../../src/engines/restore_check.ts";
import { readLimits } from "../../src/engines/read_limits.ts";
import { IntegrityError } from "../../src/core/errors.ts";

const expected = {
  tables: [
    { name: "orders", rows: 340_000, bytes: 9_000_000 },
    { name: "users", rows: 0, bytes: 0 },
  ],
  rawBytes: 10_000_000,
};

Deno.test("restoredDifference() names the first difference from the sidecar", () => {
  const cases: [string, [string, number][], boolean, string | undefined][] = [
    ["the same tables and rows", [["orders", 340_000], ["users", 0]], false, undefined],
    [
      "a different count",
      [["orders", 12], ["users", 0]],
      false,
      'restored table "orders" has 12 rows, the backup\'s sidecar says 340,000',
    ],
    [
      "a missing table",
      [["orders", 340_000]],
      false,
      'table "users" of the backup\'s sidecar is not in the restored database',
    ],
    [
      "an extra table",
      [["orders", 340_000], ["users", 0], ["zz", 1], ["aa", 0]],
      false,
      'restored table "aa" is not in the backup\'s sidecar',
    ],
    ["only loaded tables: an empty one need not appear", [["orders", 340_000]], true, undefined],
    [
      "only loaded tables: a table with rows that got none",
      [["users", 0]],
      true,
      'restored table "orders" has 0 rows, the backup\'s sidecar says 340,000',
    ],
  ];
  for (const [name, restored, onlyLoaded, difference] of cases) {
    assert.equal(
      restoredDifference(expected, new Map(restored), { onlyLoaded }),
      difference,
      name,
    );
  }
});

Deno.test("checkRestored() throws an IntegrityError saying nothing was replaced, and passes without a sidecar", () => {
  assert.throws(
    () => checkRestored(expected, new Map([["orders", 12], ["users", 0]])),
    (error: Error) => {
      assert.ok(error instanceof IntegrityError);
      assert.equal(
        error.message,
        'Cannot restore: restored table "orders" has 12 rows, the backup\'s sidecar says 340,000 (the SQL is not what the sidecar describes; nothing was replaced)',
      );
      return true;
    },
  );
  checkRestored(undefined, new Map([["anything", 1]]));
});

Deno.test("readLimits() bounds the SQL by the raw size and a statement by the largest table", () => {
  const cases: [string, Parameters<typeof readLimits>[0], number, number][] = [
    ["no sidecar", undefined, Infinity, 1_000_000_000],
    [
      "small tables: 16 MiB",
      { tables: [{ name: "t", rows: 1, bytes: 10 }], rawBytes: 100 },
      100 + (1 << 20),
      16 << 20,
    ],
    ["no tables", { tables: [], rawBytes: 0 }, 1 << 20, 16 << 20],
    [
      "a table of one 300 MB blob",
      { tables: [{ name: "t", rows: 1, bytes: 300_000_000 }], rawBytes: 300_001_000 },
      300_001_000 + (1 << 20),
      300_000_000 + (1 << 20),
    ],
    [
      "a forged 4 GB table: at most SQLite's limit",
      { tables: [{ name: "t", rows: 1, bytes: 4e9 }], rawBytes: 4e9 },
      4e9 + (1 << 20),
      1_000_000_000,
    ],
  ];
  for (const [name, sidecar, sql, statement] of cases) {
    assert.deepEqual(readLimits(sidecar), { maxSqlBytes: sql, maxStatementBytes: statement }, name);
  }
});

Deno.test("checkRestored() leaves the comparison to the caller when asked to", () => {
  checkRestored({ ...expected, compare: false }, new Map([["orders", 12]]));
});
