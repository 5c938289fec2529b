/**
 * Privileges and comments of objects the restore does not create itself: extension members
 * (compared with `pg_init_privs`), system catalogs, the `public` schema and extensions' own
 * comments. A restore that dropped them gave PUBLIC back EXECUTE on every function of intarray
 * and ltree (issue 10), and lost column grants on catalogs.
 */
import { seclabelLibrary } from "../../helpers/pg_seclabel.ts";
import assert from "node:assert/strict";
import { PostgresEngine } from "../../../src/engines/postgres/postgres_engine.ts";
import { securityLabelStatement } from "../../../src/engines/postgres/_schema_labels.ts";
import { startCluster } from "../../helpers/pg_cluster.ts";
import { dumpGzipped, once } from "../../helpers/engine_io.ts";
import { assertSameDatabase } from "../../helpers/pg_compare.ts";
import { createDatabase, databaseUrl, psql, uniqueName } from "../../helpers/pg_tools.ts";

/** Functions of intarray and ltree that PUBLIC may execute. */
const PUBLIC_EXECUTABLE = `SELECT count(*) FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension x ON x.oid = d.refobjid AND x.extname IN ('intarray', 'ltree')
  WHERE has_function_privilege('bm_nobody', p.oid, 'EXECUTE')`;

Deno.test("a restore keeps the revoked privileges of extension members (intarray, ltree)", async () => {
  const cluster = await startCluster();
  try {
    const src = await createDatabase(cluster.url, uniqueName("initprivs_src"));
    await psql(cluster.url, "CREATE ROLE bm_nobody; CREATE ROLE bm_ext_user");
    await psql(
      src,
      `ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
       CREATE EXTENSION intarray; CREATE EXTENSION ltree;
       GRANT EXECUTE ON FUNCTION public.subltree(public.ltree, integer, integer) TO bm_ext_user;
       GRANT USAGE ON TYPE public.ltree TO bm_ext_user WITH GRANT OPTION;`,
    );
    assert.equal(await psql(src, PUBLIC_EXECUTABLE), "0\n");
    const engine = new PostgresEngine(cluster.url, {});
    const backup = await dumpGzipped(engine, src);
    for (const create of [true, false]) {
      const name = uniqueName("initprivs_dst");
      if (!create) await createDatabase(cluster.url, name);
      await engine.restore(name, once(backup), { create });
      const dst = databaseUrl(cluster.url, name);
      assert.equal(await psql(dst, PUBLIC_EXECUTABLE), "0\n");
      await assertSameDatabase(src, dst);
    }
  } finally {
    await cluster.stop();
  }
});

Deno.test("a restore keeps grants on system catalogs and pg_catalog functions", async () => {
  const cluster = await startCluster();
  try {
    const src = await createDatabase(cluster.url, uniqueName("catalog_src"));
    await psql(cluster.url, "CREATE ROLE bm_monitor; CREATE ROLE bm_app");
    await psql(
      src,
      `GRANT SELECT (rolname, rolcanlogin) ON pg_catalog.pg_authid TO bm_monitor;
       GRANT EXECUTE ON FUNCTION pg_catalog.pg_ls_dir(text) TO bm_monitor;
       REVOKE EXECUTE ON FUNCTION pg_catalog.pg_sleep(double precision) FROM PUBLIC;
       REVOKE SELECT (subname) ON pg_catalog.pg_subscription FROM PUBLIC;
       GRANT CREATE ON SCHEMA pg_catalog TO bm_app;
       REVOKE USAGE ON LANGUAGE sql FROM PUBLIC;
       GRANT USAGE ON LANGUAGE plpgsql TO bm_app;`,
    );
    const engine = new PostgresEngine(cluster.url, {});
    const backup = await dumpGzipped(engine, src);
    // a few times: with nothing to drop, these grants once ran on both lanes of the load and
    // failed "tuple concurrently updated" now and then
    for (let i = 0; i < 3; i++) {
      const name = uniqueName("catalog_dst");
      await engine.restore(name, once(backup), { create: true, jobs: 2 });
      const dst = databaseUrl(cluster.url, name);
      await assertSameDatabase(src, dst);
      const granted = "SELECT has_column_privilege('bm_monitor', 'pg_authid', 'rolname', 'SELECT')";
      assert.equal(await psql(dst, granted), "t\n");
    }
  } finally {
    await cluster.stop();
  }
});

