import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  createStatement,
  scanEnd,
  type SchemaObject,
  shellSafe,
  textLiteral,
} from "../../../src/engines/sqlite/_schema_text.ts";
import { withoutChecks } from "../../../src/engines/sqlite/_hidden_rowids.ts";

Deno.test("scanEnd() tells how a text ends: in a comment or not, and where its last token ends", () => {
  const cases: [string, ReturnType<typeof scanEnd>][] = [
    ["CREATE TABLE t(a)", { lastTokenEnd: 17, carriageReturnInString: false }],
    ["CREATE TABLE t(a) -- c", {
      comment: "line",
      lastTokenEnd: 17,
      carriageReturnInString: false,
    }],
    ["CREATE TABLE t(a) -- c\n", { lastTokenEnd: 17, carriageReturnInString: false }],
    ["CREATE TABLE t(a) /* c", {
      comment: "block",
      lastTokenEnd: 17,
      carriageReturnInString: false,
    }],
    ["CREATE TABLE t(a) /* c */  ", { lastTokenEnd: 17, carriageReturnInString: false }],
    ["CREATE VIEW v AS SELECT '--' ", { lastTokenEnd: 28, carriageReturnInString: false }],
    ['CREATE VIEW v AS SELECT "/*"', { lastTokenEnd: 28, carriageReturnInString: false }],
    ["CREATE VIEW v AS SELECT [--x]", { lastTokenEnd: 29, carriageReturnInString: false }],
    ["CREATE VIEW v AS SELECT 'it''s'", { lastTokenEnd: 31, carriageReturnInString: false }],
    ["CREATE VIEW v AS\r\nSELECT 1\r\n", { lastTokenEnd: 26, carriageReturnInString: false }],
    ["CREATE VIEW v AS SELECT 'a\r\nb'", { lastTokenEnd: 30, carriageReturnInString: true }],
    ['CREATE VIEW v AS SELECT "a\r\nb"', { lastTokenEnd: 30, carriageReturnInString: false }],
  ];
  for (const [sql, expected] of cases) assert.deepEqual(scanEnd(sql), expected, sql);
});

Deno.test("createStatement() ends each text so that SQLite stores it unchanged, else sets it back", () => {
  const fix = (o: SchemaObject) =>
    "PRAGMA writable_schema=ON;\n" +
    `UPDATE sqlite_schema SET sql=${
      textLiteral(o.sql)
    } WHERE type='${o.type}' AND name='${o.name}';\n`;
  const cases: [SchemaObject, string][] = [
    // Ends at its last token: a `;` after it.
    [{ type: "table", name: "t", sql: "CREATE TABLE t(a)" }, "CREATE TABLE t(a);\n"],
    // Options: stored up to the `;`, so the comment's line end comes back by itself.
    [
      { type: "table", name: "t", sql: "CREATE TABLE t(a INT) STRICT -- c\n" },
      "CREATE TABLE t(a INT) STRICT -- c\n;\n",
    ],
    // The issue: `--` in a string no longer adds a line end.
    [
      { type: "table", name: "t", sql: "CREATE TABLE t(a TEXT DEFAULT '--') STRICT" },
      "CREATE TABLE t(a TEXT DEFAULT '--') STRICT;\n",
    ],
    [
      { type: "index", name: "i", sql: "CREATE INDEX i ON t(a)   " },
      "CREATE INDEX i ON t(a)   ;\n",
    ],
    // A view's trailing comment needs a line end, which SQLite trims again.
    [
      { type: "view", name: "v", sql: "CREATE VIEW v AS SELECT 1 -- c" },
      "CREATE VIEW v AS SELECT 1 -- c\n;\n",
    ],
    [
      { type: "trigger", name: "r", sql: "CREATE TRIGGER r AFTER INSERT ON t BEGIN SELECT 1; END" },
      "CREATE TRIGGER r AFTER INSERT ON t BEGIN SELECT 1; END;\n",
    ],
  ];
  for (const [object, expected] of cases) assert.equal(createStatement(object), expected);
  // Texts CREATE cannot give back: made, then set (OFF keeps the parsed schema; RESET reloads).
  const setBack: [SchemaObject, string, string][] = [
    // An index or a STRICT table ending in a comment without line end would gain one.
    [{ type: "index", name: "i", sql: "CREATE INDEX i ON t(a) -- c" }, "\n;\n", "OFF"],
    [{ type: "table", name: "t", sql: "CREATE TABLE t(a INT) STRICT -- c" }, "\n;\n", "OFF"],
    [{ type: "view", name: "v", sql: "CREATE VIEW v AS SELECT 1 /* c" }, "*/;\n", "OFF"],
    // A view's trailing blanks, or text after a table's `)`, are not kept.
    [{ type: "view", name: "v", sql: "CREATE VIEW v AS SELECT 1 " }, ";\n", "OFF"],
    [{ type: "table", name: "t", sql: "CREATE TABLE t(a) -- c\n" }, ";\n", "OFF"],
    // SQLite writes its own prefix: lower case, two blanks, IF NOT EXISTS are not kept.
    [{ type: "table", name: "t", sql: "create table t(a)" }, ";\n", "OFF"],
    [{ type: "table", name: "t", sql: "CREATE TABLE  t(a)" }, ";\n", "OFF"],
    [{ type: "view", name: "v", sql: "CREATE VIEW IF NOT EXISTS v AS SELECT 1" }, ";\n", "OFF"],
    // The stock shell drops a \r before a line end; in a string that changes the meaning.
    [{ type: "table", name: "t", sql: "CREATE TABLE t(\r\n  a\r\n)" }, ";\n", "OFF"],
    [{ type: "table", name: "t", sql: "CREATE TABLE t(a DEFAULT 'x\r\ny')" }, ";\n", "RESET"],
  ];
  for (const [object, tail, mode] of setBack) {
    assert.equal(
      createStatement(object),
      `${object.sql}${tail}${fix(object)}PRAGMA writable_schema=${mode};\n`,
      JSON.stringify(object.sql),
    );
  }
  assert.match(
    createStatement({ type: "index", name: "i", sql: "CREATE INDEX i ON t(a) WHERE a <> '\r\n'" }),
    /PRAGMA writable_schema=RESET;\nREINDEX "i";\n$/,
  );
});

