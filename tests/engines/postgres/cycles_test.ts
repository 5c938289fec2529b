/**
 * Dependency cycles the catalogs allow but a script cannot write in one pass, and the order of
 * materialized view refreshes: each snippet is loaded into its own database, read by
 * `readSchemaPlan`, written as a script with its data, loaded with `psql --single-transaction`
 * into an empty database, and the two must be the same to the fidelity oracle.
 */
import assert from "node:assert/strict";
import type { SchemaPlan } from "../../../src/engines/postgres/_model.ts";
import { startCluster } from "../../helpers/pg_cluster.ts";
import { assertSameDatabase } from "../../helpers/pg_compare.ts";
import { loadScript, readPlan, scriptOf } from "../../helpers/pg_plan_script.ts";
import {
  createDatabase,
  databaseUrl,
  dropDatabase,
  psql,
  uniqueName,
} from "../../helpers/pg_tools.ts";
import { dumpGzipped, once } from "../../helpers/engine_io.ts";
import { PostgresEngine } from "../../../src/engines/postgres/postgres_engine.ts";

/** Which materialized views hold rows, and what they hold. */
const MATVIEWS = `SELECT c.relname, c.relispopulated FROM pg_class c
  WHERE c.relkind = 'm' AND c.relnamespace = 's'::regnamespace ORDER BY 1`;

interface Case {
  name: string;
  sql: string;
  /** More checks on the source, the restored copy and the plan. */
  check?: (src: string, dst: string, plan: SchemaPlan) => Promise<void>;
}

/** The plan's statements, pre-data then post-data, as one text. */
function planText(plan: SchemaPlan): string {
  return [...plan.preData, ...plan.postData].map((i) => i.sql).join("");
}

