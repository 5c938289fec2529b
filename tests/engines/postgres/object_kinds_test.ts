/**
 * Object kinds and shapes the regression database left behind (issue 10, part C2), each loaded
 * into its own database, backed up by the engine and restored both into an empty database and
 * with `--create`: the copies must be the same database to the fidelity oracle, and the same to
 * catalog facts the oracle's `pg_dump` statements do not show (column order, local or inherited
 * columns and constraints, access methods, trigger states, column settings).
 */
import assert from "node:assert/strict";
import { startCluster } from "../../helpers/pg_cluster.ts";
import { assertSameDatabase } from "../../helpers/pg_compare.ts";
import { dumpGzipped, once } from "../../helpers/engine_io.ts";
import {
  createDatabase,
  databaseUrl,
  dropDatabase,
  psql,
  uniqueName,
} from "../../helpers/pg_tools.ts";
import { PostgresEngine } from "../../../src/engines/postgres/postgres_engine.ts";

const USER_RELATIONS = `c.relnamespace NOT IN (SELECT oid FROM pg_namespace
  WHERE nspname ~ '^pg_' OR nspname = 'information_schema')`;

/** Catalog facts compared between the source and each restored copy. */
const FACTS: Record<string, string> = {
  "columns in order, local or inherited": `SELECT c.oid::regclass::text,
      row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum), a.attname, a.attislocal,
      a.attinhcount, a.attgenerated, a.attnotnull, pg_get_expr(d.adbin, d.adrelid)
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attnum > 0 AND NOT a.attisdropped AND ${USER_RELATIONS} ORDER BY 1, 2`,
  "column settings": `SELECT c.oid::regclass::text, a.attname, a.attstattarget, a.attstorage,
      a.attcompression, a.attoptions
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
    WHERE a.attnum > 0 AND NOT a.attisdropped AND ${USER_RELATIONS} ORDER BY 1, 2`,
  "constraints local or inherited":
    `SELECT conrelid::regclass::text, conname, conislocal, coninhcount,
      convalidated, connoinherit FROM pg_constraint c
    WHERE conrelid <> 0 AND ${USER_RELATIONS.replace("c.relnamespace", "c.connamespace")}
    ORDER BY 1, 2`,
  "access methods": `SELECT c.oid::regclass::text, a.amname FROM pg_class c
    JOIN pg_am a ON a.oid = c.relam WHERE ${USER_RELATIONS} ORDER BY 1`,
  "trigger states": `SELECT tgrelid::regclass::text, tgname, tgenabled FROM pg_trigger
    WHERE NOT tgisinternal ORDER BY 1, 2`,
  // In order only: a child created through a scratch parent numbers its parents from 2.
  "inheritance": `SELECT inhrelid::regclass::text, inhparent::regclass::text,
      row_number() OVER (PARTITION BY inhrelid ORDER BY inhseqno) FROM pg_inherits ORDER BY 1, 3`,
};

interface Case {
  name: string;
  sql: string;
  /** More queries whose answers must be the same in the source and the copies. */
  facts?: Record<string, string>;
}

