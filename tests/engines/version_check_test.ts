/**
 * The version check before a restore (`version_check.ts`): pure, so every case is a row.
 */
import assert from "node:assert/strict";
import {
  checkPostgresTarget,
  checkSqliteTarget,
  compareVersions,
  parseVersion,
  SQLITE_FEATURES,
} from "../../src/engines/version_check.ts";

Deno.test("parseVersion() reads the leading numbers of server and library versions", () => {
  const cases: [string, number[] | undefined][] = [
    ["15.4 (Debian 15.4-1.pgdg120+1)", [15, 4]],
    ["9.6.24", [9, 6, 24]],
    ["17devel", [17]],
    ["3.53.0", [3, 53, 0]],
    ["", undefined],
    ["unknown", undefined],
  ];
  for (const [text, expected] of cases) assert.deepEqual(parseVersion(text), expected, text);
});

Deno.test("compareVersions() orders versions number by number", () => {
  const cases: [number[], number[], number][] = [
    [[3, 37, 0], [3, 37], 0],
    [[3, 9], [3, 37], -1],
    [[15, 4], [9, 6, 24], 1],
    [[16], [16, 0, 1], -1],
  ];
  for (const [a, b, sign] of cases) {
    assert.equal(Math.sign(compareVersions(a, b)), sign, `${a} ${b}`);
  }
});

Deno.test("checkPostgresTarget() refuses only an older major version", () => {
  const cases: [string, string, string | undefined][] = [
    ["15.4", "15.4", undefined],
    ["15.10 (Debian 15.10-0+deb12u1)", "15.2", undefined], // minor versions create the same
    ["15.4", "16.1", undefined],
    ["9.6.24", "10.1", undefined],
    ["9.6.24", "9.6.1", undefined],
    ["weird", "15.4", undefined], // unreadable: not judged
    [
      "17.2 (Debian 17.2-1.pgdg120+1)",
      "15.10 (Debian 15.10-0+deb12u1)",
      "it was taken from PostgreSQL 17 (17.2) and the target server runs the older PostgreSQL 15 (15.10), which may not create what it holds",
    ],
    [
      "10.1",
      "9.6.24",
      "it was taken from PostgreSQL 10 (10.1) and the target server runs the older PostgreSQL 9.6 (9.6.24), which may not create what it holds",
    ],
    [
      "9.6.2",
      "9.5.9",
      "it was taken from PostgreSQL 9.6 (9.6.2) and the target server runs the older PostgreSQL 9.5 (9.5.9), which may not create what it holds",
    ],
  ];
  for (const [source, target, expected] of cases) {
    assert.equal(
      checkPostgresTarget({ engineVersion: source }, target),
      expected,
      `${source} -> ${target}`,
    );
  }
});

Deno.test("checkSqliteTarget() names every feature the library is too old for, newest first", () => {
  const cases: [string[] | undefined, string, string | undefined][] = [
    [undefined, "3.30.0", undefined], // an older backup records nothing: not judged
    [[], "3.30.0", undefined],
    [["strict"], "3.37.0", undefined],
    [["strict", "generated-columns"], "3.45.1", undefined],
    [["not-known-here"], "3.8.0", undefined],
    [
      ["strict"],
      "3.36.0",
      "the SQLite library here is 3.36.0 and cannot create STRICT tables (3.37.0), which its schema uses",
    ],
    [
      ["generated-columns", "strict", "fts5-contentless-delete", "function:unixepoch"],
      "3.35.5",
      "the SQLite library here is 3.35.5 and cannot create FTS5 contentless_delete tables (3.43.0), unixepoch() (3.38.0) and STRICT tables (3.37.0), which its schema uses",
    ],
  ];
  for (const [features, target, expected] of cases) {
    assert.equal(
      checkSqliteTarget({ engineVersion: "3.53.0", features }, target),
      expected,
      `${features} on ${target}`,
    );
  }
});

Deno.test("SQLITE_FEATURES names a readable release for every feature", () => {
  for (const [id, feature] of Object.entries(SQLITE_FEATURES)) {
    assert.equal(parseVersion(feature.since)?.length, 3, id);
    assert.ok(compareVersions(parseVersion(feature.since)!, [3, 8, 2]) > 0, id);
  }
});
