/**
 * PostgreSQL databases of one table shape each, for the shape matrix (`shapes_bench.ts`): the
 * SQL that builds each on the server (`generate_series`, `random()` after `setseed`, so the same
 * version and size give the same rows). "plain" is the PostgreSQL benchmark's generator
 * (`_pg_generator.ts`); row counts come from bytes per row measured on this server; "large" is
 * every shape in one database. The schema-heavy shape has a fixed size (little data).
 */

import {
  BYTES_PER_UNIT,
  GENERATOR_VERSION as PLAIN_VERSION,
  generatorSql,
} from "./_pg_generator.ts";
import { VOCABULARY } from "./_sqlite_shapes.ts";
import type { BuiltDatabase, Fingerprint } from "./_sqlite_shapes.ts";
import { databaseUrl, dropDatabase, psql } from "../tests/helpers/pg_tools.ts";

/** One shape: its name on the command line, what it holds, and the SQL that builds it. */
export interface PgShape {
  name: string;
  title: string;
  /** Bumped when the shape's schema or content changes, so built databases are rebuilt. */
  version: number;
  /** True when the shape does not scale with the size asked for. */
  fixedSize?: boolean;
  /** SQL (for psql, outside a transaction) that adds the shape to a database, about `bytes`. */
  sql(bytes: number): string;
}

/** `pg_temp.words(n)`: `n` words of the shared vocabulary, skewed like natural text. */
const WORDS_FUNCTION = `
CREATE OR REPLACE FUNCTION pg_temp.words(n int) RETURNS text LANGUAGE sql VOLATILE AS $$
  SELECT string_agg(v[1 + floor(random() ^ 2 * ${VOCABULARY.length})::int], ' ')
  FROM generate_series(1, n), (SELECT ARRAY['${VOCABULARY.join("','")}'] AS v) AS vocabulary
$$;`;

const RANDOM_TIME = "timestamptz '2017-01-01 00:00:00+00' + random() * interval '8 years'";

function rows(bytes: number, bytesPerRow: number): number {
  return Math.max(1, Math.round(bytes / bytesPerRow));
}

function plainSql(bytes: number): string {
  return `SELECT setseed(0.1);\n${generatorSql(rows(bytes, BYTES_PER_UNIT))}`;
}

/** 2,500 SKUs × 30 days per warehouse in key order: about 375k rows per 100 MiB. */
function compositeSql(bytes: number): string {
  return `SELECT setseed(0.2);
${WORDS_FUNCTION}
CREATE TABLE stock (warehouse int NOT NULL, sku text NOT NULL, day date NOT NULL,
  qty int NOT NULL, price numeric(10, 2) NOT NULL, note text, PRIMARY KEY (warehouse, sku, day));
INSERT INTO stock
SELECT 1 + i / 75000, 'SKU-' || lpad((i / 30 % 2500)::text, 6, '0'), date '2025-01-01' + i % 30,
  floor(random() * 1000)::int, round((random() * 1000)::numeric, 2),
  CASE WHEN random() < 0.1 THEN NULL ELSE pg_temp.words(12 + (random() * 18)::int) END
FROM generate_series(0, ${rows(bytes, 280) - 1}) i;
CREATE INDEX stock_sku_day ON stock (sku, day);
VACUUM (FREEZE, ANALYZE) stock;`;
}

