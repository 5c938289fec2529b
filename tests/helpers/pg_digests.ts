/**
 * The data oracle: what a PostgreSQL database holds beyond its schema text, computed by the
 * server in one REPEATABLE READ snapshot with fixed output settings (UTC, ISO dates, hex bytea,
 * `extra_float_digits = 3`, empty `search_path` so names print qualified):
 * - per table (and populated materialized view): the row count and an md5 over the sorted md5s of
 *   every row's text (`ROW(r.*)::text`, each float column's `float8send` bits appended, so -0 and
 *   every bit count); a multiset, so row order on disk does not matter;
 * - every sequence's `last_value` and `is_called`;
 * - every large object: owner, ACL, comment, length and md5 of its bytes;
 * - database facts: encoding, collation, ctype, locale provider, owner, connection limit, ACL,
 *   comment, security labels, template flag, and `ALTER DATABASE ... SET` settings for all roles
 *   and per role.
 * Objects that belong to an extension are left out (the extension recreates them).
 */
import postgres from "postgres";
import { quoteIdent } from "./pg_tools.ts";

/** Rows and digest of one table, keyed in {@linkcode DataDigests.tables} by `"schema"."name"`. */
export interface TableDigest {
  rows: number;
  /** md5 of the sorted row md5s; `not populated` for a materialized view without data. */
  digest: string;
}

/** Everything {@linkcode dataDigests} reads. */
export interface DataDigests {
  facts: Record<string, string>;
  tables: Record<string, TableDigest>;
  /** `"schema"."name"` → `last_value is_called` (e.g. `42 true`). */
  sequences: Record<string, string>;
  /** oid → `owner=… acl=… comment=… bytes=… md5=…`. */
  largeObjects: Record<string, string>;
}

const SETTINGS = [
  "SET LOCAL TimeZone = 'UTC'",
  "SET LOCAL DateStyle = 'ISO, YMD'",
  "SET LOCAL IntervalStyle = 'postgres'",
  "SET LOCAL extra_float_digits = 3",
  "SET LOCAL bytea_output = 'hex'",
  "SET LOCAL lc_monetary = 'C'",
  "SET LOCAL search_path = ''",
];

const NOT_EXTENSION_MEMBER = `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
  WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
    AND d.deptype = 'e')`;

const USER_RELATIONS = `pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
    AND ${NOT_EXTENSION_MEMBER}`;

interface Relation {
  schema: string;
  name: string;
  kind: string;
  populated: boolean;
  floats: string[];
}

/** Reads the {@linkcode DataDigests} of the database at `url`. */
export async function dataDigests(url: string): Promise<DataDigests> {
  return await inSnapshot(url, async (tx) => {
    const relations = await listRelations(tx);
    const tables: Record<string, TableDigest> = {};
    for (const relation of relations.filter((r) => r.kind !== "S")) {
      const key = qualified(relation);
      if (relation.kind === "m" && !relation.populated) {
        tables[key] = { rows: 0, digest: "not populated" };
        continue;
      }
      const [row] = await tx.unsafe(
        `SELECT count(*)::text AS rows, coalesce(md5(string_agg(h, '' ORDER BY h)), '') AS digest
         FROM (SELECT md5(${rowText(relation)}) COLLATE "C" AS h FROM ${from(relation)}) x`,
      );
      tables[key] = { rows: Number(row.rows), digest: String(row.digest) };
    }
    return {
      facts: await readFacts(tx),
      tables,
      sequences: await readSequences(tx, relations.filter((r) => r.kind === "S")),
      largeObjects: await readLargeObjects(tx),
    };
  });
}

/**
 * The text of every row of `table` (`"schema"."name"` as keyed in {@linkcode DataDigests}),
 * sorted, at most `limit` rows: for showing which rows differ.
 */
export async function tableRows(url: string, table: string, limit = 20_000): Promise<string[]> {
  return await inSnapshot(url, async (tx) => {
    const relation = (await listRelations(tx)).find((r) => qualified(r) === table);
    if (!relation || (relation.kind === "m" && !relation.populated)) return [];
    const rows = await tx.unsafe(
      `SELECT t FROM (SELECT ${rowText(relation)} AS t FROM ${from(relation)}) x
       ORDER BY t COLLATE "C" LIMIT ${limit}`,
    );
    return rows.map((r) => String(r.t));
  });
}

type Tx = postgres.TransactionSql;

