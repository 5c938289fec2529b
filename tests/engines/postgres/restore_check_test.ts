/**
 * The PostgreSQL restore checks what it restored and treats the backup as input, on a real
 * cluster: row counts that differ from the sidecar's (from the COPY blocks' rows) roll the
 * one-transaction restore back and drop the `--create` load database; an endless statement and
 * an endless COPY row stop with one line while they are read; a gzip bomb stops at the
 * sidecar's raw size.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { gzipSync } from "node:zlib";
import { startCluster } from "../../helpers/pg_cluster.ts";
import { createDatabase, psql, uniqueName } from "../../helpers/pg_tools.ts";
import { once } from "../../helpers/engine_io.ts";
import { PostgresEngine } from "../../../src/engines/postgres/postgres_engine.ts";
import { copyTableName } from "../../../src/engines/postgres/_load_steps.ts";
import type { ExpectedContent } from "../../../src/engines/engine.ts";
import { IntegrityError } from "../../../src/core/errors.ts";

const SOURCE = `
  CREATE TABLE orders (id int PRIMARY KEY, v text);
  CREATE TABLE "Odd ""name""" (k text);
  CREATE TABLE empty (k int);
  INSERT INTO orders SELECT g, 'v' || g FROM generate_series(1, 340) g;
  INSERT INTO "Odd ""name""" SELECT 'k' || g FROM generate_series(1, 7) g;
`;

Deno.test("copyTableName() names a COPY's table as the sidecar does", () => {
  const cases: [string, string | undefined][] = [
    ["COPY public.orders (id, v) FROM stdin;", "public.orders"],
    ['COPY public."Odd ""name""" (k) FROM stdin;', 'public.Odd "name"'],
    ['COPY "my schema"."t" FROM stdin;', "my schema.t"],
    ["COPY t FROM stdin;", "t"],
    ["CREATE TABLE t (a int);", undefined],
  ];
  for (const [sql, name] of cases) assert.equal(copyTableName(sql), name, sql);
});

Deno.test("a PostgreSQL restore is checked against the sidecar and bounded by it", async (t) => {
  const cluster = await startCluster();
  const engine = new PostgresEngine(cluster.url, {});
  try {
    const source = await createDatabase(cluster.url, uniqueName("src"));
    await psql(source, SOURCE);
    const parts: Uint8Array[] = [];
    const summary = await engine.dump(source, (chunk) => {
      parts.push(chunk.slice());
      return Promise.resolve();
    });
    const sql = Buffer.concat(parts);
    const gz = new Uint8Array(gzipSync(sql));
    const expected: ExpectedContent = { tables: summary.tables, rawBytes: sql.length };
    assert.deepEqual(
      summary.tables.map((t) => [t.name, t.rows]).sort(),
      [['public.Odd "name"', 7], ["public.empty", 0], ["public.orders", 340]],
    );
    const databases = () =>
      psql(cluster.url, "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database");

    /** Restores into an existing empty database and with --create; returns both messages. */
    const refusals = async (input: Uint8Array, sidecar: ExpectedContent) => {
      const before = await databases();
      const existing = await createDatabase(cluster.url, uniqueName("existing"));
      const messages: string[] = [];
      await assert.rejects(engine.restore(existing, once(input), { expected: sidecar }), (e) => {
        assert.ok(e instanceof IntegrityError, String(e));
        messages.push(e.message);
        return true;
      });
      assert.equal(
        await psql(existing, "SELECT count(*) FROM pg_class WHERE relname = 'orders'"),
        "0\n",
      );
      const created = uniqueName("created");
      await assert.rejects(
        engine.restore(created, once(input), { create: true, jobs: 2, expected: sidecar }),
        (e) => {
          assert.ok(e instanceof IntegrityError, String(e));
          messages.push(e.message);
          return true;
        },
      );
      await psql(cluster.url, `DROP DATABASE ${existing.split("/").pop()}`);
      assert.equal(await databases(), before, "no database is left behind");
      return messages;
    };

    await t.step("its own sidecar: both ways restore", async () => {
      await engine.restore(await createDatabase(cluster.url, uniqueName("ok")), once(gz), {
        expected,
      });
      await engine.restore(uniqueName("ok_created"), once(gz), { create: true, expected });
    });

    await t.step(
      "partitions, inheritance, no columns, unlogged: their own sidecar agrees",
      async () => {
        const shapes = await createDatabase(cluster.url, uniqueName("shapes"));
        await psql(
          shapes,
          `CREATE SCHEMA "s.x";
         CREATE TABLE m (id int, at date) PARTITION BY RANGE (at);
         CREATE TABLE m_2025 PARTITION OF m FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
         CREATE TABLE m_2026 PARTITION OF m FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
         INSERT INTO m SELECT g, date '2025-06-01' + g FROM generate_series(1, 400) g;
         CREATE TABLE parent (a int);
         CREATE TABLE child (b int) INHERITS (parent);
         INSERT INTO parent VALUES (1), (2);
         INSERT INTO child VALUES (3, 4);
         CREATE TABLE nothing ();
         INSERT INTO nothing DEFAULT VALUES; INSERT INTO nothing DEFAULT VALUES;
         CREATE UNLOGGED TABLE "s.x"."u ""q""" (t text);
         INSERT INTO "s.x"."u ""q""" VALUES (E'a\\\\.b\\nc'), ('\\.');`,
        );
        const parts: Uint8Array[] = [];
        const dumped = await engine.dump(shapes, (chunk) => {
          parts.push(chunk.slice());
          return Promise.resolve();
        });
        const script = Buffer.concat(parts);
        const own: ExpectedContent = { tables: dumped.tables, rawBytes: script.length };
        assert.deepEqual(
          dumped.tables.map((t) => [t.name, t.rows]).sort(),
          [
            ["public.child", 1],
            ["public.m_2025", 213],
            ["public.m_2026", 187],
            ["public.nothing", 2],
            ["public.parent", 2],
            ['s.x.u "q"', 2],
          ],
        );
        const zipped = new Uint8Array(gzipSync(script));
        const into = await createDatabase(cluster.url, uniqueName("shapes_in"));
        await engine.restore(into, once(zipped), { expected: own });
        await engine.restore(uniqueName("shapes_created"), once(zipped), {
          create: true,
          jobs: 2,
          expected: own,
        });
      },
    );

    await t.step("a sidecar with another row count", async () => {
      const forged = structuredClone(expected);
      forged.tables.find((t) => t.name === "public.orders")!.rows = 340_000;
      const said = 'Cannot restore: restored table "public.orders" has 340 rows, the backup\'s ' +
        "sidecar says 340,000 (the SQL is not what the sidecar describes; ";
      assert.deepEqual(await refusals(gz, forged), [
        said + "nothing was changed)",
        said + "the database loaded for it was dropped, the target is as it was)",
      ]);
    });

    await t.step("a sidecar listing other tables", async () => {
      const other: ExpectedContent = {
        tables: [{ name: "public.invoices", rows: 12, bytes: 100 }],
        rawBytes: sql.length,
      };
      const messages = await refusals(gz, other);
      for (const message of messages) {
        assert.match(
          message,
          /^Cannot restore: restored table "public\.invoices" has 0 rows, the backup's sidecar says 12 /,
        );
      }
    });

    await t.step("an endless statement and an endless COPY row", async () => {
      const text = sql.toString();
      const endlessStatement = text.replace(
        "CREATE TABLE public.orders",
        "COMMENT ON TABLE public.empty IS '" + "x".repeat(20 << 20),
      );
      const cut = endlessStatement.indexOf("COMMENT ON TABLE public.empty");
      const line = endlessStatement.slice(0, cut).split("\n").length;
      for (
        const message of await refusals(gzipSync(endlessStatement), {
          ...expected,
          rawBytes: 64 << 20,
        })
      ) {
        assert.equal(
          message,
          `Cannot restore: the statement at line ${line} is longer than 16777216 bytes, more than ` +
            `backup-manager writes for this backup ("COMMENT ON TABLE public.empty IS 'xxxxxx …"): ` +
            "refusing to read on",
        );
      }
      const copy = /^COPY public\.orders \(id, v\) FROM stdin;\n/m.exec(text)!;
      const endlessRow = text.slice(0, copy.index + copy[0].length) + "1\t" + "v".repeat(20 << 20);
      const dataLine = text.slice(0, copy.index).split("\n").length + 1;
      for (
        const message of await refusals(gzipSync(endlessRow), { ...expected, rawBytes: 64 << 20 })
      ) {
        assert.equal(
          message,
          `Cannot restore: the COPY data at line ${dataLine} holds a row longer than 16777216 ` +
            "bytes, more than backup-manager writes for this backup: refusing to read on",
        );
      }
    });

    await t.step("a gzip bomb", async () => {
      const bomb = gzipSync(Buffer.concat([sql, Buffer.alloc(64 << 20, "\n")]));
      for (const message of await refusals(bomb, expected)) {
        assert.equal(
          message,
          `Cannot restore: the backup expands past the size its sidecar records (stopped at ${
            sql.length + (1 << 20)
          } bytes of SQL)`,
        );
      }
    });
  } finally {
    await cluster.stop();
  }
});
