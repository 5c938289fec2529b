import assert from "node:assert/strict";
import { AssertionError } from "node:assert";
import { startCluster } from "./pg_cluster.ts";
import { assertSameDatabase, compareDatabases } from "./pg_compare.ts";
import { normaliseSchemaDump, splitStatements } from "./pg_schema_dump.ts";
import { loadFixture } from "./pg_fixture.ts";
import {
  copyWithPgDump,
  createDatabase,
  databaseUrl,
  dropDatabase,
  psql,
  quoteIdent,
  uniqueName,
} from "./pg_tools.ts";

Deno.test("splitStatements() respects quotes and dollar quotes and drops comments and meta-commands", () => {
  const cases: [string, string[]][] = [
    ["SELECT 1; SELECT 2;", ["SELECT 1;", "SELECT 2;"]],
    ["SELECT 'a;b' AS \"c;d\";", ["SELECT 'a;b' AS \"c;d\";"]],
    ["SELECT 'it''s; fine';", ["SELECT 'it''s; fine';"]],
    ["SELECT E'back\\'slash;';", ["SELECT E'back\\'slash;';"]],
    ["SELECT 'not\\';' ;", ["SELECT 'not\\';", "' ;"]],
    [
      "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; -- no\n $$ $body$ LANGUAGE sql;",
      ["CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; -- no\n $$ $body$ LANGUAGE sql;"],
    ],
    ["SELECT $$a;b$$, $1;", ["SELECT $$a;b$$, $1;"]],
    ["--\n-- Name: t; Type: TABLE\n--\n\nCREATE TABLE t (a int);", ["CREATE TABLE t (a int);"]],
    ["/* outer /* inner; */ still; */ SELECT 1;", ["SELECT 1;"]],
    ["\\restrict AbC123\n\nSELECT 1;\n\\unrestrict AbC123\n", ["SELECT 1;"]],
    ["SELECT 1", ["SELECT 1"]],
  ];
  for (const [script, expected] of cases) {
    assert.deepEqual(splitStatements(script), expected, script);
  }
});

Deno.test("normaliseSchemaDump() drops settings and sorts, so only statement changes count", () => {
  const a = "SET x = 1;\nSELECT pg_catalog.set_config('search_path', '', false);\n" +
    "CREATE TABLE b ();\n\n-- comment\nCREATE TABLE a ();\n";
  const b = "CREATE TABLE a ();\nCREATE TABLE b ();\n";
  assert.deepEqual(normaliseSchemaDump(a), normaliseSchemaDump(b));
  assert.deepEqual(normaliseSchemaDump(b), ["CREATE TABLE a ();", "CREATE TABLE b ();"]);
  assert.notDeepEqual(normaliseSchemaDump(b), normaliseSchemaDump(b.replace("b ()", "b (x int)")));
});

/** A change to a copy of the fixture and the first differences it must produce. */
interface Mutation {
  name: string;
  sql: string;
  expected: string[];
  /** Texts that some of the differences must contain. */
  rows?: string[];
}

