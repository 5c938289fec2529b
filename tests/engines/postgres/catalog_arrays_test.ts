/**
 * Catalog arrays on the dump's own connections (issue 10). `create` crashed on any database with
 * a user-defined base type (`t.procs.filter is not a function`): the reader's `oid[]` column
 * arrived as text, because the dump's connections (`openConnection`, `fetch_types: false`) parse
 * no array type, while the reader tests read the catalogs on a default postgres.js client, which
 * fetches the array types at connect time and parses them. The tests ran a path the dump never
 * takes. Here every catalog query runs on the dump's connection kinds (the main transaction alone,
 * and helper lanes running the queries ahead, as `--jobs N` does) over a fixture that exercises
 * every array-returning path, and an audit lists every array-typed column those queries return.
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import { readSchemaPlan } from "../../../src/engines/postgres/_schema.ts";
import type { SchemaPlan } from "../../../src/engines/postgres/_model.ts";
import type { CatalogQueries } from "../../../src/engines/postgres/_schema_sql.ts";
import { CopyOutLanes } from "../../../src/engines/postgres/_copy_lanes.ts";
import { openConnection, parseLocation } from "../../../src/engines/postgres/_connection.ts";
import { CATALOG_ARRAY_TYPES, VECTOR_TYPES } from "../../../src/engines/postgres/_array_types.ts";
import { startCluster } from "../../helpers/pg_cluster.ts";
import { assertSameDatabase } from "../../helpers/pg_compare.ts";
import { loadFixture } from "../../helpers/pg_fixture.ts";
import { installTestExtension } from "../../helpers/pg_test_extension.ts";
import { runCli } from "../../helpers/cli.ts";
import { withWorkspace } from "../../helpers/workspace.ts";
import { createDatabase, databaseUrl, psql, uniqueName } from "../../helpers/pg_tools.ts";

/**
 * Every catalog path that returns an array, beyond the main fixture: base types with every
 * support function (the `oid[]` of the issue), a fixed-length subscriptable one, an extension's
 * configuration tables (`extconfig oid[]`, `extcondition text[]`), ACLs naming a role that needs
 * quotes (`aclitem[]`), options (`text[]`), function settings (`proconfig text[]`).
 */
const ARRAYS = `
  CREATE SCHEMA arr;
  CREATE TYPE arr.ttext;
  CREATE FUNCTION arr.ttext_in(cstring) RETURNS arr.ttext LANGUAGE internal IMMUTABLE STRICT
    AS 'textin';
  CREATE FUNCTION arr.ttext_out(arr.ttext) RETURNS cstring LANGUAGE internal IMMUTABLE STRICT
    AS 'textout';
  CREATE FUNCTION arr.ttext_recv(internal) RETURNS arr.ttext LANGUAGE internal STABLE STRICT
    AS 'textrecv';
  CREATE FUNCTION arr.ttext_send(arr.ttext) RETURNS bytea LANGUAGE internal STABLE STRICT
    AS 'textsend';
  CREATE FUNCTION arr.ttext_typmod_in(cstring[]) RETURNS integer LANGUAGE internal IMMUTABLE
    STRICT AS 'varchartypmodin';
  CREATE FUNCTION arr.ttext_typmod_out(integer) RETURNS cstring LANGUAGE internal IMMUTABLE
    STRICT AS 'varchartypmodout';
  CREATE FUNCTION arr.ttext_analyze(internal) RETURNS boolean LANGUAGE internal STRICT
    AS 'ts_typanalyze';
  CREATE TYPE arr.ttext (INPUT = arr.ttext_in, OUTPUT = arr.ttext_out, RECEIVE = arr.ttext_recv,
    SEND = arr.ttext_send, TYPMOD_IN = arr.ttext_typmod_in, TYPMOD_OUT = arr.ttext_typmod_out,
    ANALYZE = arr.ttext_analyze, LIKE = text, CATEGORY = 'S', COLLATABLE = true);
  CREATE TYPE arr.pt;
  CREATE FUNCTION arr.pt_in(cstring) RETURNS arr.pt LANGUAGE internal IMMUTABLE STRICT
    AS 'point_in';
  CREATE FUNCTION arr.pt_out(arr.pt) RETURNS cstring LANGUAGE internal IMMUTABLE STRICT
    AS 'point_out';
  CREATE FUNCTION arr.pt_subscript(internal) RETURNS internal LANGUAGE internal IMMUTABLE STRICT
    AS 'raw_array_subscript_handler';
  CREATE TYPE arr.pt (INPUT = arr.pt_in, OUTPUT = arr.pt_out, SUBSCRIPT = arr.pt_subscript,
    ELEMENT = float8, INTERNALLENGTH = 16, ALIGNMENT = double);
  CREATE TYPE widget;
  CREATE FUNCTION widget_in(cstring) RETURNS widget AS 'textin' LANGUAGE internal IMMUTABLE STRICT;
  CREATE FUNCTION widget_out(widget) RETURNS cstring AS 'textout' LANGUAGE internal IMMUTABLE
    STRICT;
  CREATE TYPE widget (INPUT = widget_in, OUTPUT = widget_out, LIKE = text);
  CREATE TABLE arr.t (id int PRIMARY KEY, v arr.ttext(12), p arr.pt, vs arr.ttext[], w widget,
    twice int GENERATED ALWAYS AS (id * 2) STORED) WITH (fillfactor = 70);
  ALTER TABLE arr.t ALTER COLUMN v SET (n_distinct = 5);
  INSERT INTO arr.t VALUES (1, 'hello', '(1,2)', '{a,b}', 'w'), (2, NULL, NULL, NULL, NULL);
  CREATE FUNCTION arr.quiet() RETURNS int LANGUAGE sql SET search_path = pg_catalog, arr
    SET work_mem = '8MB' RETURN 1;
  GRANT SELECT (id, v) ON arr.t TO "bm Writer";
  GRANT USAGE ON TYPE arr.ttext TO "bm Writer";
  ALTER DEFAULT PRIVILEGES IN SCHEMA arr GRANT SELECT ON TABLES TO "bm Writer";
  CREATE SCHEMA bm_ext;
  CREATE EXTENSION bm_config_ext SCHEMA bm_ext;
  INSERT INTO bm_ext.rules (pattern) VALUES ('user-1');`;

