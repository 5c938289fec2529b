/**
 * Subscriptions through backup and restore beyond the object round trip: a copy never starts
 * replicating (it comes back disabled, naming the slot it does not own), and a restore error on
 * one never shows the password in its connection string.
 */
import assert from "node:assert/strict";
import { startCluster } from "../../helpers/pg_cluster.ts";
import { dumpGzipped, once } from "../../helpers/engine_io.ts";
import { createDatabase, databaseUrl, psql, uniqueName } from "../../helpers/pg_tools.ts";
import { PostgresEngine } from "../../../src/engines/postgres/postgres_engine.ts";

/** Where the subscription points: nowhere it could reach, with a password to keep quiet. */
const SUBSCRIPTION_CONNECTION =
  "'host=127.0.0.1 port=1 dbname=elsewhere user=replicator password=s3cr3t'";

Deno.test("a restore that cannot create a subscription does not show its password", async () => {
  const cluster = await startCluster();
  const engine = new PostgresEngine(cluster.url, {});
  const [srcName, dstName] = [uniqueName("sub_src"), uniqueName("sub_dst")];
  const src = databaseUrl(cluster.url, srcName);
  try {
    await createDatabase(cluster.url, srcName);
    await psql(
      src,
      `CREATE PUBLICATION pub;
       CREATE SUBSCRIPTION sub CONNECTION ${SUBSCRIPTION_CONNECTION} PUBLICATION pub
         WITH (connect = false, slot_name = NONE);
       CREATE ROLE bm_plain LOGIN`,
    );
    const backup = await dumpGzipped(engine, src);
    await psql(cluster.url, `CREATE DATABASE ${dstName} OWNER bm_plain`);
    const plain = new URL(databaseUrl(cluster.url, dstName));
    plain.username = "bm_plain";
    await assert.rejects(
      engine.restore(plain.href, once(backup), { noOwner: true }),
      (e: Error) => {
        assert.match(e.message, /must be superuser to create subscriptions/);
        assert.match(e.message, /PostgreSQL rejected "CREATE SUBSCRIPTION sub"/);
        assert.doesNotMatch(e.message, /s3cr3t/);
        return true;
      },
    );
  } finally {
    await psql(src, "ALTER SUBSCRIPTION sub DISABLE; DROP SUBSCRIPTION sub").catch(() => {});
    await cluster.stop();
  }
});

Deno.test("a live subscription comes back disabled, leaving its slot and publisher to the source", async () => {
  const cluster = await startCluster({ settings: { wal_level: "logical" } });
  const engine = new PostgresEngine(cluster.url, {});
  const names = [uniqueName("pub"), uniqueName("sub_src"), uniqueName("sub_copy")];
  const [pub, src, copy] = names.map((n) => databaseUrl(cluster.url, n));
  const subscription = `SELECT subname, subenabled, subslotname, subpublications
    FROM pg_subscription WHERE subdbid = (SELECT oid FROM pg_database
      WHERE datname = current_database())`;
  try {
    for (const name of names.slice(0, 2)) await createDatabase(cluster.url, name);
    const table = "CREATE TABLE t (id int PRIMARY KEY, v text)";
    await psql(
      pub,
      `${table}; CREATE PUBLICATION pub FOR TABLE t;
      INSERT INTO t VALUES (1, 'one');
      SELECT pg_create_logical_replication_slot('bm_sub', 'pgoutput')`,
    );
    // On one cluster the slot is made beforehand (CREATE SUBSCRIPTION would wait on itself).
    const where = new URL(pub);
    const conninfo = `host=${where.hostname} port=${where.port} dbname=${names[0]} user=postgres`;
    await psql(
      src,
      `${table}; CREATE SUBSCRIPTION sub CONNECTION '${conninfo}' PUBLICATION pub
        WITH (create_slot = false, slot_name = 'bm_sub')`,
    );
    await waitFor(async () => await psql(src, "SELECT count(*) FROM t") === "1\n");

    await engine.restore(copy, once(await dumpGzipped(engine, src)), { create: true });
    assert.equal(await psql(copy, subscription), "sub|f|bm_sub|{pub}\n");
    assert.equal(await psql(src, subscription), "sub|t|bm_sub|{pub}\n");
    await psql(pub, "INSERT INTO t VALUES (2, 'two')");
    await waitFor(async () => await psql(src, "SELECT count(*) FROM t") === "2\n");
    assert.equal(await psql(copy, "SELECT id, v FROM t"), "1|one\n");
  } finally {
    await psql(copy, "ALTER SUBSCRIPTION sub SET (slot_name = NONE); DROP SUBSCRIPTION sub")
      .catch(() => {});
    await psql(src, "DROP SUBSCRIPTION sub").catch(() => {});
    await cluster.stop();
  }
});

/** Polls `done` every 100 ms for up to 20 s. */
async function waitFor(done: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await done()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("Timed out waiting for replication");
}