/** Half the rows all zeros, one zero row in eight with float8 -0 (pg_dump keeps the sign). */
function zerosSql(bytes: number): string {
  return `SELECT setseed(0.3);
CREATE TABLE readings (id bigint PRIMARY KEY, sensor int NOT NULL, taken_at timestamptz NOT NULL,
  value float8 NOT NULL, low float8, high float8, delta numeric(14, 6), ratio real);
INSERT INTO readings
SELECT i, floor(random() * 500)::int, ${RANDOM_TIME},
  CASE WHEN zero THEN z ELSE v END, CASE WHEN zero THEN z ELSE v - 5 END,
  CASE WHEN zero THEN 0 ELSE v + 5 END, CASE WHEN zero THEN 0 ELSE round(v::numeric, 6) END,
  CASE WHEN zero THEN 0 ELSE (v / 7)::real END
FROM generate_series(1, ${rows(bytes, 144)}) i,
  LATERAL (SELECT i AS row, random() < 0.5 AS zero, (random() - 0.5) * 2000 AS v,
    CASE WHEN random() < 0.125 THEN float8 '-0' ELSE float8 '0' END AS z) AS x;
CREATE INDEX readings_sensor_time ON readings (sensor, taken_at);
VACUUM (FREEZE, ANALYZE) readings;`;
}

/** `wide_records`: an id and 149 columns of six kinds, one value in ten NULL. */
function wideSql(bytes: number): string {
  const kinds: [string, string][] = [
    ["int", "floor(random() * 1000000)::int"],
    ["text", "substr(md5(random()::text), 1, 4 + (random() * 12)::int)"],
    ["float8", "round((random() * 100000)::numeric, 2)::float8"],
    ["numeric(12, 2)", "round((random() * 10000)::numeric, 2)"],
    ["timestamptz", RANDOM_TIME],
    ["boolean", "random() < 0.5"],
  ];
  const columns = Array.from({ length: 149 }, (_, i) => ({
    name: `c${String(i + 1).padStart(3, "0")}`,
    kind: kinds[i % kinds.length],
  }));
  return `SELECT setseed(0.4);
CREATE TABLE wide_records (id bigint PRIMARY KEY, ${
    columns.map((c) => `${c.name} ${c.kind[0]}`).join(", ")
  });
INSERT INTO wide_records
SELECT i, ${
    columns.map((c) => `CASE WHEN random() < 0.1 THEN NULL ELSE ${c.kind[1]} END`).join(",\n  ")
  }
FROM generate_series(1, ${rows(bytes, 1200)}) i;
VACUUM (FREEZE, ANALYZE) wide_records;`;
}

/** `files`: bytea of 200 KB to 2 MB from chained SHA-256 (incompressible). */
function byteaSql(bytes: number): string {
  return `SELECT setseed(0.5);
CREATE TABLE files (id bigint PRIMARY KEY, name text NOT NULL, mime text NOT NULL,
  created_at timestamptz NOT NULL, content bytea NOT NULL);
INSERT INTO files
SELECT i, 'upload-' || i || '.bin',
  (ARRAY['application/pdf', 'image/jpeg', 'image/png', 'application/zip'])[1 + i % 4],
  ${RANDOM_TIME},
  substring((SELECT string_agg(sha256(int8send(i * 100000 + j)), ''::bytea ORDER BY j)
    FROM generate_series(1, (size + 31) / 32) j) FROM 1 FOR size)
FROM generate_series(1, ${rows(bytes, 1_150_000)}) i,
  LATERAL (SELECT i AS row, 200000 + floor(random() * 1800001)::int AS size) AS x;
VACUUM (FREEZE, ANALYZE) files;`;
}

/**
 * 1,000 tables `mt_0001`…, each with a primary key; every third with an index on `code`. An
 * empty table with its indexes, TOAST table and maps takes about 90 KB here, so even ten rows
 * each make about 90 MiB: the rows share what is left of `bytes`.
 */
function manyTablesSql(bytes: number): string {
  const perTable = Math.max(10, rows(bytes / 1000 - 90_000, 130));
  const statements = [`SELECT setseed(0.6);`, WORDS_FUNCTION];
  for (let t = 1; t <= 1000; t++) {
    const name = `mt_${String(t).padStart(4, "0")}`;
    statements.push(
      `CREATE TABLE ${name} (id bigint PRIMARY KEY, code text NOT NULL, ` +
        `amount numeric(12, 2), note text, created_at timestamptz NOT NULL);`,
      `INSERT INTO ${name} SELECT i, 'c-' || substr(md5(random()::text), 1, 8), ` +
        `CASE WHEN random() < 0.5 THEN NULL ELSE round((random() * 10000)::numeric, 2) END, ` +
        `pg_temp.words(3 + (random() * 10)::int), ${RANDOM_TIME} ` +
        `FROM generate_series(1, ${perTable}) i;`,
    );
    if (t % 3 === 0) statements.push(`CREATE INDEX ${name}_code ON ${name} (code);`);
  }
  statements.push("VACUUM (FREEZE, ANALYZE);");
  return statements.join("\n");
}

