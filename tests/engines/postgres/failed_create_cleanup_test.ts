/**
 * A failed `restore --create` leaves no database behind: whatever stopped the load (a statement
 * the server rejected, a connection killed under it), no `bm_load_…` or `bm_scratch_…` database
 * is left on the server, even when the load had already created a subscription (which makes
 * `DROP DATABASE` refuse the database until the subscription is gone).
 */
import assert from "node:assert/strict";
import { startCluster, type TestCluster } from "../../helpers/pg_cluster.ts";
import { dumpGzipped, once } from "../../helpers/engine_io.ts";
import { createDatabase, databaseUrl, psql, uniqueName } from "../../helpers/pg_tools.ts";
import { PostgresEngine } from "../../../src/engines/postgres/postgres_engine.ts";

/** A subscription naming a slot of its own (which the drop must never try to reach). */
const SUBSCRIPTION = `CREATE SUBSCRIPTION sub CONNECTION 'host=127.0.0.1 port=1 dbname=nowhere'
  PUBLICATION p WITH (connect = false, slot_name = 'bm_slot')`;

const LEFTOVERS = `SELECT datname FROM pg_database
  WHERE datname LIKE 'bm\\_load\\_%' OR datname LIKE 'bm\\_scratch\\_%'`;

async function withSource(
  sql: string,
  fn: (cluster: TestCluster, engine: PostgresEngine, src: string) => Promise<void>,
): Promise<void> {
  const cluster = await startCluster();
  const engine = new PostgresEngine(cluster.url, {});
  const name = uniqueName("left_src");
  const src = databaseUrl(cluster.url, name);
  try {
    await createDatabase(cluster.url, name);
    await psql(src, sql);
    await fn(cluster, engine, src);
  } finally {
    await psql(
      src,
      "ALTER SUBSCRIPTION sub DISABLE; ALTER SUBSCRIPTION sub SET (slot_name = NONE); DROP SUBSCRIPTION sub",
    )
      .catch(() => {});
    await cluster.stop();
  }
}

Deno.test("a --create the server rejects a statement of, after a subscription, leaves no load database", async () => {
  await withSource(
    `CREATE ROLE bm_gone SUPERUSER; ${SUBSCRIPTION}; ALTER SUBSCRIPTION sub OWNER TO bm_gone`,
    async (cluster, engine, src) => {
      const backup = await dumpGzipped(engine, src);
      await psql(src, "ALTER SUBSCRIPTION sub OWNER TO postgres; DROP ROLE bm_gone");
      const dst = databaseUrl(cluster.url, uniqueName("left_dst"));
      await assert.rejects(engine.restore(dst, once(backup), { create: true }), (e: Error) => {
        assert.match(
          e.message,
          /PostgreSQL rejected "\/\* backup-manager:owner \*\/ ALTER SUBSCRIPTION sub OWNER TO bm_gone;"/,
        );
        assert.match(
          e.message,
          /role "bm_gone" does not exist \[42704\] \(the database created for it was dropped again\)$/,
        );
        return true;
      });
      assert.equal(await psql(cluster.url, LEFTOVERS), "");
    },
  );
});

Deno.test("a --create whose connection is killed, after a subscription, leaves no load database", async () => {
  // The materialized view's refresh comes after the subscription and takes 2 s.
  await withSource(
    `CREATE TABLE t (a int); INSERT INTO t SELECT generate_series(1, 10);
     CREATE FUNCTION slow(int) RETURNS int LANGUAGE sql IMMUTABLE
       AS 'SELECT $1 + (SELECT 0 FROM pg_sleep(0.2))';
     CREATE MATERIALIZED VIEW mv AS SELECT slow(a) FROM t WITH NO DATA;
     REFRESH MATERIALIZED VIEW mv; ${SUBSCRIPTION}`,
    async (cluster, engine, src) => {
      const backup = await dumpGzipped(engine, src);
      const dst = databaseUrl(cluster.url, uniqueName("left_dst"));
      const restore = engine.restore(dst, once(backup), { create: true });
      const outcome = restore.then(() => undefined, (e: Error) => e);
      let killed = "";
      for (let i = 0; i < 100 && killed === ""; i++) {
        killed = await psql(
          cluster.url,
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE datname LIKE 'bm\\_load\\_%' AND query LIKE 'REFRESH MATERIALIZED VIEW%'`,
        );
        if (killed === "") await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(killed, "t\n");
      const error = await outcome;
      assert.ok(error instanceof Error, "the restore failed");
      assert.match(error.message, /the database created for it was dropped again/);
      assert.equal(await psql(cluster.url, LEFTOVERS), "");
    },
  );
});