/**
 * Every array-typed column the catalog readers' queries return, as `column: type`. A new one
 * fails the audit until it is listed here: check that its reader takes a JavaScript array (the
 * dump's connections parse the types of `_array_types.ts` only) and that the fixture above
 * gives it rows.
 */
const ARRAY_COLUMNS = [
  "parents: _text", // _schema_tables.ts: an inheritance child's parents, in order
  "procs: _oid", // _schema_base_types.ts: a base type's support functions
  "refs: _text", // _schema_columns.ts: the columns a generated column's expression reads
];

/** One catalog query as a connection answered it. */
interface Answer {
  text: string;
  columns: { name: string; type: number }[];
  rows: Record<string, unknown>[];
}

/** Catalog queries on `sql`, answered by it and written down in `answers`. */
function recording(sql: CatalogQueries, answers: Answer[]): CatalogQueries {
  return {
    async unsafe(text: string) {
      const result = await sql.unsafe(text) as postgres.RowList<Record<string, unknown>[]>;
      const columns = (result.columns ?? []).map((c) => ({ name: c.name, type: c.type }));
      answers.push({ text, columns, rows: [...result] });
      return result;
    },
  };
}

/** The dump's transaction, with its catalog queries written down. */
function recordingTransaction(
  tx: postgres.TransactionSql,
  answers: Answer[],
): postgres.TransactionSql {
  const recorder = recording(tx, answers);
  return new Proxy(tx, {
    get: (target, name) => name === "unsafe" ? recorder.unsafe : Reflect.get(target, name, target),
  });
}

/**
 * Reads the plan as the dump does, on the dump's connection kinds: the main transaction alone
 * (`helpers` 0, `--jobs 1`), or with `helpers` lanes on its snapshot running the queries ahead.
 */