const SCHEMAS = ["sh_app", "sh_billing", "sh_crm", "sh_audit", "sh_reporting"];

/**
 * 545 tables in five schemas (identity keys, defaults, checks, foreign keys to an earlier table,
 * unique and plain indexes, comments) with three rows each, and 281 views over them.
 */
function schemaHeavySql(): string {
  const tables = Array.from({ length: 545 }, (_, i) => ({
    i,
    name: `${SCHEMAS[i % SCHEMAS.length]}.entity_${String(i + 1).padStart(3, "0")}`,
  }));
  const statements = [
    ...SCHEMAS.map((s) => `CREATE SCHEMA ${s};`),
    `CREATE TYPE sh_app.state AS ENUM ('new', 'active', 'archived');`,
  ];
  for (const { i, name } of tables) {
    const columns = [
      "id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
      "name text NOT NULL",
      "state sh_app.state NOT NULL DEFAULT 'new'",
      "created_at timestamptz NOT NULL DEFAULT now()",
    ];
    if (i % 2 === 0) columns.push("amount numeric(12, 2) CHECK (amount >= 0)");
    if (i % 3 === 0) columns.push("attributes jsonb NOT NULL DEFAULT '{}'");
    if (i % 4 === 0) columns.push("code varchar(32) UNIQUE");
    if (i % 5 === 0 && i > 0) columns.push(`parent_id bigint REFERENCES ${tables[i - 1].name}`);
    for (let k = 0; k < i % 7; k++) columns.push(`extra_${k} ${k % 2 ? "integer" : "text"}`);
    const amount = i % 2 === 0 ? [", amount", ", n * 1.5"] : ["", ""];
    statements.push(
      `CREATE TABLE ${name} (${columns.join(", ")});`,
      `COMMENT ON TABLE ${name} IS 'Entity ${i + 1} of the schema-heavy benchmark';`,
      `CREATE INDEX ON ${name} (created_at);`,
      `INSERT INTO ${name} (name, created_at${amount[0]}) SELECT 'row ' || n, ` +
        `timestamptz '2025-01-01 00:00+00' + n * interval '1 hour'${amount[1]} ` +
        `FROM generate_series(1, 3) n;`,
    );
  }
  for (let v = 0; v < 281; v++) {
    const [a, b] = [tables[v % 545], tables[(v * 7 + 3) % 545]];
    const name = `${SCHEMAS[v % SCHEMAS.length]}.view_${String(v + 1).padStart(3, "0")}`;
    statements.push(
      v % 3 === 0
        ? `CREATE VIEW ${name} AS SELECT state, count(*) AS n, max(created_at) AS latest ` +
          `FROM ${a.name} GROUP BY state;`
        : `CREATE VIEW ${name} AS SELECT a.id, a.name, b.name AS other, a.created_at ` +
          `FROM ${a.name} a JOIN ${b.name} b ON b.id = a.id WHERE a.state <> 'archived';`,
      `COMMENT ON VIEW ${name} IS 'Report ${v + 1}';`,
    );
  }
  statements.push("VACUUM (FREEZE, ANALYZE);");
  return statements.join("\n");
}

