/**
 * The globals file of a whole server's backup, without a server: what `renderGlobals` writes
 * parses back to the same tagged statements (odd names, comments with newlines and quotes, a
 * password hash, settings), a file edited to smuggle a statement is refused, `isOneStatement`
 * table by table, what `decide` runs against what a target has, which databases are selected,
 * and the part names of odd database names.
 */
import assert from "node:assert/strict";
import {
  GlobalsFormatError,
  isOneStatement,
  parseGlobals,
  renderGlobals,
  sqlLiteral,
} from "../../../src/engines/postgres/_globals_script.ts";
import type { Globals } from "../../../src/engines/postgres/_globals_read.ts";
import { decide } from "../../../src/engines/postgres/_globals_restore.ts";
import { selectDatabases } from "../../../src/core/server_backup.ts";
import { partKey } from "../../../src/core/backup_file.ts";
import { DatabaseNotFoundError } from "../../../src/core/errors.ts";

const ROLE = {
  superuser: false,
  inherit: true,
  createRole: false,
  createDb: false,
  login: true,
  replication: false,
  bypassRls: false,
  connectionLimit: -1,
};

const GLOBALS: Globals = {
  serverVersion: "15.8",
  passwords: true,
  roles: [
    { ...ROLE, name: "app", password: "SCRAM-SHA-256$4096:abc$def:ghi", comment: "it's\nours" },
    { ...ROLE, name: 'Odd "role"; DROP', login: false, connectionLimit: 3 },
    { ...ROLE, name: "admin", superuser: true, validUntil: "2027-01-01T00:00:00Z" },
  ],
  memberships: [
    { role: 'Odd "role"; DROP', member: "app", grantor: "admin", admin: true },
    { role: "app", member: "admin", admin: false },
  ],
  settings: [
    { role: "app", config: ["search_path=app, public", "statement_timeout=5s"] },
    { role: "app", database: "my db", config: ["work_mem=64MB"] },
  ],
  tablespaces: [],
};

Deno.test("renderGlobals() writes what parseGlobals() reads back, tag by tag, statement by statement", () => {
  const text = renderGlobals(GLOBALS, { host: "db:5432" });
  const statements = parseGlobals(text);
  assert.deepEqual(
    statements.map((s) => s.tag.kind),
    [
      "role",
      "role-attributes",
      "role-comment",
      "role",
      "role-attributes",
      "role",
      "role-attributes",
      "membership",
      "membership",
      "role-setting",
      "role-setting",
      "db-role-setting",
    ],
  );
  for (const s of statements) {
    for (const line of s.sql) assert.ok(isOneStatement(line), line);
  }
  assert.ok(text.includes("PASSWORD 'SCRAM-SHA-256$4096:abc$def:ghi'"), "the hash is kept");
  assert.ok(text.includes(`CREATE ROLE "Odd ""role""; DROP";`));
  assert.ok(text.includes(`COMMENT ON ROLE "app" IS E'it''s\\nours';`));
  assert.match(text, /GRANT "Odd ""role""; DROP" TO "app" WITH ADMIN OPTION GRANTED BY "admin";/);
  assert.match(text, /ALTER ROLE "app" IN DATABASE "my db" SET "work_mem" TO '64MB';/);
});

Deno.test("parseGlobals() refuses a file edited to run something else", () => {
  const text = renderGlobals(GLOBALS, { host: "db:5432" });
  const cases: [string, string][] = [
    [
      "a second statement on a line",
      text.replace('CREATE ROLE "app";', 'CREATE ROLE "app"; DROP DATABASE x;'),
    ],
    ["a statement of another kind", text.replace('CREATE ROLE "app";', "DROP DATABASE app;")],
    ["an untagged statement", text + "\nDROP ROLE admin;\n"],
    ["a tag that is not JSON", text.replace('{"kind":"role","role":"app"}', "{kind: role}")],
    ["a tag of an unknown kind", text.replace('{"kind":"role","role":"app"}', '{"kind":"sql"}')],
  ];
  for (const [name, edited] of cases) {
    assert.notEqual(edited, text, name);
    assert.throws(() => parseGlobals(edited), GlobalsFormatError, name);
  }
});