Deno.test("textLiteral() writes each \\r as char(13), with a marker the text does not hold", () => {
  const db = new DatabaseSync(":memory:");
  try {
    const cases: [string, string][] = [
      ["plain 'quoted'", "'plain ''quoted'''"],
      ["a\r\nb", "replace('a\\r\nb','\\r',char(13))"],
      ["has \\r already\r", "replace('has \\r already\\r0\\','\\r0\\',char(13))"],
    ];
    for (const [text, literal] of cases) {
      assert.equal(textLiteral(text), literal);
      assert.equal(db.prepare(`SELECT ${literal} AS t`).get()?.t, text);
    }
  } finally {
    db.close();
  }
});

Deno.test("withoutChecks() replaces every CHECK constraint by one that does nothing", () => {
  const cases: [string, string][] = [
    ["t(a CHECK (a > 0), b)", "t(a CONSTRAINT backup_manager_check, b)"],
    [
      "t(a, CONSTRAINT c CHECK ((a) <> ')'), CHECK (a IN (1, 2)))",
      "t(a, CONSTRAINT c CONSTRAINT backup_manager_check, CONSTRAINT backup_manager_check)",
    ],
    [
      "t(\"check\" TEXT, [check 2], 'check 3' -- CHECK (\n)",
      "t(\"check\" TEXT, [check 2], 'check 3' -- CHECK (\n)",
    ],
    [
      "t(a /* CHECK (x) */ check(a<>'CHECK ('))",
      "t(a /* CHECK (x) */ CONSTRAINT backup_manager_check)",
    ],
  ];
  const db = new DatabaseSync(":memory:");
  try {
    for (const [sql, expected] of cases) {
      assert.equal(withoutChecks(sql), expected);
      db.exec(`CREATE TEMP TABLE ${withoutChecks(sql)}; DROP TABLE temp.t`);
    }
  } finally {
    db.close();
  }
});

Deno.test("shellSafe() puts a comment before each line the stock shell would end a statement at", () => {
  const cases: [string, string][] = [
    ["SELECT 4\n/\n2", "SELECT 4\n/**//\n2"],
    ["SELECT a\n  go\nFROM t", "SELECT a\n/**/  go\nFROM t"],
    ["SELECT a\nGO -- c\n", "SELECT a\n/**/GO -- c\n"],
    // Not at a line start, or a longer word, or inside a string or a comment: left alone.
    ["SELECT a / 2, good\ngoal", "SELECT a / 2, good\ngoal"],
    ["SELECT 'x\ngo\n' /* y\n/\n*/ -- z\n", "SELECT 'x\ngo\n' /* y\n/\n*/ -- z\n"],
  ];
  for (const [sql, expected] of cases) assert.equal(shellSafe(sql), expected, sql);
});
