/**
 * The PostgreSQL engine against a real throwaway cluster: connection failures, the COPY hang
 * workaround, snapshot consistency under concurrent writers, all-or-nothing restores.
 */
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import postgres from "postgres";
import { startCluster, type TestCluster } from "../../helpers/pg_cluster.ts";
import { createDatabase, databaseUrl, psql, uniqueName } from "../../helpers/pg_tools.ts";
import { dataDigests } from "../../helpers/pg_digests.ts";
import { PostgresEngine } from "../../../src/engines/postgres/postgres_engine.ts";
import { openConnection, parseLocation } from "../../../src/engines/postgres/_connection.ts";
import { copyTableOut } from "../../../src/engines/postgres/_copy.ts";
import { ChunkBuffer } from "../../../src/engines/chunk_buffer.ts";
import { GzipCompressor } from "../../../src/core/compressor.ts";
import { DatabaseError, DatabaseNotFoundError, RefusedError } from "../../../src/core/errors.ts";
import { dumpGzipped, once } from "../../helpers/engine_io.ts";

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not return within ${ms} ms`)), ms);
    }),
  ]);
}

Deno.test("PostgreSQL engine", async (t) => {
  const cluster: TestCluster = await startCluster();
  const engine = new PostgresEngine(cluster.url, {});
  try {
    await t.step("a query after a COPY through gzip returns (postgres.js COPY hang)", async () => {
      const url = await createDatabase(cluster.url, uniqueName("hang"));
      await psql(
        url,
        "CREATE TABLE t AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 50000) g",
      );
      const connection = openConnection(parseLocation(url));
      const compressor = new GzipCompressor(6, () => new Promise((r) => setTimeout(r, 1)));
      try {
        await connection.sql.begin(async (tx) => {
          const out = new ChunkBuffer((chunk) => compressor.write(chunk), 16 * 1024);
          const table = {
            oid: 0,
            schema: "public",
            name: "t",
            qualifiedName: "public.t",
            columns: ["g", "pad"],
            estimatedRows: -1,
            sizeBytes: 0,
          };
          const stats = await copyTableOut(tx, table, out, () => connection.resumeSockets());
          assert.equal(stats.rows, 50000);
          const [row] = await withTimeout(tx`SELECT 42 AS answer`, 10_000, "the query after COPY");
          assert.equal(row.answer, 42);
          await out.flush();
        });
        await compressor.end();
      } finally {
        compressor.abort();
        await connection.end();
      }
    });

    await t.step("connection failures are one clear line with a documented code", async () => {
      const refusedPort = await closedPort();
      const cases: { location: string; error: typeof DatabaseError; message: RegExp }[] = [
        {
          location: `postgres://postgres@127.0.0.1:${refusedPort}/db`,
          error: DatabaseError,
          message: new RegExp(
            `^Cannot connect to PostgreSQL at "postgres://postgres@127\\.0\\.0\\.1:${refusedPort}/db": connection refused \\(is the server running and listening there\\?\\)$`,
          ),
        },
        {
          location: databaseUrl(cluster.url, "no_such_db"),
          error: DatabaseNotFoundError,
          message: /^Cannot open database ".*\/no_such_db": it does not exist/,
        },
        {
          location: "postgres://postgres@no-such-host.invalid:5432/db",
          error: DatabaseError,
          message: /: unknown host "no-such-host\.invalid" \(check the host name\)$/,
        },
        {
          location: `postgres:///db?host=${encodeURIComponent("/nonexistent/dir")}&port=5999`,
          error: DatabaseError,
          message: /: no server socket in "\/nonexistent\/dir" \(is the server running\?\)$/,
        },
      ];
      for (const { location, error, message } of cases) {
        await assert.rejects(engine.describe(location), (e: Error) => {
          assert.ok(e instanceof error, `${location}: ${e.name} ${e.message}`);
          assert.match(e.message, message);
          assert.doesNotMatch(e.message, /\n/);
          return true;
        });
      }
    });

    await t.step("a server that never answers times out with one line", async () => {
      const server = createServer(() => {}); // accepts, never speaks
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const port = (server.address() as { port: number }).port;
      try {
        await assert.rejects(
          engine.describe(`postgres://postgres@127.0.0.1:${port}/db?connect_timeout=1`),
          (e: Error) => {
            assert.ok(e instanceof DatabaseError);
            assert.match(e.message, /: no answer within 1 s \(check the host, port and firewall/);
            return true;
          },
        );
      } finally {
        server.close();
      }
    });

    await t.step("a wrong password fails with one line that never shows it", async () => {
      if (cluster.socketDir === "") return; // an external server's pg_hba is not ours to edit
      await psql(cluster.url, "CREATE ROLE pw_user LOGIN PASSWORD 'right-secret-123'");
      const hba = join(cluster.socketDir, "data", "pg_hba.conf");
      const original = await Deno.readTextFile(hba);
      await Deno.writeTextFile(
        hba,
        "host all pw_user 127.0.0.1/32 scram-sha-256\n" + original,
      );
      await psql(cluster.url, "SELECT pg_reload_conf()");
      const base = `postgres://pw_user:wrong-secret-456@127.0.0.1:${cluster.port}/postgres`;
      await assert.rejects(engine.describe(base), (e: Error) => {
        assert.ok(e instanceof DatabaseError);
        assert.equal(
          e.message,
          `Cannot connect to PostgreSQL at "postgres://pw_user@127.0.0.1:${cluster.port}/postgres": password authentication failed for user "pw_user" (check the password in PGPASSWORD or the URL)`,
        );
        return true;
      });
      const viaEnv = new PostgresEngine(`postgres://pw_user@127.0.0.1:${cluster.port}/postgres`, {
        PGPASSWORD: "right-secret-123",
      });
      const info = await viaEnv.describe(`postgres://pw_user@127.0.0.1:${cluster.port}/postgres`);
      assert.match(info.engineVersion, /^\d+/);
      const noPassword = new PostgresEngine(cluster.url, {});
      await assert.rejects(
        noPassword.describe(`postgres://pw_user@127.0.0.1:${cluster.port}/postgres`),
        /no password was given: set PGPASSWORD or put it in the URL/,
      );
    });

    await t.step("a unix socket and PG* variables locate the database", async () => {
      if (cluster.socketDir === "") return;
      const name = uniqueName("sock");
      await createDatabase(cluster.url, name);
      const viaEnv = new PostgresEngine("postgres://", {
        PGHOST: cluster.socketDir,
        PGPORT: String(cluster.port),
        PGUSER: "postgres",
        PGDATABASE: name,
      });
      assert.equal(await viaEnv.exists("postgres://"), true);
      const encoded = `postgres://postgres@${
        encodeURIComponent(cluster.socketDir)
      }:${cluster.port}/${name}`;
      assert.equal(await engine.exists(encoded), true);
      assert.equal(
        await engine.exists(
          `postgres:///${name}?host=${cluster.socketDir}&port=${cluster.port}&user=postgres`,
        ),
        true,
      );
    });

    await t.step("a dump taken while writers move money keeps the sum (one snapshot)", async () => {
      const url = await createDatabase(cluster.url, uniqueName("bank"));
      await psql(
        url,
        `CREATE TABLE a (id int PRIMARY KEY, balance bigint NOT NULL);
         CREATE TABLE b (id int PRIMARY KEY, balance bigint NOT NULL);
         INSERT INTO a SELECT g, 1000 FROM generate_series(1, 20000) g;
         INSERT INTO b SELECT g, 1000 FROM generate_series(1, 20000) g;`,
      );
      const writer = postgres(url, { max: 2, onnotice: () => {} });
      let stop = false;
      let transfers = 0;
      const writing = (async () => {
        while (!stop) {
          const from = 1 + Math.floor(Math.random() * 20000);
          const to = 1 + Math.floor(Math.random() * 20000);
          await writer.begin(async (tx) => {
            await tx`UPDATE a SET balance = balance - 7 WHERE id = ${from}`;
            await tx`UPDATE b SET balance = balance + 7 WHERE id = ${to}`;
          });
          transfers++;
        }
      })();
      let gz: Uint8Array;
      try {
        await new Promise((r) => setTimeout(r, 50));
        gz = await dumpGzipped(engine, url);
      } finally {
        stop = true;
        await writing;
        await writer.end();
      }
      assert.ok(transfers > 0);
      const copy = uniqueName("bank_copy");
      await engine.restore(copy, once(gz), { create: true });
      const sum = await psql(
        databaseUrl(cluster.url, copy),
        "SELECT (SELECT sum(balance) FROM a) + (SELECT sum(balance) FROM b)",
      );
      assert.equal(sum.trim(), "40000000");
    });

    await t.step("restore refuses a non-empty target and --clean replaces it", async () => {
      const url = await createDatabase(cluster.url, uniqueName("src"));
      await psql(
        url,
        "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'one'), (2, 'two');",
      );
      const gz = await dumpGzipped(engine, url);
      const target = uniqueName("dst");
      const targetUrl = await createDatabase(cluster.url, target);
      await psql(
        targetUrl,
        "CREATE TABLE t (id int, v text); INSERT INTO t VALUES (9, 'other'); CREATE TABLE keep (x int);",
      );
      await assert.rejects(engine.restore(target, once(gz)), (e: Error) => {
        assert.ok(e instanceof RefusedError);
        assert.match(e.message, /is not empty \(use --clean/);
        return true;
      });
      assert.equal((await psql(targetUrl, "SELECT string_agg(v, ',') FROM t")).trim(), "other");
      await engine.restore(target, once(gz), { clean: true });
      assert.equal(
        (await psql(targetUrl, "SELECT string_agg(v, ',' ORDER BY id) FROM t")).trim(),
        "one,two",
      );
      assert.equal((await psql(targetUrl, "SELECT count(*) FROM keep")).trim(), "0");
    });

    await t.step("a restore that fails leaves the target exactly as it was", async () => {
      const url = await createDatabase(cluster.url, uniqueName("src"));
      await psql(
        url,
        "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 1000) g;",
      );
      const script = new TextDecoder().decode(gunzipSync(await dumpGzipped(engine, url)));
      const broken = gzipSync(
        new TextEncoder().encode(script.replace("\n999\tv999\n", "\nnot-a-number\tv999\n")),
      );
      const target = uniqueName("dst");
      const targetUrl = await createDatabase(cluster.url, target);
      await psql(targetUrl, "CREATE TABLE t (id int, v text); INSERT INTO t VALUES (5, 'mine');");
      const before = await dataDigests(targetUrl);
      await assert.rejects(engine.restore(target, once(broken), { clean: true }), (e: Error) => {
        assert.ok(e instanceof DatabaseError);
        assert.match(
          e.message,
          /PostgreSQL rejected "COPY public\.t \(id, v\) FROM stdin;" \(statement \d+, line \d+, row at line \d+ of the script\): .*invalid input syntax for type integer.*\(nothing was changed\)$/,
        );
        return true;
      });
      assert.deepEqual(await dataDigests(targetUrl), before);
      const created = uniqueName("created");
      await assert.rejects(
        engine.restore(created, once(broken), { create: true }),
        /dropped again/,
      );
      assert.equal(await engine.exists(created), false);
    });

    await t.step("a truncated script is refused and changes nothing", async () => {
      const url = await createDatabase(cluster.url, uniqueName("src"));
      await psql(url, "CREATE TABLE t (id int); INSERT INTO t VALUES (1);");
      const script = gunzipSync(await dumpGzipped(engine, url));
      const cut = gzipSync(script.subarray(0, script.length - 60));
      const target = uniqueName("dst");
      await createDatabase(cluster.url, target);
      await assert.rejects(engine.restore(target, once(cut)), /cut short/);
      assert.equal(await engine.isEmpty(target), true);
    });

    await t.step("--no-owner and --no-privileges skip the marked statements", async () => {
      const url = await createDatabase(cluster.url, uniqueName("src"));
      await psql(
        url,
        "CREATE ROLE app_owner; CREATE TABLE t (id int); ALTER TABLE t OWNER TO app_owner;",
      );
      const gz = await dumpGzipped(engine, url);
      const target = uniqueName("dst");
      const targetUrl = await createDatabase(cluster.url, target);
      await engine.restore(target, once(gz), { noOwner: true, noPrivileges: true });
      assert.equal(
        (await psql(targetUrl, "SELECT tableowner FROM pg_tables WHERE tablename = 't'")).trim(),
        "postgres",
      );
      await psql(url, "ALTER TABLE t OWNER TO postgres; DROP ROLE app_owner;");
    });

    await t.step("scratch databases are created and dropped", async () => {
      const scratch = await engine.createScratch();
      assert.equal(await engine.exists(scratch.location), true);
      assert.equal(await engine.isEmpty(scratch.location), true);
      await scratch.drop();
      assert.equal(await engine.exists(scratch.location), false);
    });
  } finally {
    await cluster.stop();
  }
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
