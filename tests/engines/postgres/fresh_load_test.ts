/**
 * The parallel `restore --create` (`_fresh_load.ts`): which statements may run side by side, that
 * it builds the same database as the one-transaction restore, and that a failure in the middle
 * leaves neither the target nor the database it was loading into.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { startCluster } from "../../helpers/pg_cluster.ts";
import { createDatabase, databaseUrl, psql, uniqueName } from "../../helpers/pg_tools.ts";
import { assertSameDatabase } from "../../helpers/pg_compare.ts";
import { PostgresEngine } from "../../../src/engines/postgres/postgres_engine.ts";
import { parallelKind } from "../../../src/engines/postgres/_fresh_load.ts";
import { DatabaseError } from "../../../src/core/errors.ts";

Deno.test("parallelKind() lets only plain index and key builds run side by side", () => {
  const cases: [string, ReturnType<typeof parallelKind>][] = [
    ["CREATE INDEX a_v ON public.a USING btree (v);", { kind: "index", table: "public.a" }],
    [
      'CREATE UNIQUE INDEX "x y" ON "my schema"."T 1" USING btree (v);',
      { kind: "index", table: '"my schema"."T 1"' },
    ],
    ["CREATE INDEX p_v ON ONLY public.p USING btree (v);", undefined],
    [
      "ALTER TABLE ONLY public.a\n    ADD CONSTRAINT a_pkey PRIMARY KEY (id);",
      { kind: "key", table: "public.a" },
    ],
    ["ALTER TABLE ONLY public.a ADD CONSTRAINT a_v UNIQUE (v);", {
      kind: "key",
      table: "public.a",
    }],
    [
      "ALTER TABLE ONLY public.a ADD CONSTRAINT a_f FOREIGN KEY (b) REFERENCES public.b(id);",
      undefined,
    ],
    ["ALTER TABLE ONLY public.a ADD CONSTRAINT a_c CHECK ((v > 0));", undefined],
    ["ALTER TABLE public.p ADD CONSTRAINT p_pkey PRIMARY KEY (id);", undefined],
    ["ALTER INDEX public.p_v ATTACH PARTITION public.c_v;", undefined],
    ["COMMENT ON INDEX public.a_v IS 'x';", undefined],
  ];
  for (const [sql, expected] of cases) assert.deepEqual(parallelKind(sql), expected, sql);
});

const SOURCE = `
  CREATE TABLE a (id int PRIMARY KEY, v text UNIQUE, n int);
  CREATE TABLE b (id int, a_id int, w text, CONSTRAINT b_pkey PRIMARY KEY (id));
  CREATE TABLE c (k text, d date);
  CREATE TABLE p (id int, v int) PARTITION BY RANGE (id);
  CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (1000);
  CREATE TABLE p2 PARTITION OF p FOR VALUES FROM (1000) TO (3000);
  ALTER TABLE p ADD PRIMARY KEY (id);
  CREATE INDEX p_v ON p (v);
  INSERT INTO a SELECT g, 'v' || g, g % 7 FROM generate_series(1, 2000) g;
  INSERT INTO b SELECT g, 1 + g % 2000, repeat('w', g % 30) FROM generate_series(1, 3000) g;
  INSERT INTO c SELECT 'k' || (g % 50), date '2020-01-01' + g FROM generate_series(1, 2500) g;
  INSERT INTO p SELECT g, g % 13 FROM generate_series(0, 2999) g;
  ALTER TABLE b ADD CONSTRAINT b_a FOREIGN KEY (a_id) REFERENCES a (id);
  CREATE INDEX a_n ON a (n);
  CREATE INDEX b_w ON b (w);
  CREATE INDEX c_k ON c (k);
  CREATE UNIQUE INDEX c_kd ON c (k, d);
  COMMENT ON INDEX c_k IS 'by key';
  CREATE VIEW big_a AS SELECT * FROM a WHERE n > 3;
`;

async function loadDatabases(cluster: string): Promise<string[]> {
  return (await psql(
    cluster,
    "SELECT datname FROM pg_database WHERE datname LIKE 'bm_load_%'",
  )).split("\n").filter((line) => line.trim() !== "");
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

Deno.test("restore --create loads in parallel and matches the one-transaction restore, or leaves nothing", async (t) => {
  const cluster = await startCluster();
  try {
    const engine = new PostgresEngine(cluster.url, {});
    const source = await createDatabase(cluster.url, uniqueName("src"));
    await psql(source, SOURCE);
    const parts: Uint8Array[] = [];
    await engine.dump(source, (chunk) => Promise.resolve(void parts.push(chunk.slice())));
    const script = new TextDecoder().decode(
      new Uint8Array(parts.flatMap((part) => [...part])),
    );
    const gz = gzipSync(new TextEncoder().encode(script));

    await t.step("gives the same schema and data as the one-transaction path", async () => {
      const single = uniqueName("single");
      await createDatabase(cluster.url, single);
      await engine.restore(single, once(gz));
      const parallel = uniqueName("parallel");
      await engine.restore(parallel, once(gz), { create: true });
      await assertSameDatabase(
        databaseUrl(cluster.url, single),
        databaseUrl(cluster.url, parallel),
      );
      await assertSameDatabase(source, databaseUrl(cluster.url, parallel));
      assert.deepEqual(await loadDatabases(cluster.url), []);
    });

    await t.step(
      "a failure among the parallel index builds leaves no database behind",
      async () => {
        assert.match(script, /CREATE INDEX c_k ON public\.c /);
        const broken = gzipSync(
          new TextEncoder().encode(
            script.replace("CREATE INDEX c_k ON public.c ", "CREATE UNIQUE INDEX c_k ON public.c "),
          ),
        );
        const target = uniqueName("broken");
        await assert.rejects(engine.restore(target, once(broken), { create: true }), (e: Error) => {
          assert.ok(e instanceof DatabaseError);
          assert.match(
            e.message,
            /PostgreSQL rejected "CREATE UNIQUE INDEX c_k ON public\.c .*could not create unique index "c_k".*\(the database created for it was dropped again\)$/,
          );
          return true;
        });
        assert.equal(await engine.exists(target), false);
        assert.deepEqual(await loadDatabases(cluster.url), []);
      },
    );

    await t.step("a truncated script leaves no database behind", async () => {
      const cut = gzipSync(
        new TextEncoder().encode(script).subarray(0, Math.floor(script.length * 0.7)),
      );
      const target = uniqueName("cut");
      await assert.rejects(
        engine.restore(target, once(cut), { create: true }),
        /cut short|truncated/,
      );
      assert.equal(await engine.exists(target), false);
      assert.deepEqual(await loadDatabases(cluster.url), []);
    });
  } finally {
    await cluster.stop();
  }
});
