/**
 * The schema reader on object kinds beyond the main fixture, one case per kind or bug: each
 * snippet is loaded into its own database, read by `readSchemaPlan`, written as a script with its
 * data, loaded with `psql --single-transaction` into an empty database, and the two must be the
 * same to the fidelity oracle (pg_dump statements, row digests, sequences).
 */
import assert from "node:assert/strict";
import type { SchemaPlan } from "../../../src/engines/postgres/_model.ts";
import { startCluster } from "../../helpers/pg_cluster.ts";
import { assertSameDatabase } from "../../helpers/pg_compare.ts";
import { loadScript, readPlan, scriptOf } from "../../helpers/pg_plan_script.ts";
import { installTestExtension } from "../../helpers/pg_test_extension.ts";
import { createDatabase, dropDatabase, psql, uniqueName } from "../../helpers/pg_tools.ts";

/** Which relations live in which tablespace (the oracle's pg_dump statements do not say). */
const TABLESPACES = `SELECT c.relname, t.spcname FROM pg_class c
  JOIN pg_tablespace t ON t.oid = c.reltablespace WHERE c.relnamespace = 's'::regnamespace
  ORDER BY 1`;

interface Case {
  name: string;
  sql: string;
  /** More checks on the source, the restored copy and the plan. */
  check?: (src: string, dst: string, plan: SchemaPlan) => Promise<void>;
}