async function inSnapshot<T>(url: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  // postgres.js takes the URL's path as the database name without decoding it ("my%20db")
  const database = decodeURIComponent(new URL(url).pathname.slice(1));
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10, database });
  try {
    return await sql.begin("ISOLATION LEVEL REPEATABLE READ READ ONLY", async (tx) => {
      for (const setting of SETTINGS) await tx.unsafe(setting);
      return await fn(tx);
    }) as T;
  } finally {
    await sql.end();
  }
}

async function listRelations(tx: Tx): Promise<Relation[]> {
  const rows = await tx.unsafe(
    `SELECT n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS kind,
       c.relispopulated AS populated,
       coalesce((SELECT pg_catalog.string_agg(
           pg_catalog.format('%s(r.%I)', t.typname || 'send', a.attname), ',' ORDER BY a.attnum)
         FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
           AND t.typname IN ('float4', 'float8')), '') AS floats
     FROM ${USER_RELATIONS} AND c.relkind IN ('r', 'm', 'S')
     ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"`,
  );
  return rows.map((r) => ({
    schema: String(r.schema),
    name: String(r.name),
    kind: String(r.kind),
    populated: Boolean(r.populated),
    floats: r.floats ? String(r.floats).split(",") : [],
  }));
}

function qualified(relation: { schema: string; name: string }): string {
  return `${quoteIdent(relation.schema)}.${quoteIdent(relation.name)}`;
}

function from(relation: Relation): string {
  return `${relation.kind === "r" ? "ONLY " : ""}${qualified(relation)} r`;
}

/** The row's text, then each float column's exact bits (`-` for NULL). */
function rowText(relation: Relation): string {
  const bits = relation.floats.map((f) => ` || ' ' || coalesce(${f}::text, '-')`).join("");
  return `ROW(r.*)::text${bits}`;
}

async function readFacts(tx: Tx): Promise<Record<string, string>> {
  const [row] = await tx.unsafe(
    `SELECT pg_catalog.pg_encoding_to_char(d.encoding) AS encoding, d.datcollate::text AS collate,
       d.datctype::text AS ctype, d.datlocprovider::text AS "locale provider",
       coalesce(d.daticulocale, '') AS "icu locale",
       pg_catalog.pg_get_userbyid(d.datdba)::text AS owner,
       d.datconnlimit::text AS "connection limit", coalesce(d.datacl::text, '') AS acl,
       coalesce(pg_catalog.shobj_description(d.oid, 'pg_database'), '') AS comment,
       coalesce((SELECT pg_catalog.array_to_string(s.setconfig, ', ')
         FROM pg_catalog.pg_db_role_setting s WHERE s.setdatabase = d.oid AND s.setrole = 0), '')
         AS settings,
       coalesce((SELECT pg_catalog.string_agg(r.rolname || ': ' ||
           pg_catalog.array_to_string(s.setconfig, ', '), '; ' ORDER BY r.rolname)
         FROM pg_catalog.pg_db_role_setting s JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
         WHERE s.setdatabase = d.oid), '') AS "role settings",
       d.datistemplate::text AS template,
       coalesce((SELECT pg_catalog.string_agg(l.provider || '=' || l.label, ', '
           ORDER BY l.provider) FROM pg_catalog.pg_shseclabel l
         WHERE l.objoid = d.oid AND l.classoid = 'pg_catalog.pg_database'::pg_catalog.regclass), '')
         AS "security labels"
     FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()`,
  );
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, String(v)]));
}

async function readSequences(tx: Tx, sequences: Relation[]): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const sequence of sequences) {
    const [row] = await tx.unsafe(
      `SELECT last_value::text || ' ' || is_called::text AS v FROM ${qualified(sequence)}`,
    );
    result[qualified(sequence)] = String(row.v);
  }
  return result;
}

async function readLargeObjects(tx: Tx): Promise<Record<string, string>> {
  const rows = await tx.unsafe(
    `SELECT m.oid::text AS oid, pg_catalog.format('owner=%s acl=%s comment=%s bytes=%s md5=%s',
       pg_catalog.pg_get_userbyid(m.lomowner), coalesce(m.lomacl::text, ''),
       coalesce(pg_catalog.obj_description(m.oid, 'pg_largeobject'), ''),
       pg_catalog.length(pg_catalog.lo_get(m.oid)), pg_catalog.md5(pg_catalog.lo_get(m.oid))) AS v
     FROM pg_catalog.pg_largeobject_metadata m ORDER BY m.oid`,
  );
  return Object.fromEntries(rows.map((r) => [String(r.oid), String(r.v)]));
}