const CASES: Case[] = [
  {
    name: "creates a placeholder for a view that calls a function returning the view's rows",
    sql: `CREATE SCHEMA s;
      CREATE VIEW s.infinite_recursion AS SELECT 1 AS a, 0::bigint AS n;
      CREATE FUNCTION s.rows_of() RETURNS SETOF s.infinite_recursion LANGUAGE sql
        AS $$ SELECT * FROM s.infinite_recursion $$;
      CREATE OR REPLACE VIEW s.infinite_recursion AS
        SELECT 1 AS a, (SELECT count(*) FROM s.rows_of()) AS n;
      COMMENT ON VIEW s.infinite_recursion IS 'calls itself';
      COMMENT ON COLUMN s.infinite_recursion.n IS 'never ends';`,
    check: (_src, _dst, plan) => {
      const text = planText(plan);
      assert.match(text, /CREATE VIEW s\.infinite_recursion AS\s+SELECT NULL::integer AS a,/);
      assert.match(text, /CREATE OR REPLACE VIEW s\.infinite_recursion AS/);
      return Promise.resolve();
    },
  },
  {
    name: "breaks a cycle of two views and a function",
    sql: `CREATE SCHEMA s;
      CREATE VIEW s.a AS SELECT 1 AS x, 'k'::varchar(10) COLLATE "C" AS k, 0::bigint AS n;
      CREATE FUNCTION s.f() RETURNS SETOF s.a LANGUAGE sql AS $$ SELECT * FROM s.a $$;
      CREATE VIEW s.b AS SELECT x, k FROM s.f();
      CREATE OR REPLACE VIEW s.a WITH (security_barrier) AS
        SELECT 1 AS x, 'k'::varchar(10) COLLATE "C" AS k, (SELECT count(*) FROM s.b) AS n;`,
  },
  {
    name: "creates a BEGIN ATOMIC function that reads a view calling it",
    sql: `CREATE SCHEMA s;
      CREATE TABLE s.t (id integer);
      CREATE VIEW s.v AS SELECT id FROM s.t;
      CREATE FUNCTION s.total() RETURNS bigint LANGUAGE sql STABLE
      BEGIN ATOMIC
        SELECT count(*) FROM s.v;
      END;
      CREATE OR REPLACE VIEW s.v AS SELECT id, s.total() AS total FROM s.t;
      CREATE RULE v_insert AS ON INSERT TO s.v DO INSTEAD INSERT INTO s.t VALUES (NEW.id);
      INSERT INTO s.t VALUES (1), (2);`,
  },
  {
    name: "creates mutually recursive BEGIN ATOMIC functions through a placeholder",
    sql: `CREATE SCHEMA s;
      CREATE FUNCTION s.is_even(n integer) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
      CREATE FUNCTION s.is_odd(n integer) RETURNS boolean LANGUAGE sql IMMUTABLE
      BEGIN ATOMIC
        SELECT CASE WHEN n = 0 THEN false ELSE s.is_even(n - 1) END;
      END;
      CREATE OR REPLACE FUNCTION s.is_even(n integer) RETURNS boolean LANGUAGE sql IMMUTABLE
      BEGIN ATOMIC
        SELECT CASE WHEN n = 0 THEN true ELSE s.is_odd(n - 1) END;
      END;
      COMMENT ON FUNCTION s.is_even(integer) IS 'even';
      CREATE TABLE s.t (n integer CHECK (s.is_even(n)));
      INSERT INTO s.t VALUES (0), (4);`,
    check: async (_src, dst) => {
      assert.equal(await psql(dst, "SELECT s.is_even(6), s.is_odd(6)"), "t|f\n");
    },
  },
  {
    name: "adds a CHECK constraint calling a function of the table's own rowtype after it",
    sql: `CREATE SCHEMA s;
      CREATE TABLE s.t (id integer, name text);
      CREATE FUNCTION s.valid(s.t) RETURNS boolean LANGUAGE sql IMMUTABLE
        AS $$ SELECT $1.id > 0 $$;
      ALTER TABLE s.t ADD CONSTRAINT t_valid CHECK (s.valid(t));
      ALTER TABLE s.t ADD CONSTRAINT t_named CHECK (name <> '');
      COMMENT ON CONSTRAINT t_valid ON s.t IS 'checked by a function';
      INSERT INTO s.t VALUES (1, 'a'), (2, 'b');`,
  },
  {
    name: "adds a domain's CHECK calling a function of the domain after the function",
    sql: `CREATE SCHEMA s;
      CREATE DOMAIN s.positive AS integer NOT NULL CONSTRAINT plain CHECK (VALUE > -100);
      CREATE FUNCTION s.is_positive(n s.positive) RETURNS boolean LANGUAGE plpgsql
        AS $$ BEGIN RETURN n > 0; END $$;
      ALTER DOMAIN s.positive ADD CONSTRAINT positive_ok CHECK (VALUE > 0 OR s.is_positive(VALUE));
      COMMENT ON CONSTRAINT positive_ok ON DOMAIN s.positive IS 'by a function';
      CREATE TABLE s.t (n s.positive);`,
  },
  {
    name: "restores a table turned into a view by a rule that reads a function of its rows",
    sql: `CREATE SCHEMA s;
      CREATE TABLE s.rv (a integer, b text);
      CREATE FUNCTION s.rv_rows() RETURNS SETOF s.rv LANGUAGE sql AS $$ SELECT * FROM s.rv $$;
      CREATE RULE "_RETURN" AS ON SELECT TO s.rv DO INSTEAD
        SELECT r.a, r.b FROM s.rv_rows() r WHERE false;`,
  },
  {
    name: "restores ON INSERT rules that use other tables, views and functions",
    sql: `CREATE SCHEMA s;
      CREATE TABLE s.items (id integer, note text);
      CREATE TABLE s.log (item integer, note text);
      CREATE FUNCTION s.tag(text) RETURNS text LANGUAGE sql IMMUTABLE
        RETURN '[' || $1 || ']';
      CREATE VIEW s.recent AS SELECT id, note FROM s.items;
      CREATE RULE items_log AS ON INSERT TO s.items
        DO ALSO INSERT INTO s.log VALUES (NEW.id, s.tag(NEW.note));
      CREATE RULE recent_insert AS ON INSERT TO s.recent
        DO INSTEAD INSERT INTO s.items VALUES (NEW.id, NEW.note);
      INSERT INTO s.recent VALUES (1, 'a'), (2, 'b');`,
    check: async (_src, dst) => {
      // The rules exist and work, and did not fire while the rows were loaded.
      assert.equal(await psql(dst, "SELECT count(*) FROM s.log"), "2\n");
      await psql(dst, "INSERT INTO s.recent VALUES (3, 'c')");
      assert.equal(
        await psql(dst, "SELECT item, note FROM s.log ORDER BY 1"),
        "1|[a]\n2|[b]\n3|[c]\n",
      );
    },
  },
  {
    name: "refreshes materialized views after those they read, through views too",
    sql: `CREATE SCHEMA s;
      CREATE TABLE s.t (id integer);
      INSERT INTO s.t SELECT generate_series(1, 10);
      CREATE MATERIALIZED VIEW s.z_source AS SELECT id FROM s.t WHERE id > 2;
      CREATE VIEW s.middle AS SELECT id FROM s.z_source;
      CREATE MATERIALIZED VIEW s.a_top AS SELECT count(*) AS n FROM s.middle;
      CREATE MATERIALIZED VIEW s.b_top AS SELECT sum(id) AS n FROM s.z_source;
      CREATE MATERIALIZED VIEW s.empty AS SELECT id FROM s.t WITH NO DATA;`,
    check: async (src, dst) => {
      assert.equal(await psql(dst, MATVIEWS), await psql(src, MATVIEWS));
      const rows = "SELECT (SELECT n FROM s.a_top), (SELECT n FROM s.b_top)";
      assert.equal(await psql(dst, rows), "8|52\n");
    },
  },
  {
    name: "keeps a materialized view unpopulated when one that reads it is populated",
    sql: `CREATE SCHEMA s;
      CREATE TABLE s.t (id integer);
      INSERT INTO s.t SELECT generate_series(1, 10);
      CREATE MATERIALIZED VIEW s.source AS SELECT id FROM s.t;
      CREATE MATERIALIZED VIEW s.a_reader AS SELECT count(*) AS n FROM s.source;
      REFRESH MATERIALIZED VIEW s.source WITH NO DATA;`,
    check: async (src, dst) => {
      assert.equal(await psql(dst, MATVIEWS), await psql(src, MATVIEWS));
      assert.equal(await psql(dst, "SELECT n FROM s.a_reader"), "10\n");
    },
  },
];