Deno.test("a restore keeps removed comments, and the owner and ACL of public", async () => {
  const cluster = await startCluster();
  try {
    const src = await createDatabase(cluster.url, uniqueName("comments_src"));
    await psql(
      src,
      `COMMENT ON SCHEMA public IS ''; CREATE EXTENSION ltree; COMMENT ON EXTENSION ltree IS '';
       CREATE EXTENSION intarray; COMMENT ON EXTENSION intarray IS 'ours now';
       CREATE ROLE bm_public_owner; CREATE ROLE bm_public_user;
       ALTER SCHEMA public OWNER TO bm_public_owner; REVOKE ALL ON SCHEMA public FROM PUBLIC;
       GRANT USAGE ON SCHEMA public TO bm_public_user WITH GRANT OPTION;`,
    );
    const engine = new PostgresEngine(cluster.url, {});
    const name = uniqueName("comments_dst");
    await engine.restore(name, once(await dumpGzipped(engine, src)), { create: true });
    const dst = databaseUrl(cluster.url, name);
    await assertSameDatabase(src, dst);
    const comments = `SELECT coalesce(obj_description('public'::regnamespace, 'pg_namespace'), '-')
      || ' ' || coalesce((SELECT obj_description(oid, 'pg_extension') FROM pg_extension
        WHERE extname = 'ltree'), '-')`;
    assert.equal(await psql(dst, comments), "- -\n");
  } finally {
    await cluster.stop();
  }
});

Deno.test("securityLabelStatement() writes pg_dump's SECURITY LABEL", () => {
  assert.equal(
    securityLabelStatement('"dummy"', "COLUMN public.t.c", "'classified'"),
    `SECURITY LABEL FOR "dummy" ON COLUMN public.t.c IS 'classified';\n`,
  );
});

/**
 * Labels need a label provider loaded in the server, which no Debian package ships: the test
 * builds its own (`tests/helpers/pg_seclabel.ts`: provider `bm_test`, accepting any label).
 */
const PROVIDER = "bm_test";

Deno.test({
  name: "a restore keeps security labels, of the database and of extension members too",
  fn: async () => {
    const library = await seclabelLibrary();
    const cluster = await startCluster({
      settings: { shared_preload_libraries: `'${library}'` },
    });
    try {
      const source = uniqueName("labels_src");
      const src = await createDatabase(cluster.url, source);
      const label = (target: string, text: string) =>
        `SECURITY LABEL FOR ${PROVIDER} ON ${target} IS '${text}';`;
      await psql(
        src,
        `CREATE SCHEMA s; CREATE TABLE s.t (id int, secret text); CREATE VIEW s.v AS SELECT id FROM s.t;
         CREATE FUNCTION s.f(int) RETURNS int LANGUAGE sql AS 'SELECT $1';
         CREATE DOMAIN s.d AS int; CREATE EXTENSION ltree;
         ${label("SCHEMA s", "schema")} ${label("TABLE s.t", "it''s a table")}
         ${label("COLUMN s.t.secret", "classified")} ${label("VIEW s.v", "view")}
         ${label("FUNCTION s.f(int)", "function")} ${label("DOMAIN s.d", "domain")}
         ${label("TYPE public.ltree", "extension type")}
         ${label(`DATABASE ${source}`, "database")}`,
      );
      const labels = `SELECT string_agg(classoid::regclass || ' ' || objsubid || ' ' || label, ', '
          ORDER BY label) FROM pg_seclabel
        UNION ALL SELECT string_agg(label, ', ') FROM pg_shseclabel
          WHERE objoid = (SELECT oid FROM pg_database WHERE datname = current_database())`;
      const engine = new PostgresEngine(cluster.url, {});
      const name = uniqueName("labels_dst");
      await engine.restore(name, once(await dumpGzipped(engine, src)), { create: true });
      const dst = databaseUrl(cluster.url, name);
      await assertSameDatabase(src, dst);
      assert.equal(await psql(dst, labels), await psql(src, labels));
    } finally {
      await cluster.stop();
    }
  },
});
