/** The summary helpers of `deno task bench:regress` (pure, table-driven). */
import assert from "node:assert/strict";
import { countKinds, scheduleTests, statementKind } from "../../../bench/_regress_kinds.ts";

Deno.test("statementKind names the kind of a schema statement", () => {
  const cases: [string, string][] = [
    ["CREATE TABLE public.t (\n    a integer\n);", "CREATE TABLE"],
    ["CREATE MATERIALIZED VIEW public.m AS SELECT 1;", "CREATE MATERIALIZED VIEW"],
    ["CREATE UNIQUE INDEX i ON public.t USING btree (a);", "CREATE INDEX"],
    [
      "CREATE TEXT SEARCH DICTIONARY public.d (TEMPLATE = simple);",
      "CREATE TEXT SEARCH DICTIONARY",
    ],
    [
      "ALTER TABLE ONLY public.c ALTER COLUMN f1 SET COMPRESSION pglz;",
      "ALTER TABLE ALTER COLUMN SET COMPRESSION",
    ],
    [
      "ALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY (a);",
      "ALTER TABLE ADD PRIMARY KEY",
    ],
    ["GRANT SELECT(tableoid) ON TABLE public.t TO r;", "GRANT (columns) ON TABLE"],
    ["GRANT ALL ON LARGE OBJECT 1001 TO PUBLIC;", "GRANT ON LARGE OBJECT"],
    ["COMMENT ON EVENT TRIGGER e IS 'x';", "COMMENT ON EVENT TRIGGER"],
  ];
  for (const [statement, kind] of cases) assert.equal(statementKind(statement), kind, statement);
});

Deno.test("countKinds counts statements by side and tables once", () => {
  const differences = [
    'database settings: "a" vs ""',
    "schema statements only in the first (1):",
    "    CREATE VIEW public.v AS",
    "schema statements only in the second (1):",
    "    CREATE VIEW public.v AS",
    'table "public"."m": 1 rows vs 1, rows differ',
    "  rows only in the first (1):",
    "    (28)",
  ];
  assert.deepEqual(countKinds(differences), {
    "database settings": 1,
    "CREATE VIEW (missing)": 1,
    "CREATE VIEW (extra)": 1,
    "table rows": 1,
  });
});

Deno.test("scheduleTests lists a schedule's tests once, in order, without ignore lines", () => {
  const schedule = "# c\ntest: tablespace\ntest: a b\nignore: random\ntest: b c\n";
  assert.deepEqual(scheduleTests(schedule), ["tablespace", "a", "b", "c"]);
});
