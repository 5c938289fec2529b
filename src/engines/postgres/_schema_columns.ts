/**
 * Columns of tables, views and materialized views as the catalogs hold them, and how a table's
 * statements write one: its clause in `CREATE TABLE`, the settings that follow it (statistics,
 * storage, compression, options), what an inherited column needs beyond its parents.
 */
import { catalogKey } from "./_schema_graph.ts";
import { OPTIONS, query, type ReadContext, USER_SCHEMA } from "./_schema_sql.ts";

/** A column as the catalogs hold it. */
export interface ColumnRow {
  relid: number;
  attnum: number;
  name: string;
  q: string;
  type: string;
  notnull: boolean;
  islocal: boolean;
  identity: "" | "a" | "d";
  generated: "" | "s";
  defval: string | null;
  defoid: number | null;
  collation: string | null;
  stattarget: number;
  storage: string | null;
  compression: string;
  options: string | null;
  /** A foreign table column's options, `name 'value', ...`. */
  fdwoptions: string | null;
  /** The columns a generated column's expression uses. */
  refs: string[] | null;
}

/** The column clause of `CREATE TABLE` (without type and collation in a typed table). */
export function columnDefinition(c: ColumnRow, identity: string | undefined, typed = true): string {
  let s = typed ? `${c.q} ${c.type}` : c.q;
  if (typed && c.collation) s += ` COLLATE ${c.collation}`;
  if (c.generated === "s") s += ` GENERATED ALWAYS AS (${c.defval}) STORED`;
  else if (c.defval !== null) s += ` DEFAULT ${c.defval}`;
  if (c.notnull) s += " NOT NULL";
  if (c.identity && identity) {
    s += ` GENERATED ${c.identity === "a" ? "ALWAYS" : "BY DEFAULT"} AS IDENTITY ${identity}`;
  }
  return s;
}

/** ` (\n    a integer,\n    b text\n)`, or ` ()`. */
export function columnList(lines: string[]): string {
  return lines.length ? ` (\n    ${lines.join(",\n    ")}\n)` : " ()";
}

/** A column's name, type and collation (`_schema_inherit.ts`: a scratch parent merges it). */
export function columnType(c: ColumnRow): string {
  return `${c.q} ${c.type}` + (c.collation ? ` COLLATE ${c.collation}` : "");
}

/** An inherited-only column as the scratch parent defines it for the child to inherit. */
export function scratchColumn(c: ColumnRow): string {
  return columnType(c) + (c.notnull ? " NOT NULL" : "") +
    (c.generated === "s" ? ` GENERATED ALWAYS AS (${c.defval}) STORED` : "");
}

/** Whether a parent has column `c` as a generated column. */
export function generatedInParent(c: ColumnRow, parents: ColumnRow[][]): boolean {
  return parents.some((p) => p.some((pc) => pc.name === c.name && pc.generated !== ""));
}

/** NOT NULL or a default that an inherited column has beyond what its parents give it. */
export function inheritedColumnFixes(
  table: string,
  c: ColumnRow,
  parents: { parent: number }[],
  columns: Map<number, ColumnRow[]>,
): string[] {
  const inParents = parentColumns(c, parents, columns);
  const out: string[] = [];
  if (c.notnull && !inParents.some((p) => p.notnull)) {
    out.push(`ALTER TABLE ONLY ${table} ALTER COLUMN ${c.q} SET NOT NULL;`);
  }
  if (c.defval !== null && c.generated === "" && !inParents.some((p) => p.defval === c.defval)) {
    out.push(`ALTER TABLE ONLY ${table} ALTER COLUMN ${c.q} SET DEFAULT ${c.defval};`);
  }
  return out;
}

/** The columns of the same name as `c` in a table's parents (`parents`: their oids). */
export function parentColumns(
  c: ColumnRow,
  parents: { parent: number }[],
  columns: Map<number, ColumnRow[]>,
): ColumnRow[] {
  return parents.map((p) => columns.get(p.parent)?.find((pc) => pc.name === c.name))
    .filter((pc): pc is ColumnRow => pc !== undefined);
}

/**
 * Per-column statistics target, storage, compression and options that differ from defaults
 * (`relation`: `TABLE ONLY s.t`, `FOREIGN TABLE ONLY s.t` or `MATERIALIZED VIEW s.m`). A child
 * created under its parents takes a parent column's compression: `inParents` (those columns)
 * makes a child column of the default compression say so (`SET COMPRESSION default`), as one
 * attached later with `ALTER TABLE ... INHERIT` has it.
 */