Deno.test("readSchemaPlan() breaks dependency cycles and orders refreshes", async (t) => {
  const cluster = await startCluster();
  try {
    for (const c of CASES) {
      await t.step(c.name, async () => {
        const srcName = uniqueName("cycles_src");
        const dstName = uniqueName("cycles_dst");
        try {
          const src = await createDatabase(cluster.url, srcName);
          await psql(src, c.sql);
          const plan = await readPlan(src);
          const dst = await createDatabase(cluster.url, dstName);
          await loadScript(dst, await scriptOf(src, plan));
          await assertSameDatabase(src, dst);
          await c.check?.(src, dst, plan);
        } finally {
          await dropDatabase(cluster.url, srcName);
          await dropDatabase(cluster.url, dstName);
        }
      });
    }
  } finally {
    await cluster.stop();
  }
});

Deno.test("the engine restores every cycle case at once, in one transaction and with --create", async () => {
  const cluster = await startCluster();
  const engine = new PostgresEngine(cluster.url, {});
  try {
    const source = await createDatabase(cluster.url, uniqueName("cycles_all"));
    for (const [i, c] of CASES.entries()) {
      // Each case in a schema of its own: s1, s2, ...
      await psql(
        source,
        c.sql.replace(/\bs\./g, `s${i}.`).replace("CREATE SCHEMA s;", `CREATE SCHEMA s${i};`)
          .replaceAll("'s'::regnamespace", `'s${i}'::regnamespace`),
      );
    }
    const gz = await dumpGzipped(engine, source);
    const single = uniqueName("cycles_single");
    await createDatabase(cluster.url, single);
    await engine.restore(single, once(gz));
    await assertSameDatabase(source, databaseUrl(cluster.url, single));
    const created = uniqueName("cycles_created");
    await engine.restore(created, once(gz), { create: true, jobs: 2 });
    await assertSameDatabase(source, databaseUrl(cluster.url, created));
    const populated = `SELECT n.nspname, c.relname, c.relispopulated FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'm' ORDER BY 1, 2`;
    const restored = await psql(databaseUrl(cluster.url, created), populated);
    assert.equal(restored, await psql(source, populated));
    assert.match(restored, /\|source\|f\n/);
  } finally {
    await cluster.stop();
  }
});
