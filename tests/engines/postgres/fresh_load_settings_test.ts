/**
 * `onlySettings()`: only a batch of nothing but `SET`s runs on every lane of a parallel load. A
 * script with nothing for `--clean` to drop batches its header's settings with the statements
 * after them (grants on catalogs): run on both lanes, those failed "tuple concurrently updated".
 */
import assert from "node:assert/strict";
import { onlySettings } from "../../../src/engines/postgres/_fresh_load.ts";

const cases: [string, boolean][] = [
  ["SET statement_timeout = 0;\nSELECT pg_catalog.set_config('search_path', '', false);\n", true],
  ["SET lock_timeout = 0;\nGRANT SELECT (rolname) ON TABLE pg_catalog.pg_authid TO a;\n", false],
  ["SET x = 1;\n/* backup-manager:acl */ REVOKE ALL ON FUNCTION f() FROM PUBLIC;\n", false],
  ["CREATE TABLE t (id int);\n", false],
  ["\n", false],
];

for (const [sql, expected] of cases) {
  Deno.test(`onlySettings() is ${expected} for ${JSON.stringify(sql.slice(0, 40))}`, () => {
    assert.equal(onlySettings(sql), expected);
  });
}