/** Every PostgreSQL shape, in the order the matrix measures them ("large" comes last). */
export const PG_SHAPES: readonly PgShape[] = [
  { name: "plain", title: "tables, keys, indexes", version: 10 + PLAIN_VERSION, sql: plainSql },
  { name: "composite", title: "composite primary key", version: 1, sql: compositeSql },
  { name: "zeros", title: "float/numeric zeros, -0", version: 1, sql: zerosSql },
  { name: "wide", title: "150 columns", version: 1, sql: wideSql },
  { name: "blobs", title: "bytea 200 KB-2 MB", version: 1, sql: byteaSql },
  { name: "many_tables", title: "1,000 small tables", version: 1, sql: manyTablesSql },
  {
    name: "schema_heavy",
    title: "545 tables, 281 views",
    version: 2,
    fixedSize: true,
    sql: schemaHeavySql,
  },
];

/** Every shape in one database, the scalable ones with an equal share of `bytes`. */
export const PG_LARGE: PgShape = {
  name: "large",
  title: "all shapes, mixed",
  version: PG_SHAPES.reduce((sum, s) => sum + s.version, 0),
  sql(bytes) {
    const share = bytes / PG_SHAPES.filter((s) => !s.fixedSize).length;
    return PG_SHAPES.map((s) => s.sql(share)).join("\n");
  },
};

/**
 * The database of `shape` at about `miB` on `server` (`shape_NAME_vVERSION_SIZEmb`, no size for a
 * fixed-size shape), built when missing: under a `_partial` name renamed when done, so a
 * database that exists is complete; other versions of the same size are dropped. `path` is its
 * URL.
 */
export async function ensurePgShape(
  server: string,
  shape: PgShape,
  miB: number,
): Promise<BuiltDatabase> {
  const base = `shape_${shape.name}_v`;
  const suffix = shape.fixedSize ? "" : `_${miB}mb`;
  const name = `${base}${shape.version}${suffix}`;
  const url = databaseUrl(server, name);
  const size = async () => Number(await psql(url, "SELECT pg_database_size(current_database())"));
  const existing = (await psql(server, "SELECT datname FROM pg_database")).trim().split("\n");
  if (existing.includes(name)) return { path: url, bytes: await size(), buildSeconds: 0 };
  const stale = new RegExp(`^${base}\\d+${suffix}(_partial)?$`);
  for (const other of existing.filter((db) => stale.test(db))) await dropDatabase(server, other);
  const partial = `${name}_partial`;
  await psql(server, `CREATE DATABASE ${partial} TEMPLATE template0 ENCODING 'UTF8'`);
  const start = performance.now();
  await psql(databaseUrl(server, partial), shape.sql(miB * 1024 * 1024));
  await psql(server, `ALTER DATABASE ${partial} RENAME TO ${name}`);
  return { path: url, bytes: await size(), buildSeconds: (performance.now() - start) / 1000 };
}

/**
 * Per table (every schema): the row count and the total length of its rows as text (which
 * keeps the sign of -0); plus the count of relations by kind and of constraints by type.
 */
export async function pgFingerprint(url: string): Promise<Fingerprint> {
  const lines = (await psql(url, FINGERPRINT_SQL)).trim().split("\n");
  return new Map(lines.map((l) => [l.slice(0, l.indexOf("|")), l.slice(l.indexOf("|") + 1)]));
}

const FINGERPRINT_SQL = `
SELECT n.nspname || '.' || c.relname, (xpath('/row/c/text()', query_to_xml(format(
  'SELECT count(*) || '' rows, length '' || coalesce(sum(length(t::text)), 0) AS c FROM %I.%I t',
  n.nspname, c.relname), false, true, '')))[1]::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%'
UNION ALL
SELECT 'objects', string_agg(kind || ' ' || n, ', ' ORDER BY kind) FROM (
  SELECT 'relkind ' || c.relkind::text AS kind, count(*) AS n
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
  GROUP BY c.relkind
  UNION ALL
  SELECT 'constraint ' || contype::text, count(*) FROM pg_constraint
  WHERE connamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
  GROUP BY contype) AS kinds
ORDER BY 1;`;