Deno.test("isOneStatement() and sqlLiteral(), table by table", () => {
  const cases: [string, boolean][] = [
    ["CREATE ROLE a;", true],
    ['CREATE ROLE "a;b";', true],
    ["COMMENT ON ROLE a IS 'x; y';", true],
    ["COMMENT ON ROLE a IS E'it\\'s; fine';", true],
    ["COMMENT ON ROLE a IS 'it''s; fine';", true],
    ["CREATE ROLE a; DROP ROLE b;", false],
    ["CREATE ROLE a", false],
    ["COMMENT ON ROLE a IS 'unterminated;", false],
    ['CREATE ROLE "unterminated;', false],
  ];
  for (const [line, one] of cases) assert.equal(isOneStatement(line), one, line);
  assert.equal(sqlLiteral("plain"), "'plain'");
  assert.equal(sqlLiteral("it's"), "'it''s'");
  assert.equal(sqlLiteral("a\\b\nc\rd"), "E'a\\\\b\\nc\\rd'");
});

Deno.test("decide() leaves what the target has, and defers settings of databases not there yet", () => {
  const statements = parseGlobals(renderGlobals(GLOBALS, { host: "h" }));
  const present = {
    roles: new Set(["admin"]),
    memberships: new Set<string>(),
    settings: new Set(["app\0\0statement_timeout"]),
    tablespaces: new Set<string>(),
    databases: new Set<string>(),
  };
  const { roleSteps, settingSteps, summary } = decide(statements, present);
  assert.deepEqual(summary.roles.created, ["app", 'Odd "role"; DROP']);
  assert.deepEqual(summary.roles.kept, ["admin"]);
  assert.ok(summary.lines.includes('Role "admin" exists: left as it is'), summary.lines.join("\n"));
  assert.ok(!roleSteps.some((s) => /ALTER ROLE "admin"/.test(s.sql)), "an existing role is kept");
  assert.equal(summary.memberships, 2);
  assert.deepEqual(settingSteps.map((s) => s.sql), [
    `ALTER ROLE "app" SET "search_path" TO 'app', 'public';`,
  ]);
  assert.ok(
    summary.lines.some((l) => /in database "my db" is left to that database's restore/.test(l)),
  );

  // a membership's grantor that does not exist on the target: granted without GRANTED BY
  const noAdmin = decide(statements, { ...present, roles: new Set<string>() });
  const grant = noAdmin.roleSteps.find((s) => s.sql.startsWith('GRANT "Odd'))!;
  assert.match(grant.sql, /GRANTED BY "admin";$/, "admin is created by the same restore");
});

Deno.test("selectDatabases() takes all, or the listed ones once each; a missing one is named", () => {
  const present = ["app", "my db", "Ünï"];
  assert.deepEqual(selectDatabases(present, "all"), present);
  assert.deepEqual(selectDatabases(present, ["Ünï", "app", "app"]), ["Ünï", "app"]);
  assert.throws(
    () => selectDatabases(present, ["app", "gone"]),
    (error: Error) => error instanceof DatabaseNotFoundError && /"gone"/.test(error.message),
  );
});

Deno.test("partKey() gives every database name a key safe on every filesystem", () => {
  const id = "full_20261203T020000000Z";
  const cases: [string, string][] = [
    ["app", `${id}.db-app.sql.gz`],
    ["my db", `${id}.db-my%20db.sql.gz`],
    ["a%b", `${id}.db-a%25b.sql.gz`],
    ["Ünï", `${id}.db-%C3%9Cn%C3%AF.sql.gz`],
    ["../etc", `${id}.db-%2E%2E%2Fetc.sql.gz`],
    ["Mixed_Case-1", `${id}.db-Mixed_Case-1.sql.gz`],
  ];
  for (const [name, key] of cases) assert.equal(partKey(id, "database", name, ".sql.gz"), key);
  const long = "x".repeat(63);
  assert.equal(partKey(id, "database", long, ".sql.gz.age"), `${id}.db-${long}.sql.gz.age`);
});
