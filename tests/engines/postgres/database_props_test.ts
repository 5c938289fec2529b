/**
 * The database's own properties (comment, `ALTER DATABASE ... SET` for all roles and per role,
 * owner, connection limit, ACL) survive `restore --create`, as they do `pg_dump --create`; the
 * script stays plain SQL for stock psql.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PostgresEngine } from "../../../src/engines/postgres/postgres_engine.ts";
import { DatabaseError } from "../../../src/core/errors.ts";
import {
  type DatabaseProperties,
  propertyStatements,
  setClause,
  splitList,
} from "../../../src/engines/postgres/_database_props.ts";
import { startCluster } from "../../helpers/pg_cluster.ts";
import { runCli } from "../../helpers/cli.ts";
import { withWorkspace } from "../../helpers/workspace.ts";
import { dumpGzipped, once } from "../../helpers/engine_io.ts";
import { assertSameDatabase } from "../../helpers/pg_compare.ts";
import {
  createDatabase,
  databaseExists,
  databaseUrl,
  psql,
  restoreWithPsql,
  uniqueName,
} from "../../helpers/pg_tools.ts";

const settingCases: [string, string][] = [
  ["work_mem=8MB", `SET "work_mem" TO '8MB'`],
  ["app.jwt_secret=it's=secret", `SET "app.jwt_secret" TO 'it''s=secret'`],
  ["search_path=app, public", `SET "search_path" TO 'app', 'public'`],
  ['search_path="My Schema", "$user", ""', `SET "search_path" TO 'My Schema', '$user', ''`],
  ['search_path="a""b"', `SET "search_path" TO 'a"b'`],
  ["DateStyle=ISO, MDY", `SET "DateStyle" TO 'ISO, MDY'`],
];

for (const [entry, expected] of settingCases) {
  Deno.test(`setClause() renders ${entry} as pg_dump does`, () => {
    assert.equal(setClause(entry), expected);
  });
}

Deno.test("splitList() keeps quoted commas and spaces", () => {
  assert.deepEqual(splitList('a, "b, c" ,d'), ["a", "b, c", "d"]);
  assert.deepEqual(splitList(""), [""]);
});

Deno.test("propertyStatements() orders owner, comment, limit, settings, ACL, template", () => {
  const properties: DatabaseProperties = {
    owner: "alice",
    comment: "it's ours",
    connectionLimit: 7,
    isTemplate: true,
    acl: {
      defaults: [{ grantor: "alice", grantee: "PUBLIC", privilege: "CONNECT", grantable: false }],
      current: [{ grantor: "alice", grantee: "bob", privilege: "CONNECT", grantable: false }],
    },
    settings: [{ config: ["work_mem=8MB"] }, { role: "bob", config: ["statement_timeout=5s"] }],
  };
  assert.deepEqual(propertyStatements(properties, '"new"'), [
    { sql: `ALTER DATABASE "new" OWNER TO alice;`, category: "owner" },
    { sql: `COMMENT ON DATABASE "new" IS 'it''s ours';` },
    { sql: `ALTER DATABASE "new" CONNECTION LIMIT = 7;` },
    { sql: `ALTER DATABASE "new" SET "work_mem" TO '8MB';` },
    { sql: `ALTER ROLE "bob" IN DATABASE "new" SET "statement_timeout" TO '5s';`, role: "bob" },
    { sql: `REVOKE CONNECT ON DATABASE "new" FROM PUBLIC;`, category: "acl" },
    { sql: `GRANT CONNECT ON DATABASE "new" TO bob;`, category: "acl" },
    { sql: `ALTER DATABASE "new" IS_TEMPLATE = true;` },
  ]);
});

const SOURCE_PROPERTIES = (name: string) => `
  CREATE ROLE bm_db_owner; CREATE ROLE bm_db_reader; CREATE ROLE bm_gone;
  ALTER DATABASE ${name} OWNER TO bm_db_owner;
  COMMENT ON DATABASE ${name} IS 'orders of ''shop''';
  ALTER DATABASE ${name} SET work_mem = '8MB';
  ALTER DATABASE ${name} SET search_path = api, "My Schema", public;
  ALTER DATABASE ${name} SET app.jwt_secret = 'reallyreallyreallyreallyverysafe';
  ALTER ROLE bm_db_reader IN DATABASE ${name} SET statement_timeout = '5s';
  ALTER ROLE bm_gone IN DATABASE ${name} SET lock_timeout = '1s';
  ALTER DATABASE ${name} CONNECTION LIMIT 7;
  ALTER DATABASE ${name} IS_TEMPLATE true;
  REVOKE CONNECT, TEMPORARY ON DATABASE ${name} FROM PUBLIC;
  GRANT CONNECT ON DATABASE ${name} TO bm_db_reader;`;

const ROLE_SETTINGS = `SELECT coalesce(r.rolname, '-') || ' ' || s.setconfig::text
  FROM pg_db_role_setting s LEFT JOIN pg_roles r ON r.oid = s.setrole
  WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
  ORDER BY 1`;

Deno.test("restore --create keeps the database's comment, settings, owner, limit and ACL", async () => {
  const cluster = await startCluster();
  try {
    const source = uniqueName("props_src");
    const src = await createDatabase(cluster.url, source);
    await psql(src, SOURCE_PROPERTIES(source));
    await psql(src, "CREATE TABLE t (id int); INSERT INTO t VALUES (1)");
    const engine = new PostgresEngine(cluster.url, {});
    const backup = await dumpGzipped(engine, src);
    // a role the target server lacks (dropping it drops its setting in the source too): the
    // setting is a warning, not a failure
    await psql(cluster.url, `DROP ROLE bm_gone`);
    const target = uniqueName("props_dst");
    const summary = await engine.restore(target, once(backup), { create: true });
    const dst = databaseUrl(cluster.url, target);
    await assertSameDatabase(src, dst);
    assert.equal(await psql(dst, ROLE_SETTINGS), await psql(src, ROLE_SETTINGS));
    assert.match(await psql(dst, ROLE_SETTINGS), /bm_db_reader \{statement_timeout=5s\}/);
    assert.deepEqual(summary.warnings, [
      `Skipped a setting of role "bm_gone" in the restored database: the role does not exist on this server (create it, then run: ALTER ROLE "bm_gone" IN DATABASE <database> SET "lock_timeout" TO '1s';)`,
    ]);
  } finally {
    await cluster.stop();
  }
});

Deno.test("restore --create --no-owner --no-privileges leaves the database's owner and ACL", async () => {
  const cluster = await startCluster();
  try {
    const source = uniqueName("props_src");
    const src = await createDatabase(cluster.url, source);
    await psql(src, SOURCE_PROPERTIES(source));
    const engine = new PostgresEngine(cluster.url, {});
    const target = uniqueName("props_dst");
    await engine.restore(target, once(await dumpGzipped(engine, src)), {
      create: true,
      noOwner: true,
      noPrivileges: true,
    });
    const dst = databaseUrl(cluster.url, target);
    await assertSameDatabase(src, dst, { ignoreFacts: ["owner", "acl"] });
    assert.equal(
      await psql(
        dst,
        "SELECT datdba::regrole::text || ' ' || (datacl IS NULL)::text " +
          "FROM pg_database WHERE datname = current_database()",
      ),
      "postgres true\n",
    );
  } finally {
    await cluster.stop();
  }
});

Deno.test("a backup with database properties still restores with stock psql", async () => {
  const cluster = await startCluster();
  const dir = await Deno.makeTempDir();
  try {
    const source = uniqueName("props_src");
    const src = await createDatabase(cluster.url, source);
    await psql(src, SOURCE_PROPERTIES(source));
    await psql(src, "CREATE TABLE t (id int); INSERT INTO t VALUES (1)");
    const engine = new PostgresEngine(cluster.url, {});
    const file = join(dir, "backup.sql.gz");
    await writeFile(file, await dumpGzipped(engine, src));
    const dst = await createDatabase(cluster.url, uniqueName("props_psql"));
    await restoreWithPsql(dst, file);
    assert.equal(await psql(dst, "SELECT count(*) FROM t"), "1\n");
    // as pg_dump without --create: the database's own properties are not the script's
    assert.equal(
      await psql(
        dst,
        "SELECT shobj_description(oid, 'pg_database') IS NULL " +
          "FROM pg_database WHERE datname = current_database()",
      ),
      "t\n",
    );
  } finally {
    await cluster.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("restore --create prints a warning for a setting of a role the server lacks", async () => {
  const cluster = await startCluster();
  try {
    await withWorkspace(async (ws) => {
      const source = uniqueName("props_cli");
      const src = await createDatabase(cluster.url, source);
      await psql(src, SOURCE_PROPERTIES(source));
      const common = ["--database", src, "--dir", ws.dir];
      const created = await runCli(["create", ...common, "--format", "json"]);
      assert.equal(created.code, 0, created.stderr);
      await psql(cluster.url, "DROP ROLE bm_gone");
      const target = uniqueName("props_cli_dst");
      const id = JSON.parse(created.stdout).id;
      const restored = await runCli(["restore", ...common, id, "--to", target, "--create"]);
      assert.equal(restored.code, 0, restored.stderr);
      assert.equal(
        restored.stderr,
        `Warning: Skipped a setting of role "bm_gone" in the restored database: the role does not exist on this server (create it, then run: ALTER ROLE "bm_gone" IN DATABASE <database> SET "lock_timeout" TO '1s';)\n`,
      );
    });
  } finally {
    await cluster.stop();
  }
});

Deno.test("restore --create of a database whose owner the server lacks fails whole, naming --no-owner", async () => {
  const cluster = await startCluster();
  try {
    const source = uniqueName("props_owner");
    const src = await createDatabase(cluster.url, source);
    await psql(
      cluster.url,
      `CREATE ROLE bm_lost_owner; ALTER DATABASE ${source} OWNER TO bm_lost_owner`,
    );
    const engine = new PostgresEngine(cluster.url, {});
    const backup = await dumpGzipped(engine, src);
    await psql(cluster.url, `ALTER DATABASE ${source} OWNER TO postgres; DROP ROLE bm_lost_owner`);
    const target = uniqueName("props_owner_dst");
    await assert.rejects(engine.restore(target, once(backup), { create: true }), (e: Error) => {
      assert.ok(e instanceof DatabaseError, e.message);
      assert.equal(
        e.message,
        `Cannot set a property of the restored database ("ALTER DATABASE <database> OWNER TO bm_lost_owner;"): role "bm_lost_owner" does not exist (the database created for the restore was dropped again; restore with --no-owner on a server without the backup's roles)`,
      );
      return true;
    });
    assert.equal(await databaseExists(cluster.url, target), false);
    assert.equal(
      await psql(cluster.url, "SELECT count(*) FROM pg_database WHERE datname LIKE 'bm_load_%'"),
      "0\n",
    );
    await engine.restore(target, once(backup), { create: true, noOwner: true });
    assert.equal(await databaseExists(cluster.url, target), true);
  } finally {
    await cluster.stop();
  }
});
