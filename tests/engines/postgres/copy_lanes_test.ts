/**
 * The dump's parallel table data (`_copy_lanes.ts`): with any number of jobs the script is the
 * serial one byte for byte, every lane reads the main transaction's snapshot while writers
 * commit, a server that refuses extra connections still gets a dump, and a failing sink stops
 * every lane's connection.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import postgres from "postgres";
import { startCluster, type TestCluster } from "../../helpers/pg_cluster.ts";
import { createDatabase, databaseUrl, psql, uniqueName } from "../../helpers/pg_tools.ts";
import { loadFixture } from "../../helpers/pg_fixture.ts";
import { dumpGzipped, once } from "../../helpers/engine_io.ts";
import { PostgresEngine } from "../../../src/engines/postgres/postgres_engine.ts";
import type { DumpOptions, DumpSummary } from "../../../src/engines/engine.ts";

/** The script's SHA-256 and size, and what the dump reported. */
async function dumpDigest(
  engine: PostgresEngine,
  url: string,
  options: DumpOptions,
): Promise<{ digest: string; bytes: number; summary: DumpSummary }> {
  const hash = createHash("sha256");
  let bytes = 0;
  const summary = await engine.dump(url, (chunk) => {
    hash.update(chunk);
    bytes += chunk.length;
    return Promise.resolve();
  }, options);
  return { digest: hash.digest("hex"), bytes, summary };
}

/** Sessions of ours (application_name backup-manager) on database `name`. */
async function ourSessions(cluster: TestCluster, name: string): Promise<number> {
  return Number(
    await psql(
      cluster.url,
      `SELECT count(*) FROM pg_stat_activity
       WHERE application_name = 'backup-manager' AND datname = '${name}'`,
    ),
  );
}

Deno.test("parallel dump", async (t) => {
  const cluster = await startCluster();
  const engine = new PostgresEngine(cluster.url, {});
  try {
    await t.step("is the serial dump byte for byte, with any number of jobs", async () => {
      const url = await createDatabase(cluster.url, uniqueName("fixture"));
      await loadFixture(url);
      await psql(
        url,
        `CREATE TABLE public.wide AS SELECT g AS id, md5(g::text) AS h, repeat('x', g % 300) AS pad
           FROM generate_series(1, 30000) g;
         CREATE TABLE public.empty_one (id int);`,
      );
      const serial = await dumpDigest(engine, url, { jobs: 1 });
      assert.ok(serial.summary.tables.length > 5);
      for (const jobs of [2, 3, 8]) {
        const parallel = await dumpDigest(engine, url, { jobs });
        assert.equal(parallel.bytes, serial.bytes, `jobs ${jobs}: size`);
        assert.equal(parallel.digest, serial.digest, `jobs ${jobs}: content`);
        assert.deepEqual(parallel.summary.tables, serial.summary.tables, `jobs ${jobs}: stats`);
      }
      const schemaOnly = await dumpDigest(engine, url, { jobs: 4, type: "schema" });
      assert.equal(
        schemaOnly.digest,
        (await dumpDigest(engine, url, { type: "schema", jobs: 1 })).digest,
      );
    });

    await t.step("reads every table in one snapshot while writers commit", async () => {
      const name = uniqueName("pairs");
      const url = await createDatabase(cluster.url, name);
      const tables = ["t1", "t2", "t3", "t4"];
      await psql(
        url,
        tables.map((table) =>
          `CREATE TABLE ${table} (id int PRIMARY KEY, pad text NOT NULL);
           INSERT INTO ${table} SELECT g, repeat('p', 200) FROM generate_series(1, 40000) g;`
        ).join("\n"),
      );
      // Each transaction adds the same id to every table: in any one snapshot the four tables
      // hold the same ids. Lanes that each took their own snapshot would see different counts.
      const writer = postgres(url, { max: 1, onnotice: () => {} });
      let stop = false;
      let next = 40001;
      const writing = (async () => {
        while (!stop) {
          const id = next++;
          await writer.begin(async (tx) => {
            for (const table of tables) {
              await tx.unsafe(`INSERT INTO ${table} VALUES (${id}, 'w')`);
            }
          });
        }
      })();
      let gz: Uint8Array;
      let summary: DumpSummary | undefined;
      try {
        while (next < 40020) await new Promise((r) => setTimeout(r, 5));
        gz = await dumpGzipped(engine, url, {
          jobs: 4,
          onProgress: () => {},
        });
        summary = (await dumpDigest(engine, url, { jobs: 4 })).summary;
      } finally {
        stop = true;
        await writing;
        await writer.end();
      }
      assert.ok(next > 40020, "the writer committed during the dumps");
      const counts = new Set(summary!.tables.map((table) => table.rows));
      assert.equal(counts.size, 1, `row counts ${[...summary!.tables.map((t) => t.rows)]}`);
      const copy = uniqueName("pairs_copy");
      await engine.restore(copy, once(gz!), { create: true });
      const ids = await psql(
        databaseUrl(cluster.url, copy),
        tables.map((table) => `SELECT count(*), sum(id) FROM ${table};`).join("\n"),
      );
      assert.equal(new Set(ids.trim().split("\n")).size, 1, ids);
    });

    await t.step("a server that allows one connection still gets the whole dump", async () => {
      const name = uniqueName("limited");
      await psql(
        cluster.url,
        `CREATE ROLE ${name} LOGIN CONNECTION LIMIT 1; CREATE DATABASE ${name} OWNER ${name}`,
      );
      const url = `postgres://${name}@127.0.0.1:${cluster.port}/${name}`;
      await psql(
        url,
        "CREATE TABLE a AS SELECT generate_series(1, 5000) AS id; CREATE TABLE b (v text);",
      );
      const limited = new PostgresEngine(url, {});
      const serial = await dumpDigest(limited, url, { jobs: 1 });
      const parallel = await dumpDigest(limited, url, { jobs: 4 });
      assert.equal(parallel.digest, serial.digest);
      assert.equal(parallel.summary.tables.find((t) => t.name === "public.a")?.rows, 5000);
    });

    await t.step("a sink that fails stops the dump and every connection it opened", async () => {
      const name = uniqueName("sinkfail");
      const url = await createDatabase(cluster.url, name);
      await psql(
        url,
        ["a", "b", "c"].map((table) =>
          `CREATE TABLE ${table} AS SELECT g AS id, repeat('z', 500) AS pad
             FROM generate_series(1, 20000) g;`
        ).join("\n"),
      );
      let written = 0;
      await assert.rejects(
        engine.dump(url, (chunk) => {
          written += chunk.length;
          return written > 3_000_000
            ? Promise.reject(new Error("the disk is full"))
            : Promise.resolve();
        }, { jobs: 3 }),
        /the disk is full/,
      );
      for (let i = 0; i < 50 && await ourSessions(cluster, name) > 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(await ourSessions(cluster, name), 0);
    });
  } finally {
    await cluster.stop();
  }
});
