/** The owner statements the restore may leave out, and how a batch is cut around them. */
import assert from "node:assert/strict";
import {
  guardedOwner,
  ownerWarning,
  splitBatch,
} from "../../../src/engines/postgres/_owner_fallback.ts";

const M = "/* backup-manager:owner */ ";

Deno.test("guardedOwner() recognises event trigger and subscription owner statements only", () => {
  const cases: [string, ReturnType<typeof guardedOwner>][] = [
    [`${M}ALTER EVENT TRIGGER e OWNER TO o;`, { kind: "event trigger", name: "e", role: "o" }],
    [`${M}ALTER SUBSCRIPTION "s x" OWNER TO "R""1";\n`, {
      kind: "subscription",
      name: '"s x"',
      role: '"R""1"',
    }],
    [`ALTER EVENT TRIGGER e OWNER TO o;`, undefined], // not our owner statement
    [`${M}ALTER TABLE public.t OWNER TO o;`, undefined],
    [`${M}ALTER EVENT TRIGGER e OWNER TO o; DROP TABLE t;`, undefined],
    [`${M}ALTER EVENT TRIGGER e ENABLE ALWAYS;`, undefined],
  ];
  for (const [sql, expected] of cases) assert.deepEqual(guardedOwner(sql), expected, sql);
});

Deno.test("splitBatch() cuts guarded owner statements out, keeping the rest batched", () => {
  const statements = [
    "CREATE EVENT TRIGGER é ON ddl_command_start\n    EXECUTE FUNCTION f();",
    `${M}ALTER EVENT TRIGGER é OWNER TO o;`,
    "ALTER EVENT TRIGGER é DISABLE;",
    "COMMENT ON TABLE t IS 'ü';",
  ];
  const text = statements.join("\n") + "\n";
  const bytes = (s: string) => new TextEncoder().encode(s).length;
  let offset = 0;
  const places = statements.map((s, i) => {
    const place = { number: 10 + i, line: 20 + 2 * i, offset };
    offset += bytes(s) + 1;
    return place;
  });
  assert.deepEqual(splitBatch(text, places), [
    { sql: statements[0] + "\n", places: [places[0]] },
    {
      sql: statements[1] + "\n",
      places: [{ ...places[1], offset: 0 }],
      owner: { kind: "event trigger", name: "é", role: "o" },
    },
    {
      sql: statements.slice(2).join("\n") + "\n",
      places: [{ ...places[2], offset: 0 }, { ...places[3], offset: bytes(statements[2]) + 1 }],
    },
  ]);
  const plain = "CREATE TABLE t (a int);\n";
  assert.deepEqual(splitBatch(plain, [places[0]]), [{ sql: plain, places: [places[0]] }]);
});

Deno.test("ownerWarning() is one line naming the object, the statement, its place and the reason", () => {
  const sql = `${M}ALTER SUBSCRIPTION s OWNER TO so;\n`;
  const warning = ownerWarning(
    { sql, places: [{ number: 7, line: 30, offset: 0 }], owner: guardedOwner(sql) },
    Object.assign(new Error('permission denied to change owner of subscription "s"'), {
      hint: "The owner of a subscription must be a superuser.",
    }),
    "postgres",
  );
  assert.equal(
    warning,
    'Kept subscription s owned by "postgres": PostgreSQL refused "ALTER SUBSCRIPTION s OWNER TO so;" (statement 7, line 30 of the script): permission denied to change owner of subscription "s" (The owner of a subscription must be a superuser; make so a superuser, then run that statement)',
  );
});