async function readOnDumpConnections(
  url: string,
  helpers: number,
  answers: Answer[],
): Promise<SchemaPlan> {
  const config = parseLocation(url);
  const connection = openConnection(config);
  try {
    return await connection.sql.begin("ISOLATION LEVEL REPEATABLE READ READ ONLY", async (tx) => {
      const main = recordingTransaction(tx, answers);
      if (helpers === 0) return await readSchemaPlan(main);
      const [{ id }] = await tx<{ id: string }[]>`SELECT pg_catalog.pg_export_snapshot() AS id`;
      const lanes = await CopyOutLanes.open(config, id, helpers);
      try {
        assert.equal(lanes.size, helpers, "every lane opened");
        const ahead = lanes.transactions.map((lane) => recording(lane, answers));
        return await readSchemaPlan(main, { helpers: ahead });
      } finally {
        await lanes.close();
      }
    }) as SchemaPlan;
  } finally {
    await connection.end();
  }
}

/** Names of the array types (category `A`: arrays and the two vectors) among `oids`. */
async function arrayTypeNames(url: string, oids: number[]): Promise<Map<number, string>> {
  const text = await psql(
    url,
    `SELECT oid, typname FROM pg_type WHERE typcategory = 'A' AND oid IN (${
      [0, ...oids].join(", ")
    })`,
  );
  return new Map(
    text.trim().split("\n").filter((l) => l !== "").map((line) => {
      const [oid, name] = line.split("|");
      return [Number(oid), name];
    }),
  );
}

Deno.test("catalog arrays on the dump's connections", async (t) => {
  await installTestExtension();
  const cluster = await startCluster();
  try {
    const src = await createDatabase(cluster.url, uniqueName("arrays_src"));
    await loadFixture(src);
    await psql(src, ARRAYS);
    const serial: Answer[] = [];
    const ahead: Answer[] = [];

    await t.step("the plan read alone equals the plan read with helpers", async () => {
      const alone = await readOnDumpConnections(src, 0, serial);
      const helped = await readOnDumpConnections(src, 3, ahead);
      assert.deepEqual(helped, alone);
      const types = alone.preData.filter((i) => i.kind === "SHELL TYPE").map((i) => i.name);
      assert.deepEqual(types.sort(), ["pt", "ttext", "widget"]);
    });

    await t.step("every array-typed column is listed, parsed, and has rows", async () => {
      const answers = [...serial, ...ahead];
      assert.ok(answers.length > 20, `${answers.length} catalog queries recorded`);
      const oids = [...new Set(answers.flatMap((a) => a.columns.map((c) => c.type)))];
      const arrays = await arrayTypeNames(src, oids);
      const parsed = new Set([...CATALOG_ARRAY_TYPES, ...VECTOR_TYPES].map((x) => x.oid));
      const found = new Set<string>();
      const withValues = new Set<string>();
      for (const answer of answers) {
        for (const column of answer.columns) {
          const type = arrays.get(column.type);
          if (type === undefined) continue;
          const label = `${column.name}: ${type}`;
          found.add(label);
          assert.ok(
            parsed.has(column.type),
            `${label} is not parsed on the dump's connections: add ${type} to _array_types.ts ` +
              `(query: ${answer.text.slice(0, 160)})`,
          );
          for (const row of answer.rows) {
            const value = row[column.name];
            if (value === null) continue;
            withValues.add(label);
            assert.ok(Array.isArray(value), `${label} arrived as ${JSON.stringify(value)}`);
          }
        }
      }
      assert.deepEqual([...found].sort(), [...ARRAY_COLUMNS].sort());
      assert.deepEqual([...withValues].sort(), [...ARRAY_COLUMNS].sort(), "the fixture gives rows");
      const shape = (list: Answer[]) =>
        [...new Map(list.map((a) => [a.text, JSON.stringify(a.columns)])).entries()].sort();
      assert.deepEqual(shape(ahead), shape(serial), "same columns on both connection kinds");
    });

    await t.step("create --jobs 1 and 2 back it up, and restore brings it back", async () => {
      await withWorkspace(async (ws) => {
        for (const jobs of ["1", "2"]) {
          const common = ["--database", src, "--dir", ws.dir];
          const created = await runCli(["create", ...common, "--jobs", jobs, "--format", "json"]);
          assert.equal(created.code, 0, created.stderr);
          const { id } = JSON.parse(created.stdout);
          const target = uniqueName(`arrays_dst${jobs}`);
          const restored = await runCli(["restore", ...common, id, "--to", target, "--create"]);
          assert.equal(restored.code, 0, restored.stderr);
          await assertSameDatabase(src, databaseUrl(cluster.url, target));
        }
      });
    });
  } finally {
    await cluster.stop();
  }
});
