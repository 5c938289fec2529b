import assert from "node:assert/strict";
import {
  type ScriptEvent,
  ScriptReader,
  ScriptRefusedError,
} from "../../../src/engines/postgres/_script_reader.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Events as text, the script fed in pieces of `size` bytes (1: every boundary is tried). */
function read(script: string, size: number): string[] {
  const bytes = encoder.encode(script);
  const reader = new ScriptReader();
  const events: ScriptEvent[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    events.push(...reader.push(bytes.subarray(at, at + size)));
  }
  const out: string[] = [];
  let data = "";
  for (const event of events) {
    if (event.type === "data") {
      data += decoder.decode(event.bytes);
      continue;
    }
    if (event.type === "copyEnd") {
      out.push(`data:${data}`);
      data = "";
      continue;
    }
    out.push(
      event.type === "statement"
        ? `${event.category ?? "sql"}:${decoder.decode(event.sql)}`
        : event.type === "copy"
        ? `copy:${event.sql}`
        : event.type === "clean"
        ? `clean:${event.sql}`
        : event.type === "encoding"
        ? `encoding:${event.name}`
        : event.type === "database"
        ? `database:${JSON.stringify(event.properties)}`
        : `locale:${JSON.stringify(event.locale)}`,
    );
  }
  const { rest } = reader.finish();
  if (rest !== "") out.push(`rest:${rest}`);
  return out;
}