const CASES: Case[] = [
  {
    name: "inherited generated columns keep the parent's expression",
    sql: `CREATE SCHEMA s;
      CREATE TABLE s.gp (a int, b int GENERATED ALWAYS AS (a * 2) STORED);
      CREATE TABLE s.gc (c int) INHERITS (s.gp);
      CREATE TABLE s.gc_local (b int, c int) INHERITS (s.gp);
      CREATE TABLE s.gp2 (a int, b int GENERATED ALWAYS AS (a * 2) STORED);
      CREATE TABLE s.gmulti (b int) INHERITS (s.gp, s.gp2);
      CREATE TABLE s.ggrand () INHERITS (s.gc_local);
      CREATE TABLE s.gnormal (a int, b int);
      CREATE TABLE s.gnormal_child (a int, b int GENERATED ALWAYS AS (a * 3) STORED)
        INHERITS (s.gnormal);
      CREATE TABLE s.gpart (a int, b int GENERATED ALWAYS AS (a + 1) STORED)
        PARTITION BY RANGE (a);
      CREATE TABLE s.gpart1 PARTITION OF s.gpart FOR VALUES FROM (0) TO (10);
      CREATE TABLE s.gpart2 (a int, b int GENERATED ALWAYS AS (a + 1) STORED);
      ALTER TABLE s.gpart ATTACH PARTITION s.gpart2 FOR VALUES FROM (10) TO (20);
      INSERT INTO s.gc (a, c) VALUES (1, 2);
      INSERT INTO s.gc_local (a, c) VALUES (3, 4);
      INSERT INTO s.gmulti (a) VALUES (5);
      INSERT INTO s.ggrand (a, c) VALUES (6, 7);
      INSERT INTO s.gnormal_child (a) VALUES (8);
      INSERT INTO s.gpart (a) VALUES (3), (13);`,
  },
  {
    name: "inheritance children keep their own column order",
    sql: `CREATE SCHEMA s;
      CREATE TABLE s.p (x int, y text DEFAULT 'p');
      CREATE TABLE s.before (z int, y text DEFAULT 'c', w int, x int NOT NULL);
      ALTER TABLE s.before INHERIT s.p;
      CREATE TABLE s.grown (q int) INHERITS (s.p);
      ALTER TABLE s.p ADD COLUMN late int, ADD COLUMN later text NOT NULL DEFAULT 'd';
      CREATE TABLE s.cp (x int CHECK (x > 0), y text COLLATE "C");
      CREATE TABLE s.cc (w int, x int CONSTRAINT cp_x_check CHECK (x > 0), y text COLLATE "C");
      ALTER TABLE s.cc INHERIT s.cp;
      ALTER TABLE s.cp ADD CONSTRAINT late_check CHECK (y <> '');
      CREATE TABLE s.gen (a int, b int GENERATED ALWAYS AS (a * 2) STORED);
      CREATE TABLE s.gen_child (b int GENERATED ALWAYS AS (a * 2) STORED, k int, a int);
      ALTER TABLE s.gen_child INHERIT s.gen;
      CREATE TABLE s.m1 (a int, b int);
      CREATE TABLE s.m2 (c int, b int);
      CREATE TABLE s.multi (c int, a int, b int, d int);
      ALTER TABLE s.multi INHERIT s.m1;
      ALTER TABLE s.multi INHERIT s.m2;
      INSERT INTO s.before VALUES (1, 'a', 2, 3);
      INSERT INTO s.grown (x, q) VALUES (1, 2);
      INSERT INTO s.cc VALUES (1, 2, 'z');
      INSERT INTO s.gen_child (k, a) VALUES (4, 5);
      INSERT INTO s.multi VALUES (1, 2, 3, 4);`,
    facts: {
      "SELECT * column order": `SELECT (SELECT string_agg(key, ',') FROM json_object_keys(
          row_to_json(b)) key) FROM s.before b
        UNION ALL SELECT (SELECT string_agg(key, ',') FROM json_object_keys(row_to_json(g)) key)
        FROM s.grown g`,
    },
  },
];

Deno.test("object kinds round trip through backup and restore", async (t) => {
  const cluster = await startCluster();
  const engine = new PostgresEngine(cluster.url, {});
  try {
    for (const c of CASES) {
      await t.step(c.name, async () => {
        const names = [uniqueName("kinds_src"), uniqueName("kinds_empty"), uniqueName("kinds_new")];
        const [src, empty, fresh] = names.map((n) => databaseUrl(cluster.url, n));
        try {
          await createDatabase(cluster.url, names[0]);
          await psql(src, c.sql);
          const backup = await dumpGzipped(engine, src);
          await createDatabase(cluster.url, names[1]);
          await engine.restore(empty, once(backup));
          await engine.restore(fresh, once(backup), { create: true });
          for (const copy of [empty, fresh]) {
            await assertSameDatabase(src, copy);
            for (const [what, sql] of Object.entries({ ...FACTS, ...c.facts })) {
              assert.equal(await psql(copy, sql), await psql(src, sql), what);
            }
          }
        } finally {
          for (const name of names) await dropDatabase(cluster.url, name).catch(() => {});
        }
      });
    }
  } finally {
    await cluster.stop();
  }
});
