/**
 * PostgreSQL backups kept in a real S3 bucket (radosgw): create straight into the bucket, verify
 * with a restore test, and restore into a new database with --create, row for row.
 */
import assert from "node:assert/strict";
import { startCluster } from "../helpers/pg_cluster.ts";
import { FakeClock, runCli } from "../helpers/cli.ts";
import { withWorkspace } from "../helpers/workspace.ts";
import {
  createDatabase,
  databaseUrl,
  dropDatabase,
  psql,
  uniqueName,
} from "../helpers/pg_tools.ts";
import { dataDigests, tableRows } from "../helpers/pg_digests.ts";
import { s3Env, withBucket } from "../helpers/s3_cli.ts";

const SCHEMA = `
  CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE);
  CREATE TABLE orders (
    id bigint PRIMARY KEY, customer int REFERENCES customers, total numeric(12, 2),
    placed timestamptz, items jsonb, receipt bytea);
  INSERT INTO customers (name, email)
    SELECT 'customer ' || g || E'\\ttab', 'c' || g || '@example.com' FROM generate_series(1, 400) g;
  INSERT INTO orders
    SELECT g, 1 + g % 400, g * 1.25, '2026-11-01T00:00:00Z'::timestamptz + g * interval '1 minute',
      jsonb_build_object('sku', 'A-' || g, 'qty', g % 7), decode(md5(g::text), 'hex')
    FROM generate_series(1, 2000) g;`;

Deno.test("a PostgreSQL backup created in an S3 bucket verifies and restores into a new database with --create", async () => {
  const cluster = await startCluster();
  const source = uniqueName("app");
  const target = uniqueName("restored");
  try {
    const sourceUrl = await createDatabase(cluster.url, source);
    await psql(sourceUrl, SCHEMA);
    await withBucket((bucket) =>
      withWorkspace(async (ws) => {
        const env = s3Env(bucket.server, ws.root);
        const clock = new FakeClock();
        const url = bucket.url("pg/app");
        const common = ["--database", sourceUrl, "--dir", url];
        const created = await runCli(["create", ...common, "--format", "json"], { env, clock });
        assert.equal(created.code, 0, created.stderr);
        const meta = JSON.parse(created.stdout);
        assert.equal(meta.engine, "postgres");
        assert.deepEqual(meta.tables.map((t: { name: string; rows: number }) => [t.name, t.rows]), [
          ["public.customers", 400],
          ["public.orders", 2000],
        ]);
        const stored = await bucket.read(`pg/app/${meta.id}.sql.gz`);
        assert.equal(stored.length, meta.sizes.compressed);

        const listed = await runCli(["list", "--dir", url], { env, clock });
        assert.match(listed.stdout, new RegExp(`^${meta.id}\\s+full\\s.*\\s2400\\s`, "m"));
        const verified = await runCli(["verify", meta.id, "--restore-test", ...common], {
          env,
          clock,
        });
        assert.equal(verified.code, 0, verified.stdout + verified.stderr);
        assert.match(verified.stdout, /ok {3}restore test: restored 2 tables, row counts match/);

        const restored = await runCli(
          ["restore", meta.id, ...common, "--to", target, "--create"],
          { env, clock },
        );
        assert.equal(restored.code, 0, restored.stderr);
        const targetUrl = databaseUrl(cluster.url, target);
        for (const table of ['"public"."customers"', '"public"."orders"']) {
          assert.deepEqual(await tableRows(targetUrl, table), await tableRows(sourceUrl, table));
        }
        assert.deepEqual(await dataDigests(targetUrl), await dataDigests(sourceUrl));
        assert.deepEqual(
          [...Deno.readDirSync(ws.root)].map((e) => e.name),
          ["state"],
          "nothing but the run lock's state is written on this machine",
        );
      })
    );
  } finally {
    await dropDatabase(cluster.url, target).catch(() => {});
    await cluster.stop();
  }
});
