/**
 * Owners the target refuses: an event trigger or a subscription owned by a role that has lost
 * superuser since (a state the server would not let anyone create) comes back owned by the
 * restoring role, with one warning naming the statement, and the rest of the restore completes,
 * in both restore modes.
 */
import assert from "node:assert/strict";
import { startCluster } from "../../helpers/pg_cluster.ts";
import { dumpGzipped, once } from "../../helpers/engine_io.ts";
import { createDatabase, databaseUrl, psql, uniqueName } from "../../helpers/pg_tools.ts";
import { PostgresEngine } from "../../../src/engines/postgres/postgres_engine.ts";

const SOURCE = `
  CREATE TABLE t (a int); INSERT INTO t VALUES (1), (2);
  CREATE FUNCTION evt() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
  CREATE ROLE bm_evt_owner SUPERUSER;
  CREATE EVENT TRIGGER evt_owned ON ddl_command_start EXECUTE FUNCTION evt();
  ALTER EVENT TRIGGER evt_owned OWNER TO bm_evt_owner;
  ALTER EVENT TRIGGER evt_owned DISABLE;
  ALTER ROLE bm_evt_owner NOSUPERUSER;
  CREATE ROLE bm_sub_owner SUPERUSER;
  CREATE SUBSCRIPTION sub_owned CONNECTION 'dbname=nowhere' PUBLICATION p
    WITH (connect = false, slot_name = NONE, binary = true);
  COMMENT ON SUBSCRIPTION sub_owned IS 'kept';
  ALTER SUBSCRIPTION sub_owned OWNER TO bm_sub_owner;
  ALTER ROLE bm_sub_owner NOSUPERUSER;
  CREATE TABLE after_them (b int); INSERT INTO after_them VALUES (3)`;

const STATE = `
  SELECT e.evtname, e.evtowner::regrole, e.evtenabled FROM pg_event_trigger e;
  SELECT s.subname, s.subowner::regrole, s.subbinary,
    pg_catalog.obj_description(s.oid, 'pg_subscription') FROM pg_subscription s
  WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database());
  SELECT (SELECT sum(a) FROM t), (SELECT sum(b) FROM after_them)`;

const WARNINGS = [
  /^Kept subscription sub_owned owned by "postgres": PostgreSQL refused "ALTER SUBSCRIPTION sub_owned OWNER TO bm_sub_owner;" \(statement \d+, line \d+ of the script\): permission denied to change owner of subscription "sub_owned" \(The owner of a subscription must be a superuser; make bm_sub_owner a superuser, then run that statement\)$/,
  /^Kept event trigger evt_owned owned by "postgres": PostgreSQL refused "ALTER EVENT TRIGGER evt_owned OWNER TO bm_evt_owner;" \(statement \d+, line \d+ of the script\): permission denied to change owner of event trigger "evt_owned" \(The owner of an event trigger must be a superuser; make bm_evt_owner a superuser, then run that statement\)$/,
];

for (const create of [false, true]) {
  Deno.test(`restore${create ? " --create" : ""} keeps an event trigger and a subscription whose owner lost superuser, owned by the restoring role, with a warning each`, async () => {
    const cluster = await startCluster();
    const engine = new PostgresEngine(cluster.url, {});
    const [srcName, dstName] = [uniqueName("owner_src"), uniqueName("owner_dst")];
    const [src, dst] = [srcName, dstName].map((n) => databaseUrl(cluster.url, n));
    try {
      await createDatabase(cluster.url, srcName);
      await psql(src, SOURCE);
      const backup = await dumpGzipped(engine, src);
      if (!create) await createDatabase(cluster.url, dstName);
      const summary = await engine.restore(dst, once(backup), { create });
      assert.equal(summary.warnings?.length, 2, String(summary.warnings));
      summary.warnings!.forEach((warning, i) => assert.match(warning, WARNINGS[i]));
      assert.equal(
        await psql(dst, STATE),
        "evt_owned|postgres|D\nsub_owned|postgres|t|kept\n3|3\n",
      );
    } finally {
      for (const url of [src, dst]) {
        await psql(url, "ALTER SUBSCRIPTION sub_owned DISABLE; DROP SUBSCRIPTION sub_owned")
          .catch(() => {});
      }
      await cluster.stop();
    }
  });
}
