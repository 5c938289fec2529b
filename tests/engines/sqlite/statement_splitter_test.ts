import assert from "node:assert/strict";
import {
  StatementRefusedError,
  StatementSplitter,
  type StatementSplitterOptions,
} from "../../../src/engines/sqlite/_statement_splitter.ts";
import { isAllowedStatement } from "../../../src/engines/sqlite/_allowlist.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Case {
  name: string;
  script: string;
  /** Each complete statement, with the blanks and comments before it. */
  statements: string[];
  /** What `finish()` returns. Default "". */
  rest?: string;
}

const TRIGGER_WITH_CASE = "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n" +
  "  INSERT INTO log VALUES (CASE WHEN new.x > 0 THEN 'pos; END;' ELSE 'neg' END);\n" +
  "  UPDATE t SET y = CASE x WHEN 1 THEN 2 END;\n" +
  "END;";

const CASES: Case[] = [
  {
    name: "plain statements",
    script: "SELECT 1; SELECT 2;",
    statements: ["SELECT 1;", " SELECT 2;"],
  },
  {
    name: "a ; inside a string",
    script: "INSERT INTO t VALUES ('a;b');SELECT 1;",
    statements: ["INSERT INTO t VALUES ('a;b');", "SELECT 1;"],
  },
  {
    name: "doubled quotes inside a string",
    script: "INSERT INTO t VALUES ('it''s; ok', '''');SELECT '';",
    statements: ["INSERT INTO t VALUES ('it''s; ok', '''');", "SELECT '';"],
  },
  {
    name: "a ; inside quoted identifiers of every kind",
    script: 'CREATE TABLE "a;""b" ([c;d], `e;f`, "g");SELECT 1;',
    statements: ['CREATE TABLE "a;""b" ([c;d], `e;f`, "g");', "SELECT 1;"],
  },
  {
    name: "a ; and a quote inside a line comment",
    script: "SELECT 1 -- it's; not the end\n;SELECT 2;",
    statements: ["SELECT 1 -- it's; not the end\n;", "SELECT 2;"],
  },
  {
    name: "a ; and a quote inside a block comment",
    script: "SELECT /* it's; ** not * the end */ 1;SELECT 2 /**/;",
    statements: ["SELECT /* it's; ** not * the end */ 1;", "SELECT 2 /**/;"],
  },
  {
    name: "minus and division are not comments",
    script: "SELECT 4/2 - 1;SELECT -1;",
    statements: ["SELECT 4/2 - 1;", "SELECT -1;"],
  },
  {
    name: "multi-byte UTF-8 inside strings",
    script: "SELECT 'é;🎉';SELECT \"ü;\";",
    statements: ["SELECT 'é;🎉';", 'SELECT "ü;";'],
  },
  {
    name: "empty statements",
    script: ";;SELECT 1;",
    statements: [";", ";", "SELECT 1;"],
  },
  {
    name: "a trigger with CASE ... END; inside its body",
    script: `${TRIGGER_WITH_CASE}\nSELECT 1;`,
    statements: [TRIGGER_WITH_CASE, "\nSELECT 1;"],
  },
  {
    name: "a trigger whose body holds '; END;' in a string",
    script: "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT '; END;'; END;SELECT 1;",
    statements: ["CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT '; END;'; END;", "SELECT 1;"],
  },
  {
    name: "a trigger with comments between its last ; and END (regression)",
    script: "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; /* done; */ END;" +
      "CREATE TRIGGER tr2 AFTER INSERT ON t BEGIN SELECT 1; -- done;\n END -- x\n;SELECT 2;",
    statements: [
      "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; /* done; */ END;",
      "CREATE TRIGGER tr2 AFTER INSERT ON t BEGIN SELECT 1; -- done;\n END -- x\n;",
      "SELECT 2;",
    ],
  },
  {
    name: 'a trigger: only END ends it, not ENDX or "END"',
    script: 'CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; ENDX; "END"; end;SELECT 1;',
    statements: [
      'CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; ENDX; "END"; end;',
      "SELECT 1;",
    ],
  },
  {
    name: "a temporary trigger after a comment, in lower case",
    script:
      "-- head\ncreate temp trigger tr after insert on t begin select 1; select 2; end;select 3;",
    statements: [
      "-- head\ncreate temp trigger tr after insert on t begin select 1; select 2; end;",
      "select 3;",
    ],
  },
  {
    name: "a table named like a trigger is an ordinary statement",
    script: 'CREATE TABLE trigger_log (x);CREATE TABLE "CREATE TRIGGER" (y);SELECT 1;',
    statements: [
      "CREATE TABLE trigger_log (x);",
      'CREATE TABLE "CREATE TRIGGER" (y);',
      "SELECT 1;",
    ],
  },
  {
    name: "an unterminated string is left over",
    script: "SELECT 1; SELECT 'unterminated;",
    statements: ["SELECT 1;"],
    rest: " SELECT 'unterminated;",
  },
  {
    name: "an unfinished trigger is left over",
    script: "SELECT 1;CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1;",
    statements: ["SELECT 1;"],
    rest: "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1;",
  },
  {
    name: "trailing blanks and comments are left over",
    script: "SELECT 1;\n-- the end; really\n/* ; */\n",
    statements: ["SELECT 1;"],
    rest: "\n-- the end; really\n/* ; */\n",
  },
];