const cases: { name: string; script: string; expected: string[] }[] = [
  {
    name: "plain statements, leading comments dropped",
    script: "-- hello\nSELECT 1;\n  SELECT 2 -- trailing\n;\n",
    expected: ["sql:SELECT 1;", "sql:SELECT 2 -- trailing\n;"],
  },
  {
    name: "semicolons inside strings, identifiers and comments",
    script: `SELECT 'a;''b', "x;""y" /* c; /* nested; */ still; */ FROM t;`,
    expected: [`sql:SELECT 'a;''b', "x;""y" /* c; /* nested; */ still; */ FROM t;`],
  },
  {
    name: "E'' strings with backslash escapes",
    script: "SELECT E'it\\'s; \\\\', e'\\\\';SELECT 'a\\';",
    expected: ["sql:SELECT E'it\\'s; \\\\', e'\\\\';", "sql:SELECT 'a\\';"],
  },
  {
    name: "an identifier ending in e is no escape-string prefix",
    script: "SELECT some'x\\';SELECT 2;",
    expected: ["sql:SELECT some'x\\';", "sql:SELECT 2;"],
  },
  {
    name: "dollar-quoted bodies with and without tags",
    script:
      "CREATE FUNCTION f() RETURNS int AS $fn$ SELECT 1; $x$ ; $fn$ LANGUAGE sql;DO $$ BEGIN; END $$;",
    expected: [
      "sql:CREATE FUNCTION f() RETURNS int AS $fn$ SELECT 1; $x$ ; $fn$ LANGUAGE sql;",
      "sql:DO $$ BEGIN; END $$;",
    ],
  },
  {
    name: "positional parameters and identifiers with $ are not dollar quotes",
    script: "SELECT $1, a$b; SELECT 3;",
    expected: ["sql:SELECT $1, a$b;", "sql:SELECT 3;"],
  },
  {
    name: "COPY data up to the \\. line, with \\. and \\N inside values",
    script: "COPY public.t (a) FROM stdin;\nx\\\\.\n\\N\n\\.\nSELECT 1;\nCOPY t FROM stdin;\n\\.\n",
    expected: [
      "copy:COPY public.t (a) FROM stdin;",
      "data:x\\\\.\n\\N\n",
      "sql:SELECT 1;",
      "copy:COPY t FROM stdin;",
      "data:",
    ],
  },
  {
    name: "the locale directive; one that is not our JSON is ignored",
    script: '-- backup-manager:locale {"collate":"C","ctype":"C.UTF-8","provider":"i",' +
      '"icuLocale":"de-DE"}\n-- backup-manager:locale nonsense\nSELECT 1;\n',
    expected: [
      'locale:{"collate":"C","ctype":"C.UTF-8","provider":"i","icuLocale":"de-DE"}',
      "sql:SELECT 1;",
    ],
  },
  {
    name: "the database directive; one that is not our JSON is ignored",
    script: '-- backup-manager:database {"owner":"a","comment":"x","settings":[]}\n' +
      "-- backup-manager:database {broken\nSELECT 1;\n",
    expected: ['database:{"owner":"a","comment":"x","settings":[]}', "sql:SELECT 1;"],
  },
  {
    name: "directives and owner/acl markers",
    script: "-- backup-manager:encoding LATIN1\n-- backup-manager:clean DROP TABLE IF EXISTS t;\n" +
      "/* backup-manager:owner */ ALTER TABLE t OWNER TO a;\n/* backup-manager:acl */ GRANT SELECT ON t TO b;\n",
    expected: [
      "encoding:LATIN1",
      "clean:DROP TABLE IF EXISTS t;",
      "owner:/* backup-manager:owner */ ALTER TABLE t OWNER TO a;",
      "acl:/* backup-manager:acl */ GRANT SELECT ON t TO b;",
    ],
  },
  {
    name: "a multi-action rule: a semicolon inside parentheses does not end the statement",
    script: "CREATE RULE r AS ON DELETE TO a DO ( DELETE FROM b WHERE x = ')';\n" +
      " DELETE FROM c /* ( */ WHERE x = old.x; -- (\n);\nSELECT (1);\n",
    expected: [
      "sql:CREATE RULE r AS ON DELETE TO a DO ( DELETE FROM b WHERE x = ')';\n" +
      " DELETE FROM c /* ( */ WHERE x = old.x; -- (\n);",
      "sql:SELECT (1);",
    ],
  },
  {
    name:
      "SQL-standard routine bodies: semicolons inside BEGIN ATOMIC ... END, CASE ... END nested",
    script: "CREATE OR REPLACE FUNCTION public.f(x integer) RETURNS integer\n" +
      " LANGUAGE sql\nBEGIN ATOMIC\n SELECT CASE WHEN x > 0 THEN 1 END;\n SELECT (x);\nEND;\n" +
      "CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO t VALUES (1); END;\n" +
      "CREATE FUNCTION public.begin() RETURNS int LANGUAGE sql AS 'select 1';\n" +
      "SELECT 'begin atomic'; BEGIN; END;\n",
    expected: [
      "sql:CREATE OR REPLACE FUNCTION public.f(x integer) RETURNS integer\n" +
      " LANGUAGE sql\nBEGIN ATOMIC\n SELECT CASE WHEN x > 0 THEN 1 END;\n SELECT (x);\nEND;",
      "sql:CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO t VALUES (1); END;",
      "sql:CREATE FUNCTION public.begin() RETURNS int LANGUAGE sql AS 'select 1';",
      "sql:SELECT 'begin atomic';",
      "sql:BEGIN;",
      "sql:END;",
    ],
  },
  {
    name: "empty statements are no statements (the server skips them in a batch)",
    script: "SELECT 1;;\n ;SELECT 2;\n",
    expected: ["sql:SELECT 1;", "sql:SELECT 2;"],
  },
  {
    name: "a cut-off statement is left over",
    script: "SELECT 1;\nSELECT 'unterminated;",
    expected: ["sql:SELECT 1;", "rest:SELECT 'unterminated;"],
  },
  {
    name: "unicode identifiers and text",
    script: `CREATE TABLE "tàblé ☃" (ü text DEFAULT 'ß;');`,
    expected: [`sql:CREATE TABLE "tàblé ☃" (ü text DEFAULT 'ß;');`],
  },
];

for (const { name, script, expected } of cases) {
  Deno.test(`ScriptReader cuts ${name}, whatever the chunk boundaries`, () => {
    for (const size of [1, 2, 3, 7, 64, 1 << 20]) {
      assert.deepEqual(read(script, size), expected, `chunk size ${size}`);
    }
  });
}

Deno.test("ScriptReader notices a script without its closing comment", () => {
  const reader = new ScriptReader();
  reader.push(encoder.encode("SELECT 1;\n"));
  assert.equal(reader.complete, false);
  reader.push(encoder.encode("--\n-- PostgreSQL database dump complete\n--\n"));
  assert.equal(reader.complete, true);
});

Deno.test("ScriptReader hands out a large COPY block in pieces, not at once", () => {
  const reader = new ScriptReader();
  const row = encoder.encode("1\tsome text\n");
  let pieces = 0;
  const count = (events: ScriptEvent[]) => pieces += events.filter((e) => e.type === "data").length;
  count(reader.push(encoder.encode("COPY t (a, b) FROM stdin;\n")));
  for (let i = 0; i < 10_000; i++) count(reader.push(row));
  const last = reader.push(encoder.encode("\\.\n"));
  assert.equal(last.at(-1)?.type, "copyEnd");
  assert.ok(pieces > 1000, `${pieces} pieces`);
});