const CASES: Case[] = [
  {
    name: "creates a shell type before a range type's canonical function",
    sql: `CREATE SCHEMA s;
      CREATE TYPE s.intr;
      CREATE FUNCTION s.intr_canonical(s.intr) RETURNS s.intr LANGUAGE internal IMMUTABLE STRICT
        AS 'int4range_canonical';
      CREATE TYPE s.intr AS RANGE (subtype = integer, canonical = s.intr_canonical);
      CREATE TABLE s.spans (r s.intr);
      INSERT INTO s.spans VALUES ('[1,5]'), ('(2,9)'), (NULL);`,
  },
  {
    name: "creates a base type's shell, its I/O functions, then the type",
    sql: `CREATE SCHEMA s;
      CREATE TYPE s.mytext;
      CREATE FUNCTION s.mytext_in(cstring) RETURNS s.mytext LANGUAGE internal IMMUTABLE STRICT
        AS 'textin';
      CREATE FUNCTION s.mytext_out(s.mytext) RETURNS cstring LANGUAGE internal IMMUTABLE STRICT
        AS 'textout';
      CREATE FUNCTION s.mytext_recv(internal) RETURNS s.mytext LANGUAGE internal STABLE STRICT
        AS 'textrecv';
      CREATE FUNCTION s.mytext_send(s.mytext) RETURNS bytea LANGUAGE internal STABLE STRICT
        AS 'textsend';
      CREATE TYPE s.mytext (INPUT = s.mytext_in, OUTPUT = s.mytext_out, RECEIVE = s.mytext_recv,
        SEND = s.mytext_send, LIKE = text, CATEGORY = 'S', COLLATABLE = true, DELIMITER = ';',
        DEFAULT = 'none');
      CREATE FUNCTION s.shout(s.mytext) RETURNS text LANGUAGE sql RETURN upper($1::text);
      CREATE CAST (s.mytext AS text) WITHOUT FUNCTION AS IMPLICIT;
      COMMENT ON TYPE s.mytext IS 'text again';
      CREATE TABLE s.t (v s.mytext, vs s.mytext[]);
      INSERT INTO s.t VALUES ('hello', '{a;b}');`,
  },
  {
    name: "comments on the columns of a composite type",
    sql: `CREATE SCHEMA s;
      CREATE TYPE s.pair AS (a integer, "B" text);
      COMMENT ON COLUMN s.pair.a IS 'first';
      COMMENT ON COLUMN s.pair."B" IS 'second';`,
  },
  {
    name: "keeps tables, indexes and constraints in their tablespace",
    sql: `CREATE SCHEMA s;
      CREATE TABLE s.t (id integer PRIMARY KEY USING INDEX TABLESPACE bm_space, v text)
        TABLESPACE bm_space;
      CREATE INDEX t_v ON s.t (v) TABLESPACE bm_space;
      CREATE INDEX t_v_part ON s.t (v) WITH (fillfactor = 50) TABLESPACE bm_space
        WHERE v <> '';
      CREATE TABLE s.p (id integer, at date) PARTITION BY RANGE (at);
      CREATE INDEX p_id ON s.p (id) TABLESPACE bm_space;
      CREATE TABLE s.p_2024 PARTITION OF s.p FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
      INSERT INTO s.t VALUES (1, 'x');
      CREATE MATERIALIZED VIEW s.m TABLESPACE bm_space AS SELECT id FROM s.t;`,
    check: async (src, dst) => {
      assert.equal(await psql(dst, TABLESPACES), await psql(src, TABLESPACES));
    },
  },
  {
    name: "creates collations before the columns and domains that use them",
    sql: `CREATE SCHEMA s;
      CREATE COLLATION s.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
      CREATE COLLATION s.c_copy FROM "C";
      CREATE COLLATION s.posix (locale = 'C.UTF-8');
      CREATE COLLATION s.split (lc_collate = 'C', lc_ctype = 'C.UTF-8');
      COMMENT ON COLLATION s.ci IS 'case-insensitive';
      CREATE DOMAIN s.ci_text AS text COLLATE s.ci;
      CREATE TABLE s.t (a text COLLATE s.ci, b s.ci_text, c text COLLATE s.posix);
      INSERT INTO s.t VALUES ('A', 'b', 'c');`,
  },
  {
    name: "creates operators, operator families and classes, and indexes using them",
    sql: `CREATE SCHEMA s;
      CREATE FUNCTION s.abs_lt(integer, integer) RETURNS boolean LANGUAGE sql IMMUTABLE
        RETURN abs($1) < abs($2);
      CREATE FUNCTION s.abs_le(integer, integer) RETURNS boolean LANGUAGE sql IMMUTABLE
        RETURN abs($1) <= abs($2);
      CREATE FUNCTION s.abs_eq(integer, integer) RETURNS boolean LANGUAGE sql IMMUTABLE
        RETURN abs($1) = abs($2);
      CREATE FUNCTION s.abs_ge(integer, integer) RETURNS boolean LANGUAGE sql IMMUTABLE
        RETURN abs($1) >= abs($2);
      CREATE FUNCTION s.abs_gt(integer, integer) RETURNS boolean LANGUAGE sql IMMUTABLE
        RETURN abs($1) > abs($2);
      CREATE FUNCTION s.abs_cmp(integer, integer) RETURNS integer LANGUAGE sql IMMUTABLE
        RETURN btint4cmp(abs($1), abs($2));
      CREATE FUNCTION s.neg(integer) RETURNS integer LANGUAGE sql IMMUTABLE RETURN -$1;
      CREATE OPERATOR s.<<< (LEFTARG = integer, RIGHTARG = integer, FUNCTION = s.abs_lt,
        COMMUTATOR = OPERATOR(s.>>>), NEGATOR = OPERATOR(s.>>=), RESTRICT = scalarltsel,
        JOIN = scalarltjoinsel);
      CREATE OPERATOR s.<<= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = s.abs_le);
      CREATE OPERATOR s.=== (LEFTARG = integer, RIGHTARG = integer, FUNCTION = s.abs_eq,
        COMMUTATOR = OPERATOR(s.===), RESTRICT = eqsel, JOIN = eqjoinsel, MERGES);
      CREATE OPERATOR s.>>= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = s.abs_ge);
      CREATE OPERATOR s.>>> (LEFTARG = integer, RIGHTARG = integer, FUNCTION = s.abs_gt);
      CREATE OPERATOR s.~~~ (RIGHTARG = integer, FUNCTION = s.neg);
      COMMENT ON OPERATOR s.=== (integer, integer) IS 'same magnitude';
      CREATE OPERATOR FAMILY s.abs_family USING btree;
      CREATE OPERATOR CLASS s.abs_ops FOR TYPE integer USING btree FAMILY s.abs_family AS
        OPERATOR 1 s.<<<, OPERATOR 2 s.<<=, OPERATOR 3 s.===, OPERATOR 4 s.>>=,
        OPERATOR 5 s.>>>, FUNCTION 1 s.abs_cmp(integer, integer);
      CREATE FUNCTION s.abs_cmp8(integer, bigint) RETURNS integer LANGUAGE sql IMMUTABLE
        RETURN btint8cmp(abs($1)::bigint, abs($2));
      ALTER OPERATOR FAMILY s.abs_family USING btree
        ADD FUNCTION 1 (integer, bigint) s.abs_cmp8(integer, bigint);
      CREATE OPERATOR FAMILY s.empty_family USING hash;
      COMMENT ON OPERATOR CLASS s.abs_ops USING btree IS 'by magnitude';
      CREATE TABLE s.t (v integer);
      CREATE INDEX t_abs ON s.t (v s.abs_ops);
      INSERT INTO s.t VALUES (-3), (2);`,
  },
  {
    name: "creates user-defined casts",
    sql: `CREATE SCHEMA s;
      CREATE TYPE s.mood AS ENUM ('sad', 'happy');
      CREATE FUNCTION s.mood_score(s.mood) RETURNS integer LANGUAGE sql IMMUTABLE
        RETURN CASE $1 WHEN 'happy' THEN 1 ELSE 0 END;
      CREATE CAST (s.mood AS integer) WITH FUNCTION s.mood_score(s.mood) AS ASSIGNMENT;
      CREATE CAST (s.mood AS text) WITH INOUT AS ASSIGNMENT;
      COMMENT ON CAST (s.mood AS integer) IS 'happiness';
      CREATE TABLE s.t (m s.mood, score integer DEFAULT ('happy'::s.mood)::integer);`,
  },
  {
    name: "creates text search parsers, templates, dictionaries and configurations",
    sql: `CREATE SCHEMA s;
      CREATE TEXT SEARCH PARSER s.prs (START = prsd_start, GETTOKEN = prsd_nexttoken,
        END = prsd_end, LEXTYPES = prsd_lextype, HEADLINE = prsd_headline);
      CREATE TEXT SEARCH TEMPLATE s.tmpl (INIT = dsimple_init, LEXIZE = dsimple_lexize);
      CREATE TEXT SEARCH DICTIONARY s.dict (TEMPLATE = s.tmpl, stopwords = 'english',
        accept = false);
      CREATE TEXT SEARCH DICTIONARY s.stem (TEMPLATE = snowball, language = 'english');
      CREATE TEXT SEARCH CONFIGURATION s.cfg (PARSER = s.prs);
      ALTER TEXT SEARCH CONFIGURATION s.cfg ADD MAPPING FOR word, asciiword WITH s.dict, s.stem;
      ALTER TEXT SEARCH CONFIGURATION s.cfg ADD MAPPING FOR int WITH simple;
      CREATE TEXT SEARCH CONFIGURATION s.copy (COPY = english);
      COMMENT ON TEXT SEARCH CONFIGURATION s.cfg IS 'custom';
      COMMENT ON TEXT SEARCH DICTIONARY s.dict IS 'stop words';
      CREATE TABLE s.docs (body text, tsv tsvector GENERATED ALWAYS AS
        (to_tsvector('s.cfg', body)) STORED);
      CREATE INDEX docs_fts ON s.docs USING gin (to_tsvector('s.copy'::regconfig, body));
      INSERT INTO s.docs (body) VALUES ('The quick brown foxes');`,
  },
  {
    name: "creates conversions and procedural languages",
    sql: `CREATE SCHEMA s;
      CREATE CONVERSION s.latin_to_utf8 FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8;
      CREATE DEFAULT CONVERSION s.latin_default FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8;
      COMMENT ON CONVERSION s.latin_to_utf8 IS 'latin';
      CREATE FUNCTION s.handler() RETURNS language_handler LANGUAGE c
        AS '$libdir/plpgsql', 'plpgsql_call_handler';
      CREATE FUNCTION s.inline(internal) RETURNS void LANGUAGE c
        AS '$libdir/plpgsql', 'plpgsql_inline_handler';
      CREATE FUNCTION s.validator(oid) RETURNS void LANGUAGE c
        AS '$libdir/plpgsql', 'plpgsql_validator';
      CREATE TRUSTED LANGUAGE plsample HANDLER s.handler INLINE s.inline VALIDATOR s.validator;
      CREATE LANGUAGE plbare HANDLER s.handler;
      COMMENT ON LANGUAGE plsample IS 'a second plpgsql';
      CREATE FUNCTION s.twice(n integer) RETURNS integer LANGUAGE plsample
        AS $$ BEGIN RETURN n * 2; END $$;`,
  },
  {
    name: "creates foreign data wrappers, servers, user mappings and foreign tables",
    sql: `CREATE SCHEMA s;
      CREATE EXTENSION file_fdw;
      CREATE FOREIGN DATA WRAPPER bare_fdw OPTIONS (debug 'true');
      CREATE FOREIGN DATA WRAPPER checked_fdw VALIDATOR postgresql_fdw_validator;
      CREATE SERVER files FOREIGN DATA WRAPPER file_fdw;
      CREATE SERVER "Remote" TYPE 'pg' VERSION '15' FOREIGN DATA WRAPPER bare_fdw
        OPTIONS (host 'db.example', port '5433');
      CREATE USER MAPPING FOR postgres SERVER "Remote" OPTIONS (user 'app', password 'p''w');
      CREATE USER MAPPING FOR PUBLIC SERVER files;
      COMMENT ON SERVER files IS 'local files';
      COMMENT ON FOREIGN DATA WRAPPER bare_fdw IS 'does nothing';
      CREATE FOREIGN TABLE s.csv (a integer NOT NULL, b text OPTIONS (force_not_null 'true'))
        SERVER files OPTIONS (filename '/dev/null', format 'csv');
      CREATE FOREIGN TABLE s.remote (id integer DEFAULT 1, v text COLLATE "C")
        SERVER "Remote" OPTIONS (table_name 'remote_t');
      ALTER FOREIGN TABLE s.remote ALTER COLUMN v OPTIONS (column_name 'value');
      COMMENT ON FOREIGN TABLE s.remote IS 'elsewhere';
      CREATE VIEW s.csv_view AS SELECT a FROM s.csv;`,
  },
  {
    name: "creates typed tables from their composite type",
    sql: `CREATE SCHEMA s;
      CREATE TYPE s.person AS (name text, age integer, email text);
      CREATE TABLE s.people OF s.person (age WITH OPTIONS DEFAULT 0 NOT NULL,
        PRIMARY KEY (name), CHECK (age >= 0));
      CREATE TABLE s.plain_people OF s.person;
      ALTER TYPE s.person ADD ATTRIBUTE nick text CASCADE;
      COMMENT ON COLUMN s.people.email IS 'where to write';
      INSERT INTO s.people VALUES ('Ann', 30, 'ann@example.com', 'annie');`,
  },
  {
    name: "creates publications with their tables and schemas",
    sql: `CREATE SCHEMA s;
      CREATE SCHEMA other;
      CREATE TABLE s.a (id integer PRIMARY KEY, v text, secret text);
      CREATE TABLE s.b (id integer);
      CREATE TABLE other.c (id integer);
      CREATE PUBLICATION pub_some FOR TABLE s.a (id, v) WHERE (id > 0), ONLY s.b
        WITH (publish = 'insert, update', publish_via_partition_root = true);
      CREATE PUBLICATION pub_schema FOR TABLES IN SCHEMA other;
      CREATE PUBLICATION pub_all FOR ALL TABLES;
      CREATE PUBLICATION pub_none;
      COMMENT ON PUBLICATION pub_some IS 'some tables';`,
  },
  {
    name: "copies the rows an extension's configuration tables are dumped with",
    sql: `CREATE SCHEMA bm_ext;
      CREATE EXTENSION bm_config_ext SCHEMA bm_ext;
      INSERT INTO bm_ext.settings VALUES ('mode', 'fast'), ('level', '3');
      INSERT INTO bm_ext.rules (pattern) VALUES ('user-1'), ('user-2');
      CREATE TABLE public.uses (k text DEFAULT bm_ext.setting('mode'));`,
    check: async (_src, dst, plan) => {
      const rules = plan.data.find((t) => t.qualifiedName === "bm_ext.rules");
      assert.equal(rules?.where, "WHERE NOT builtin");
      assert.equal(
        await psql(dst, "SELECT pattern, builtin FROM bm_ext.rules ORDER BY id"),
        "shipped-1|t\nshipped-2|t\nuser-1|f\nuser-2|f\n",
      );
    },
  },
  {
    name: "sets a default calling a BEGIN ATOMIC function that reads the same table after it",
    sql: `CREATE SCHEMA s;
      CREATE TABLE s.items (id integer, n bigint);
      CREATE FUNCTION s.item_count() RETURNS bigint LANGUAGE sql STABLE
      BEGIN ATOMIC
        SELECT count(*) FROM s.items;
      END;
      ALTER TABLE s.items ALTER COLUMN n SET DEFAULT s.item_count();
      INSERT INTO s.items (id) VALUES (1), (2);`,
  },
];

Deno.test("readSchemaPlan() round trip", async (t) => {
  await installTestExtension();
  const cluster = await startCluster();
  const space = await Deno.makeTempDir({ prefix: "bm-tablespace-" });
  try {
    await Deno.chown(space, await postgresUid(), null);
    await psql(cluster.url, `CREATE TABLESPACE bm_space LOCATION '${space}'`);
    for (const c of CASES) {
      await t.step(c.name, async () => {
        const srcName = uniqueName("objects_src");
        const dstName = uniqueName("objects_dst");
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
    await Deno.remove(space, { recursive: true }).catch(() => {});
  }
});

/** The `postgres` user's uid, who must own a tablespace's directory. */
async function postgresUid(): Promise<number> {
  const output = await new Deno.Command("id", { args: ["-u", "postgres"], stdout: "piped" })
    .output();
  return Number(new TextDecoder().decode(output.stdout).trim());
}