/** Feeds `chunks` and returns each push's output and the rest. */
function split(chunks: Uint8Array[]): { outputs: string[]; rest: string; statements: number } {
  const splitter = new StatementSplitter();
  const outputs = chunks.map((c) => decoder.decode(splitter.push(c))).filter((o) => o !== "");
  return { outputs, rest: decoder.decode(splitter.finish()), statements: splitter.statements };
}

for (const c of CASES) {
  Deno.test(`StatementSplitter cuts at statement ends: ${c.name}`, () => {
    const bytes = encoder.encode(c.script);
    // One byte at a time, each output is exactly one statement.
    const byByte = split(Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)));
    assert.deepEqual(byByte.outputs, c.statements);
    assert.equal(byByte.rest, c.rest ?? "");
    assert.equal(byByte.statements, c.statements.length);
    // All at once, the output is every statement together.
    const whole = split([bytes]);
    assert.deepEqual(whole.outputs.join(""), c.statements.join(""));
    assert.equal(whole.rest, c.rest ?? "");
    assert.equal(whole.statements, c.statements.length);
  });
}

Deno.test("StatementSplitter gives the same result wherever the input is cut in two or three", () => {
  const script =
    "-- dump\nCREATE TABLE \"a;b\" (x, [y;]);\nINSERT INTO \"a;b\" VALUES ('it''s; /* no', " +
    "'-- no'), (X'00', 'é;');\n/* c; ' */ " + TRIGGER_WITH_CASE +
    "\nCREATE TRIGGER t2 AFTER DELETE ON t BEGIN DELETE FROM u; -- ;\nEND;\nSELECT 4/2-1; -- tail";
  const bytes = encoder.encode(script);
  const expected = split([bytes]);
  assert.equal(expected.statements, 5);
  assert.equal(expected.rest, " -- tail");
  for (let i = 0; i <= bytes.length; i++) {
    const two = split([bytes.subarray(0, i), bytes.subarray(i)]);
    assert.equal(two.outputs.join("") + two.rest, script, `cut at ${i}`);
    assert.equal(two.rest, expected.rest, `cut at ${i}`);
    assert.equal(two.statements, expected.statements, `cut at ${i}`);
    if (i % 9 !== 0) continue; // three pieces: a sample of the pairs of cuts is enough
    for (let j = i; j <= bytes.length; j += 13) {
      const three = split([bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]);
      assert.equal(three.rest, expected.rest, `cut at ${i} and ${j}`);
      assert.equal(three.statements, expected.statements, `cut at ${i} and ${j}`);
    }
  }
});

