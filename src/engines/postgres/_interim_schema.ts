/**
 * A stand-in for the catalog reader (`_schema.ts`, built on another branch): ordinary tables
 * with their columns, constraints and indexes only, enough to run the dump and restore end to
 * end. Removed when the real reader lands.
 */
import type postgres from "postgres";
import type { SchemaItem, SchemaOptions, SchemaPlan, TableData } from "./_model.ts";
import { tableFilter } from "../table_filter.ts";

/** Reads the plan of the user tables visible in the transaction's snapshot. */
export async function readSchemaPlan(
  tx: postgres.TransactionSql,
  options: SchemaOptions = {},
): Promise<SchemaPlan> {
  const filter = tableFilter(options.tables, options.excludeTables);
  const tables = (await tx<
    { oid: number; schema: string; name: string; owner: string; size: string; est: number }[]
  >`
    SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name,
           pg_get_userbyid(c.relowner) AS owner, pg_relation_size(c.oid)::text AS size,
           c.reltuples::float8 AS est
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\\_%'
    ORDER BY n.nspname, c.relname`).filter((t) => filter.includes(t.schema, t.name));
  const preData: SchemaItem[] = [];
  const postData: SchemaItem[] = [];
  const data: TableData[] = [];
  for (const t of tables) {
    const qualified = `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
    const columns = await tx<
      { name: string; type: string; notnull: boolean; def: string | null }[]
    >`
      SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
             a.attnotnull AS notnull, pg_get_expr(d.adbin, d.adrelid) AS def
      FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = ${t.oid} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`;
    const body = columns.map((c) =>
      `    ${quoteIdent(c.name)} ${c.type}${c.def === null ? "" : ` DEFAULT ${c.def}`}${
        c.notnull ? " NOT NULL" : ""
      }`
    ).join(",\n");
    preData.push({
      kind: "TABLE",
      name: t.name,
      schema: t.schema,
      owner: t.owner,
      sql: `CREATE TABLE ${qualified} (\n${body}\n);\n`,
      drop: `DROP TABLE IF EXISTS ${qualified} CASCADE;`,
    });
    preData.push({
      kind: "TABLE",
      name: t.name,
      schema: t.schema,
      owner: t.owner,
      category: "owner",
      sql: `ALTER TABLE ${qualified} OWNER TO ${quoteIdent(t.owner)};\n`,
    });
    data.push({
      oid: t.oid,
      schema: t.schema,
      name: t.name,
      qualifiedName: qualified,
      columns: columns.map((c) => quoteIdent(c.name)),
      estimatedRows: t.est,
      sizeBytes: Number(t.size),
    });
    const constraints = await tx<{ name: string; def: string; type: string }[]>`
      SELECT conname AS name, pg_get_constraintdef(oid) AS def, contype::text AS type
      FROM pg_constraint WHERE conrelid = ${t.oid} ORDER BY contype = 'f', conname`;
    for (const c of constraints) {
      postData.push({
        kind: c.type === "f" ? "FK CONSTRAINT" : "CONSTRAINT",
        name: `${t.name} ${c.name}`,
        schema: t.schema,
        owner: t.owner,
        sql: `ALTER TABLE ONLY ${qualified}\n    ADD CONSTRAINT ${quoteIdent(c.name)} ${c.def};\n`,
      });
    }
    const indexes = await tx<{ name: string; def: string }[]>`
      SELECT i.relname AS name, pg_get_indexdef(x.indexrelid) AS def
      FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
      WHERE x.indrelid = ${t.oid}
        AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
      ORDER BY i.relname`;
    for (const i of indexes) {
      postData.push({
        kind: "INDEX",
        name: i.name,
        schema: t.schema,
        owner: t.owner,
        sql: `${i.def};\n`,
      });
    }
  }
  postData.sort((a, b) => Number(a.kind === "FK CONSTRAINT") - Number(b.kind === "FK CONSTRAINT"));
  return { preData, data, postData };
}

function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}
