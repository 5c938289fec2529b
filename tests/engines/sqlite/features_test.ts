/**
 * The SQLite features a schema uses (`_features.ts`): each case is a schema that this library
 * accepts (so the statement is real SQL, read back as `sqlite_schema` stores it) and the feature
 * ids the scan must find in it, no more and no fewer.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { detectFeatures, statementFeatures } from "../../../src/engines/sqlite/_features.ts";
import { SQLITE_FEATURES } from "../../../src/engines/version_check.ts";

const CASES: { name: string; sql: string; features: string[] }[] = [
  { name: "a plain table", sql: "CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)", features: [] },
  {
    name: "WITHOUT ROWID is no feature",
    sql: "CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT) WITHOUT ROWID",
    features: [],
  },
  { name: "STRICT", sql: "CREATE TABLE t (a INTEGER, b TEXT) STRICT", features: ["strict"] },
  {
    name: "STRICT with WITHOUT ROWID, any case",
    sql: "create table t (a integer primary key) without rowid, strict",
    features: ["strict"],
  },
  {
    name: "a table named strict, with a column named strict",
    sql: 'CREATE TABLE strict (strict INTEGER, "STRICT x" TEXT)',
    features: [],
  },
  {
    name: "a generated column, long form",
    sql: "CREATE TABLE t (a INTEGER, b INTEGER GENERATED ALWAYS AS (a * 2) STORED)",
    features: ["generated-columns"],
  },
  {
    name: "a generated column, short form",
    sql: "CREATE TABLE t (a INTEGER, b AS (a + 1) VIRTUAL)",
    features: ["generated-columns"],
  },
  {
    name: "CAST ... AS inside a CHECK is no generated column",
    sql: "CREATE TABLE t (a TEXT CHECK (CAST(a AS INTEGER) > 0), b DEFAULT (CAST(1 AS TEXT)))",
    features: [],
  },
  {
    name: "keywords inside strings, names and comments count for nothing",
    sql: `CREATE TABLE t (a TEXT DEFAULT 'GENERATED ALWAYS AS (1) STRICT unixepoch()',
      "b AS (x)" TEXT /* STRICT */, c TEXT -- OVER (x)
      )`,
    features: [],
  },
  {
    name: "FTS5 contentless_delete",
    sql: "CREATE VIRTUAL TABLE f USING fts5(a, content='', contentless_delete=1)",
    features: ["fts5-contentless-delete"],
  },
  {
    name: "FTS5 contentless_delete=0",
    sql: "CREATE VIRTUAL TABLE f USING fts5(a, content='', contentless_delete=0)",
    features: [],
  },
  {
    name: "functions in a default, a check and an index",
    sql: `CREATE TABLE t (a INTEGER DEFAULT (unixepoch()), b TEXT CHECK (iif(b > '', 1, 0)),
      c TEXT DEFAULT (format('%d', 1)));
      CREATE INDEX t_c ON t (concat_ws('-', b, c), unhex(c))`,
    features: [
      "function:concat_ws",
      "function:format",
      "function:iif",
      "function:unhex",
      "function:unixepoch",
    ],
  },
  {
    name: "a view with window functions, the JSON arrows, RIGHT JOIN and IS DISTINCT FROM",
    sql: `CREATE TABLE t (a INTEGER, j TEXT);
      CREATE VIEW v AS SELECT row_number() OVER (ORDER BY a) AS n, j -> '$.x', j ->> '$.y',
        octet_length(j), timediff('2024-01-02', '2024-01-01'), concat(a, j),
        string_agg(j, ',') OVER w
      FROM t RIGHT JOIN t AS u USING (a) WHERE t.a IS NOT DISTINCT FROM u.a
      WINDOW w AS (ORDER BY a)`,
    features: [
      "function:concat",
      "function:octet_length",
      "function:string_agg",
      "function:timediff",
      "is-distinct-from",
      "json-arrow",
      "right-full-join",
      "window-functions",
    ],
  },
  {
    name: "a view with NULLS LAST, an upsert in a trigger",
    sql: `CREATE TABLE t (a INTEGER UNIQUE ON CONFLICT REPLACE, b INTEGER);
      CREATE VIEW v AS SELECT b FROM t ORDER BY b DESC NULLS LAST;
      CREATE TRIGGER t_i AFTER INSERT ON t BEGIN
        INSERT INTO t (a, b) VALUES (new.a + 1, 0) ON CONFLICT (a) DO NOTHING;
      END`,
    features: ["nulls-first-last", "upsert"],
  },
  {
    name: "tables named like functions are no calls",
    sql: `CREATE TABLE format (a INTEGER); CREATE TABLE "concat" (a INTEGER);
      CREATE INDEX format_a ON format (a); CREATE VIEW iif AS SELECT * FROM format`,
    features: [],
  },
];

Deno.test("detectFeatures() finds exactly the features each schema uses", () => {
  for (const c of CASES) {
    const db = new DatabaseSync(":memory:");
    try {
      db.exec(c.sql);
      const stored = db.prepare("SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL").all()
        .map((r) => String(r.sql));
      assert.deepEqual(detectFeatures(stored), c.features, c.name);
      for (const f of c.features) assert.ok(SQLITE_FEATURES[f], `${f} is a known feature`);
    } finally {
      db.close();
    }
  }
});

Deno.test("statementFeatures() survives unterminated quotes and comments", () => {
  assert.deepEqual([...statementFeatures("CREATE TABLE t (a 'x")], []);
  assert.deepEqual([...statementFeatures("CREATE TABLE t (a) STRICT /* x")], ["strict"]);
  assert.deepEqual(detectFeatures([null, ""]), []);
});