Deno.test("ScriptReader tells each statement's number and line, whatever the chunk boundaries", () => {
  const script = "-- header\n\nSET a = 1;\nSELECT 2;  SELECT\n  3;\n" +
    "COPY t (x) FROM stdin;\n1\n2\n3\n\\.\n" +
    "/* c */ CREATE INDEX i\n  ON t (x);\n\n\n-- note\nCOMMENT ON TABLE t IS 'a\nb';\nSELECT 4;\n";
  const expected = [
    "sql 1 3 SET a = 1;",
    "sql 2 4 SELECT 2;",
    "sql 3 4 SELECT\n  3;",
    "copy 4 6 COPY t (x) FROM stdin;",
    "sql 5 11 /* c */ CREATE INDEX i\n  ON t (x);",
    "sql 6 16 COMMENT ON TABLE t IS 'a\nb';",
    "sql 7 18 SELECT 4;",
  ];
  const bytes = encoder.encode(script);
  for (const size of [1, 2, 3, 7, 64, bytes.length]) {
    const reader = new ScriptReader();
    const seen: string[] = [];
    for (let at = 0; at < bytes.length; at += size) {
      for (const e of reader.push(bytes.subarray(at, at + size))) {
        if (e.type === "statement") {
          assert.equal(e.places?.length, 1);
          const p = e.places![0];
          seen.push(`sql ${p.number} ${p.line} ${decoder.decode(e.sql)}`);
        } else if (e.type === "copy") {
          seen.push(`copy ${e.place?.number} ${e.place?.line} ${e.sql}`);
        }
      }
    }
    assert.deepEqual(seen, expected, `chunks of ${size}`);
  }
});

Deno.test("ScriptReader counts each COPY block's rows however the input is cut", () => {
  const script =
    "SET x = 1;\nCOPY public.a (id, v) FROM stdin;\n1\tone\\ntwo\n2\t\\N\n3\t\\.x\n\\.\n" +
    "COPY public.b (k) FROM stdin;\n\\.\n\nCOPY public.c (k) FROM stdin;\n\n\\.\nSELECT 1;\n";
  for (const size of [1, 2, 3, 5, 8, 13, 1000]) {
    const reader = new ScriptReader();
    const bytes = encoder.encode(script);
    const rows: number[] = [];
    for (let at = 0; at < bytes.length; at += size) {
      for (const event of reader.push(bytes.subarray(at, at + size))) {
        if (event.type === "copyEnd") rows.push(event.rows);
      }
    }
    assert.deepEqual(rows, [3, 0, 1], `pieces of ${size}`);
  }
});

Deno.test("ScriptReader refuses a statement or a COPY row longer than maxStatementBytes", () => {
  const cases: [string, string][] = [
    [
      "SET x = 1;\n\nCOMMENT ON TABLE t IS '" + "x".repeat(3000),
      "the statement at line 3 is longer than 1000 bytes, more than backup-manager writes for " +
      'this backup ("COMMENT ON TABLE t IS \'xxxxxxxxxxxxxxxxx …"): refusing to read on',
    ],
    [
      "SET x = 1;\nCOPY t (a) FROM stdin;\n1\n2\n" + "3".repeat(3000),
      "the COPY data at line 3 holds a row longer than 1000 bytes, more than backup-manager " +
      "writes for this backup: refusing to read on",
    ],
    [
      "-- an endless comment" + " ".repeat(3000),
      "the statement at line 1 is longer than 1000 bytes, more than backup-manager writes for " +
      'this backup ("-- an endless comment …"): refusing to read on',
    ],
  ];
  for (const [script, message] of cases) {
    const reader = new ScriptReader({ maxStatementBytes: 1000 });
    const bytes = encoder.encode(script);
    assert.throws(() => {
      for (let at = 0; at < bytes.length; at += 256) reader.push(bytes.subarray(at, at + 256));
    }, (error: Error) => {
      assert.ok(error instanceof ScriptRefusedError);
      assert.equal(error.message, message);
      return true;
    });
  }
  // rows and statements within the bound pass
  const reader = new ScriptReader({ maxStatementBytes: 1000 });
  const ok = "COPY t (a) FROM stdin;\n" + ("9".repeat(900) + "\n").repeat(10) + "\\.\n";
  assert.equal(reader.push(encoder.encode(ok)).at(-1)?.type, "copyEnd");
});
