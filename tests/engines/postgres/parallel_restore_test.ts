/**
 * `restore --create` on several connections (`_fresh_load.ts`): COPY blocks of different tables
 * load side by side from one read of the script, index and key builds start once their table is
 * loaded, foreign keys are added `NOT VALID` and validated in parallel. The result must be the
 * database the one-transaction restore builds, for any number of jobs and when the data waits on
 * disk; a failure late in the script must leave nothing behind.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { startCluster } from "../../helpers/pg_cluster.ts";
import { createDatabase, databaseUrl, psql, uniqueName } from "../../helpers/pg_tools.ts";
import { assertSameDatabase } from "../../helpers/pg_compare.ts";
import { loadFixture } from "../../helpers/pg_fixture.ts";
import { once } from "../../helpers/engine_io.ts";
import { PostgresEngine } from "../../../src/engines/postgres/postgres_engine.ts";
import { foreignKeyOf, loadFresh } from "../../../src/engines/postgres/_fresh_load.ts";
import { parseLocation, withDatabase } from "../../../src/engines/postgres/_connection.ts";
import { ScriptSource } from "../../../src/engines/postgres/_script_source.ts";
import { DatabaseError } from "../../../src/core/errors.ts";

Deno.test("foreignKeyOf() finds the foreign keys that may be validated on their own", () => {
  const cases: [string, ReturnType<typeof foreignKeyOf>][] = [
    [
      "ALTER TABLE ONLY public.b ADD CONSTRAINT b_a FOREIGN KEY (a_id) REFERENCES public.a(id);",
      { table: "public.b", name: "b_a", references: "public.a", validate: true },
    ],
    [
      'ALTER TABLE ONLY "s x"."T" ADD CONSTRAINT "F k" FOREIGN KEY ("c 1", c2) REFERENCES "o"."P q"(x, y) ON DELETE CASCADE DEFERRABLE;',
      { table: '"s x"."T"', name: '"F k"', references: '"o"."P q"', validate: true },
    ],
    [
      "ALTER TABLE ONLY public.b ADD CONSTRAINT b_a FOREIGN KEY (a_id) REFERENCES public.a(id) NOT VALID;",
      { table: "public.b", name: "b_a", references: "public.a", validate: false },
    ],
    // A partitioned table (no ONLY) cannot take a NOT VALID foreign key on this server version.
    ["ALTER TABLE public.p ADD CONSTRAINT p_a FOREIGN KEY (a) REFERENCES public.a(id);", undefined],
    ["ALTER TABLE ONLY public.a ADD CONSTRAINT a_pkey PRIMARY KEY (id);", undefined],
    [
      "ALTER TABLE ONLY public.b ADD CONSTRAINT b_a FOREIGN KEY (a_id) REFERENCES public.a(id);\nSELECT 1;",
      undefined,
    ],
  ];
  for (const [sql, expected] of cases) assert.deepEqual(foreignKeyOf(sql), expected, sql);
});

const SOURCE = `
  CREATE TABLE a (id int PRIMARY KEY, v text UNIQUE);
  CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a, parent int REFERENCES b);
  CREATE TABLE c (id int, a_id int, b_id int);
  CREATE TABLE p (id int PRIMARY KEY, v int) PARTITION BY RANGE (id);
  CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (2000);
  CREATE TABLE p2 PARTITION OF p FOR VALUES FROM (2000) TO (9000);
  CREATE TABLE q (id int, p_id int REFERENCES p);
  INSERT INTO a SELECT g, 'v' || g FROM generate_series(1, 4000) g;
  INSERT INTO b SELECT g, 1 + g % 4000, CASE WHEN g > 1 THEN g - 1 END FROM generate_series(1, 6000) g;
  INSERT INTO c SELECT g, 1 + g % 4000, 999999 FROM generate_series(1, 3000) g;
  INSERT INTO p SELECT g, g % 17 FROM generate_series(0, 8999) g;
  INSERT INTO q SELECT g, g FROM generate_series(0, 8999, 3) g;
  ALTER TABLE c ADD CONSTRAINT c_a FOREIGN KEY (a_id) REFERENCES a DEFERRABLE INITIALLY DEFERRED;
  ALTER TABLE c ADD CONSTRAINT c_b FOREIGN KEY (b_id) REFERENCES b NOT VALID;
  CREATE INDEX c_a_id ON c (a_id);
  COMMENT ON INDEX c_a_id IS 'by a';
  CREATE INDEX b_a_id ON b (a_id);
  CREATE INDEX p_v ON p (v);
  CREATE SEQUENCE counter START 5;
  SELECT setval('counter', 42);
  CREATE SEQUENCE unused START 7;
`;

async function loadDatabases(cluster: string): Promise<string[]> {
  return (await psql(
    cluster,
    "SELECT datname FROM pg_database WHERE datname LIKE 'bm_load_%'",
  )).split("\n").filter((line) => line.trim() !== "");
}

async function dumpScript(engine: PostgresEngine, url: string): Promise<string> {
  const parts: Uint8Array[] = [];
  await engine.dump(url, (chunk) => Promise.resolve(void parts.push(chunk.slice())));
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return new TextDecoder().decode(bytes);
}

function gz(script: string): Uint8Array {
  return gzipSync(new TextEncoder().encode(script));
}

Deno.test("parallel restore --create", async (t) => {
  const cluster = await startCluster();
  const engine = new PostgresEngine(cluster.url, {});
  try {
    const source = await createDatabase(cluster.url, uniqueName("src"));
    await loadFixture(source);
    await psql(source, SOURCE);
    const script = await dumpScript(engine, source);
    const single = uniqueName("single");
    await createDatabase(cluster.url, single);
    await engine.restore(single, once(gz(script)));

    await t.step("builds the one-transaction restore's database with 1, 2 or 4 jobs", async () => {
      for (const jobs of [1, 2, 4]) {
        const target = uniqueName(`jobs${jobs}`);
        await engine.restore(target, once(gz(script)), { create: true, jobs });
        await assertSameDatabase(
          databaseUrl(cluster.url, single),
          databaseUrl(cluster.url, target),
        );
        const keys = await psql(
          databaseUrl(cluster.url, target),
          `SELECT conname || ':' || convalidated FROM pg_constraint
           WHERE conname IN ('c_a', 'c_b', 'b_a_id_fkey', 'q_p_id_fkey') ORDER BY conname`,
        );
        assert.equal(
          keys.trim(),
          "b_a_id_fkey:true\nc_a:true\nc_b:false\nq_p_id_fkey:true",
          "validated keys are valid again, a key that was not stays so",
        );
      }
      await assertSameDatabase(source, databaseUrl(cluster.url, single));
      assert.deepEqual(await loadDatabases(cluster.url), []);
    });

    await t.step("loads the same when the data read ahead waits on disk", async () => {
      const target = withDatabase(parseLocation(cluster.url), uniqueName("spilled"));
      const reader = new ScriptSource(once(gz(script)), { splitAfterData: true });
      try {
        let first = await reader.next();
        while (
          first?.type === "encoding" || first?.type === "locale" || first?.type === "database"
        ) first = await reader.next();
        await loadFresh(target, { encoding: "UTF8" }, first, reader, () => {}, {
          jobs: 3,
          limits: { memoryBytes: 4096, diskBytes: 64 * 1024 },
        });
      } finally {
        reader.close();
      }
      await assertSameDatabase(
        databaseUrl(cluster.url, single),
        databaseUrl(cluster.url, target.database),
        { ignoreFacts: ["collate", "ctype"] },
      );
    });

    await t.step(
      "a bad row in the last table leaves neither target nor load database",
      async () => {
        const last = [...script.matchAll(/^COPY (\S+) .*FROM stdin;$/gm)].at(-1)!;
        const start = last.index! + last[0].length + 1;
        const broken = script.slice(0, start) + "not a row\n" + script.slice(start);
        const target = uniqueName("late");
        await assert.rejects(
          engine.restore(target, once(gz(broken)), { create: true, jobs: 2 }),
          (e: Error) => {
            assert.ok(e instanceof DatabaseError, e.message);
            assert.match(
              e.message,
              new RegExp(
                `PostgreSQL rejected "COPY ${
                  last[1].replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
                } .*\\(the database created for it was dropped again\\)$`,
              ),
            );
            return true;
          },
        );
        assert.equal(await engine.exists(target), false);
        assert.deepEqual(await loadDatabases(cluster.url), []);
      },
    );

    await t.step(
      "a row a foreign key rejects fails its validation, named as in the script",
      async () => {
        const copyB = /^COPY public\.b \(id, a_id, parent\) FROM stdin;$/m.exec(script)!;
        const start = copyB.index + copyB[0].length + 1;
        const orphan = script.slice(0, start) + "777777\t888888\t\\N\n" + script.slice(start);
        const target = uniqueName("orphan");
        await assert.rejects(
          engine.restore(target, once(gz(orphan)), { create: true, jobs: 2 }),
          (e: Error) => {
            assert.ok(e instanceof DatabaseError, e.message);
            assert.match(
              e.message,
              /PostgreSQL rejected "ALTER TABLE ONLY public\.b ADD CONSTRAINT b_a_id_fkey FOREIGN KEY \(a_id\) REFERENCES public\.a\(id\);" \(statement \d+, line \d+ of the script\): .*violates foreign key constraint "b_a_id_fkey".*\(the database created for it was dropped again\)$/,
            );
            return true;
          },
        );
        assert.equal(await engine.exists(target), false);
        assert.deepEqual(await loadDatabases(cluster.url), []);
      },
    );

    await t.step("the same bad row refused in one transaction changes nothing", async () => {
      const last = [...script.matchAll(/^COPY (\S+) .*FROM stdin;$/gm)].at(-1)!;
      const start = last.index! + last[0].length + 1;
      const broken = script.slice(0, start) + "not a row\n" + script.slice(start);
      const target = uniqueName("late_single");
      await createDatabase(cluster.url, target);
      await assert.rejects(
        engine.restore(target, once(gz(broken)), { jobs: 4 }),
        /nothing was changed/,
      );
      assert.equal(await engine.isEmpty(target), true);
    });
  } finally {
    await cluster.stop();
  }
});