export function columnSettings(
  relation: string,
  c: ColumnRow,
  inParents: ColumnRow[] = [],
): string[] {
  const alter = `ALTER ${relation} ALTER COLUMN ${c.q}`;
  const out: string[] = [];
  if (c.stattarget >= 0) out.push(`${alter} SET STATISTICS ${c.stattarget};`);
  if (c.storage) out.push(`${alter} SET STORAGE ${c.storage};`);
  if (c.compression) out.push(`${alter} SET COMPRESSION ${c.compression};`);
  else if (inParents.some((p) => p.compression)) out.push(`${alter} SET COMPRESSION default;`);
  if (c.options) out.push(`${alter} SET (${c.options});`);
  if (c.fdwoptions) out.push(`${alter} OPTIONS (${c.fdwoptions});`);
  return out;
}

/** Columns of every user table, view and materialized view, in column order. */
export function readColumns(ctx: ReadContext): Promise<ColumnRow[]> {
  return query<ColumnRow>(
    ctx.sql,
    `SELECT a.attrelid AS relid, a.attnum, a.attname AS name, pg_catalog.quote_ident(a.attname) AS q,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull,
       a.attislocal AS islocal, a.attidentity AS identity, a.attgenerated AS generated,
       pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS defval, d.oid AS defoid,
       (SELECT pg_catalog.format('%I.%I', cn.nspname, co.collname)
          FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
          WHERE co.oid = a.attcollation AND a.attcollation <> t.typcollation) AS collation,
       a.attstattarget AS stattarget,
       CASE WHEN a.attstorage <> t.typstorage THEN CASE a.attstorage WHEN 'p' THEN 'PLAIN'
         WHEN 'e' THEN 'EXTERNAL' WHEN 'm' THEN 'MAIN' ELSE 'EXTENDED' END END AS storage,
       CASE a.attcompression WHEN 'p' THEN 'pglz' WHEN 'l' THEN 'lz4' ELSE '' END AS compression,
       -- PostgreSQL 15.20 keeps a version of its own in every column's options (pg_attver), which
       -- SET ignores and pg_dump leaves out: written back, it was one useless ALTER per column.
       pg_catalog.array_to_string(ARRAY(SELECT o FROM pg_catalog.unnest(a.attoptions) o
         WHERE o NOT LIKE 'pg\\_attver=%'), ', ') AS options,
       (SELECT ${OPTIONS} FROM pg_catalog.pg_options_to_table(a.attfdwoptions)) AS fdwoptions,
       CASE WHEN a.attgenerated <> '' THEN (SELECT pg_catalog.array_agg(ra.attname::text)
         FROM pg_catalog.pg_depend rd JOIN pg_catalog.pg_attribute ra
           ON ra.attrelid = rd.refobjid AND ra.attnum = rd.refobjsubid
         WHERE rd.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND rd.objid = d.oid
           AND rd.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
           AND rd.refobjid = a.attrelid AND rd.refobjsubid NOT IN (0, a.attnum)) END AS refs
     FROM pg_catalog.pg_attribute a
     JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
     LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
       AND ${USER_SCHEMA}
     ORDER BY a.attrelid, a.attnum`,
  );
}

/**
 * Per-column settings of materialized views (statistics target, storage, compression, options),
 * right after their `CREATE MATERIALIZED VIEW` (read by `_schema_views.ts`).
 */
export function addMatviewColumnSettings(
  ctx: ReadContext,
  columns: Map<number, ColumnRow[]>,
): void {
  for (const [relid, cols] of columns) {
    const key = catalogKey("pg_class", relid);
    const node = ctx.graph.node(key);
    const ref = ctx.graph.refs.get(key);
    if (node?.key !== key || node.item.kind !== "MATERIALIZED VIEW" || !ref) continue;
    const sql = cols.flatMap((c) => columnSettings(`MATERIALIZED VIEW ${ref.name}`, c));
    if (sql.length === 0) continue;
    node.after.push({
      kind: "MATERIALIZED VIEW COLUMNS",
      name: node.item.name,
      schema: node.item.schema,
      owner: node.item.owner,
      sql: sql.map((line) => `${line}\n`).join(""),
    });
  }
}