const MUTATIONS: Mutation[] = [
  {
    name: "a float's -0 becoming 0",
    sql: "UPDATE vals.floats SET f8 = 0 WHERE id = 4",
    expected: ['table "vals"."floats": 16 rows vs 16, rows differ'],
    rows: ['(4,-0,-0,"negative zero")', '(4,-0,0,"negative zero")'],
  },
  {
    name: "the last bit of a subnormal float",
    sql: "UPDATE vals.floats SET f8 = '4.9e-324'::float8 * 2 WHERE id = 6",
    expected: ['table "vals"."floats": 16 rows vs 16, rows differ'],
  },
  {
    name: "one byte of a bytea",
    sql: "UPDATE vals.binaries SET b = set_byte(b, 100, 101) WHERE id = 1",
    expected: ['table "vals"."binaries": 7 rows vs 7, rows differ'],
  },
  {
    name: "whitespace inside a json value",
    sql: `UPDATE vals.documents SET j = replace(j::text, '"b": 1,   ', '"b": 1, ')::json
          WHERE id = 1`,
    expected: ['table "vals"."documents": 8 rows vs 8, rows differ'],
  },
  {
    name: "the scale of a numeric",
    sql: "UPDATE vals.numerics SET n = 1.23 WHERE id = 6",
    expected: ['table "vals"."numerics": 13 rows vs 13, rows differ'],
  },
  {
    name: "a row moving between partitions",
    sql: "UPDATE vals.measurements SET region = 'eu' WHERE id = 100",
    expected: [
      'table "vals"."measurements_2025_eu": 40 rows vs 41, rows differ',
      "  rows only in the second (1):",
      "    (100,2025-09-27,eu,14.285714285714286) \\x402c924924924925",
    ],
  },
  {
    name: "a row of a parent table moving to its child",
    sql: "DELETE FROM ONLY vals.parent; INSERT INTO vals.child VALUES (1, 'parent row', NULL)",
    expected: ['table "vals"."child": 1 rows vs 2, rows differ'],
  },
  {
    name: "a sequence's is_called",
    sql: "SELECT setval('vals.fresh_sequence', 1, true)",
    expected: ['sequence "vals"."fresh_sequence": 1 false vs 1 true'],
  },
  {
    name: "a sequence's value",
    sql: "SELECT nextval('vals.identities_id_seq')",
    expected: ['sequence "vals"."identities_id_seq": 121 true vs 128 true'],
  },
  {
    name: "a dropped index",
    sql: "DROP INDEX vals.floats_f8",
    expected: [
      "schema statements only in the first (1):",
      "    CREATE INDEX floats_f8 ON vals.floats USING btree (f8);",
    ],
  },
  {
    name: "a constraint validated",
    sql: "DELETE FROM vals.guarded WHERE id = 1; " +
      "ALTER TABLE vals.guarded VALIDATE CONSTRAINT guarded_v_positive",
    expected: ["schema statements only in the first (2):"],
    rows: [
      "schema statements only in the second (1):",
      "ADD CONSTRAINT guarded_v_positive CHECK ((v > 0)) NOT VALID;",
      'table "vals"."guarded": 2 rows vs 1, rows differ',
    ],
  },
  {
    name: "a byte of a large object",
    sql: "SELECT lo_put(424242, 0, '\\x01')",
    expected: [
      "large object 424242: owner=postgres acl= comment=every byte, four times bytes=1024 " +
      "md5=b2ea9f7fcea831a4a63b213f41a8855b vs owner=postgres acl= comment=every byte, four " +
      "times bytes=1024 md5=67463e0e1e66d7c90b9eb8e82bb66f00",
    ],
  },
  {
    name: "a materialized view left unpopulated",
    sql: "REFRESH MATERIALIZED VIEW vals.unpopulated",
    expected: ['table "vals"."unpopulated": 0 rows vs 6 (first not populated)'],
  },
  {
    name: "a comment on the database",
    sql: "COMMENT ON DATABASE :DBNAME IS 'changed'",
    expected: ['database comment: "" vs "changed"'],
  },
];

Deno.test("assertSameDatabase() passes a pg_dump copy of the fixture and finds each kind of change", async (t) => {
  const cluster = await startCluster();
  const names = [uniqueName("fixture"), uniqueName("copy")];
  try {
    const [source, copy] = await Promise.all(names.map((n) => createDatabase(cluster.url, n)));
    await loadFixture(source);
    await copyWithPgDump(source, copy);

    await t.step("a copy made by pg_dump | psql is the same", async () => {
      await assertSameDatabase(source, copy);
    });

    for (const mutation of MUTATIONS) {
      await t.step(`it finds ${mutation.name}`, async () => {
        const name = uniqueName("changed");
        names.push(name);
        await psql(cluster.url, `CREATE DATABASE ${name} TEMPLATE ${quoteIdent(names[1])}`);
        const changed = databaseUrl(cluster.url, name);
        await psql(changed, mutation.sql.replace(":DBNAME", name));
        const differences = await compareDatabases(source, changed);
        assert.deepEqual(differences.slice(0, mutation.expected.length), mutation.expected);
        for (const row of mutation.rows ?? []) {
          assert.ok(differences.some((d) => d.includes(row)), `${row} in ${differences}`);
        }
        await assert.rejects(
          () => assertSameDatabase(source, changed),
          (error) =>
            error instanceof AssertionError && /^The databases differ:/.test(error.message),
        );
        await dropDatabase(cluster.url, name);
      });
    }
  } finally {
    for (const name of names) await dropDatabase(cluster.url, name).catch(() => {});
    await cluster.stop();
  }
});