Deno.test("StatementSplitter holds a statement larger than its initial buffer", () => {
  const literal = "x;'".repeat(1_200_000); // 3.6 MB, quotes doubled below
  const statement = `INSERT INTO t VALUES ('${literal.replaceAll("'", "''")}');`;
  const bytes = encoder.encode(`${statement}SELECT 1;`);
  const splitter = new StatementSplitter();
  const outputs: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += 65_536) {
    const out = splitter.push(bytes.subarray(i, i + 65_536));
    if (out.length) outputs.push(out);
  }
  assert.equal(splitter.statements, 2);
  assert.equal(outputs.reduce((n, o) => n + o.length, 0), bytes.length);
  assert.equal(decoder.decode(outputs[0]).slice(0, statement.length), statement);
});

Deno.test("StatementSplitter returns copies that later input does not overwrite", () => {
  const splitter = new StatementSplitter();
  const first = splitter.push(encoder.encode("SELECT 1;SELECT"));
  splitter.push(encoder.encode(" 2;SELECT 3;"));
  assert.equal(decoder.decode(first), "SELECT 1;");
});

/** Pushes `sql` in pieces of `size` bytes; the refusal's message, or undefined. */
function refusalOf(
  sql: string,
  size: number,
  options: StatementSplitterOptions = { judge: isAllowedStatement },
): string | undefined {
  const bytes = new TextEncoder().encode(sql);
  const splitter = new StatementSplitter(options);
  try {
    for (let i = 0; i < bytes.length; i += size) splitter.push(bytes.subarray(i, i + size));
  } catch (error) {
    assert.ok(error instanceof StatementRefusedError);
    return error.message;
  }
  return undefined;
}

Deno.test("StatementSplitter refuses what the judge refuses, naming its line however the input is cut", () => {
  const sql = "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\nCREATE TABLE t(a);\n" +
    "INSERT INTO t VALUES('two\nlines;'),\n(2);\n-- a comment;\n/* and\nanother */ " +
    "ATTACH DATABASE '/tmp/x.db' AS x;\nCOMMIT;\n";
  for (const size of [1, 2, 7, 64, 4096]) {
    assert.equal(
      refusalOf(sql, size),
      `line 9 is not something backup-manager writes ("ATTACH DATABASE '/tmp/x.db' AS x"): ` +
        "refusing to run it",
      `pieces of ${size}`,
    );
  }
});

Deno.test("StatementSplitter refuses a load_extension( call outside literals only", () => {
  const cases: [string, boolean][] = [
    ["INSERT INTO t VALUES('load_extension(1)');\n", false],
    ["INSERT INTO t VALUES(my_load_extension(1));\n", false],
    ['INSERT INTO "load_extension"(a) VALUES(1);\n', false],
    ['CREATE TABLE IF NOT EXISTS "load_extension" (a);\n', false],
    ["CREATE INDEX i ON load_extension(a);\n", false],
    ['INSERT INTO t VALUES("my load_extension"(1));\n', false],
    ["INSERT INTO t VALUES(1, load_extension ('x'));\n", true],
    ["INSERT INTO t VALUES([load_extension]('x'));\n", true],
    ["INSERT INTO t VALUES(`LOAD_EXTENSION`('x'));\n", true],
    ["INSERT INTO t VALUES(1),(Load_Extension ('x'));\n", true],
    ["INSERT INTO t VALUES(\"load_extension\"('x'));\n", true],
    ["CREATE VIEW v AS SELECT load_extension('x');\n", true],
    ["CREATE TRIGGER g AFTER INSERT ON t BEGIN SELECT load_extension('x'); END;\n", true],
  ];
  for (const [sql, refused] of cases) {
    assert.equal(refusalOf(sql, 5) !== undefined, refused, sql);
  }
});

Deno.test("StatementSplitter refuses a statement longer than maxStatementBytes while reading it", () => {
  const options = { judge: isAllowedStatement, maxStatementBytes: 1000 };
  const long = "CREATE TABLE t(a);\n\nINSERT INTO t VALUES" + "(1),".repeat(300) + "(1);\n";
  assert.equal(
    refusalOf(long, 256, options),
    'the statement at line 3 is longer than 1000 bytes, more than backup-manager writes for this backup ("INSERT INTO t VALUES(1),(1),(1),(1),(1), …"): refusing to read on',
  );
  assert.equal(
    refusalOf("INSERT INTO t VALUES" + "(1),".repeat(200) + "(1);\n", 256, options),
    undefined,
  );
});
