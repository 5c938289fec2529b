/**
 * Reads sequences: their `CREATE SEQUENCE`, `OWNED BY` links, the values to set after the data,
 * and the identity clauses of identity columns (whose sequences are created by the column).
 */
import type { SchemaGraph } from "./_schema_graph.ts";
import { catalogKey, Priority } from "./_schema_graph.ts";
import {
  type CatalogQueries,
  notInExtension,
  objectColumns,
  type ObjectRow,
  qualified,
  query,
  type ReadContext,
  USER_SCHEMA,
} from "./_schema_sql.ts";

interface SequenceRow extends ObjectRow {
  literal: string;
  /** `AS bigint`: left out of identity clauses, where the column's type decides. */
  astype: string;
  options: string;
  unlogged: boolean;
  /** `i` for an identity column's sequence, `a` for `OWNED BY`, null when free-standing. */
  link: "i" | "a" | null;
  relid: number | null;
  attnum: number | null;
  column: string | null;
  tableschema: string | null;
  tablename: string | null;
  tableq: string | null;
}

/** The sequences read, for the table reader (identity clauses) and the post-data reader. */
export interface Sequences {
  /** `GENERATED ... AS IDENTITY` option lists by `relid:attnum`. */
  identity: Map<string, string>;
  /** Every dumped sequence, for `setval` after the data. */
  rows: SequenceRow[];
}

/** Adds free-standing and owned sequences; identity sequences are left to their column. */
export async function readSequences(ctx: ReadContext): Promise<Sequences> {
  const rows = await query<SequenceRow>(
    ctx.sql,
    `SELECT ${objectColumns("c.oid", "c.relname", "c.relowner")},
       pg_catalog.quote_literal(${qualified("c.relname")}) AS literal,
       c.relpersistence = 'u' AS unlogged,
       'AS ' || pg_catalog.format_type(s.seqtypid, NULL) AS astype,
       'START WITH ' || s.seqstart || ' INCREMENT BY ' || s.seqincrement ||
       ' MINVALUE ' || s.seqmin || ' MAXVALUE ' || s.seqmax || ' CACHE ' || s.seqcache ||
       CASE WHEN s.seqcycle THEN ' CYCLE' ELSE ' NO CYCLE' END AS options,
       d.deptype AS link, d.refobjid AS relid, d.refobjsubid AS attnum,
       pg_catalog.quote_ident(a.attname) AS column, tn.nspname AS tableschema,
       t.relname AS tablename,
       CASE WHEN t.oid IS NOT NULL THEN pg_catalog.format('%I.%I', tn.nspname, t.relname) END AS tableq
     FROM pg_catalog.pg_class c
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid
     LEFT JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objid = c.oid AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
     LEFT JOIN pg_catalog.pg_class t ON t.oid = d.refobjid
     LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
     LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
     WHERE c.relkind = 'S' AND ${USER_SCHEMA} AND ${notInExtension("pg_class", "c.oid")}
     ORDER BY n.nspname, c.relname`,
  );
  const kept = rows.filter((s) =>
    s.link === null
      ? ctx.selected(s.schema, s.name)
      : ctx.selected(s.tableschema!, s.tablename!) || ctx.selected(s.schema, s.name)
  );
  const identity = new Map<string, string>();
  for (const s of kept) {
    const key = catalogKey("pg_class", s.oid);
    if (s.link === "i") {
      identity.set(`${s.relid}:${s.attnum}`, `(SEQUENCE NAME ${s.q} ${s.options})`);
      // Named through its table's node: created, owned and dropped with the table.
      ctx.graph.ref(key, {
        node: catalogKey("pg_class", s.relid!),
        kind: "SEQUENCE",
        name: s.q,
        aclKind: "SEQUENCE",
        owner: s.owner,
      });
      continue;
    }
    ctx.graph.addObject({
      key,
      priority: Priority.Sequence,
      item: {
        kind: "SEQUENCE",
        name: s.name,
        schema: s.schema,
        owner: s.owner,
        sql: `CREATE ${
          s.unlogged ? "UNLOGGED " : ""
        }SEQUENCE ${s.q}\n    ${s.astype} ${s.options};\n`,
        drop: `DROP SEQUENCE IF EXISTS ${s.q} CASCADE;\n`,
      },
    }, { kind: "SEQUENCE", name: s.q, ownerKind: "SEQUENCE", aclKind: "SEQUENCE" });
    if (s.link === "a" && ctx.selected(s.tableschema!, s.tablename!)) addOwnedBy(ctx.graph, s);
  }
  return { identity, rows: kept };
}

/** `OWNED BY` goes after both the sequence and its table (the table's default uses the sequence). */
function addOwnedBy(graph: SchemaGraph, s: SequenceRow): void {
  const key = `owned-by:${s.oid}`;
  graph.add({
    key,
    priority: Priority.SequenceOwnedBy,
    item: {
      kind: "SEQUENCE OWNED BY",
      name: s.name,
      schema: s.schema,
      owner: s.owner,
      sql: `ALTER SEQUENCE ${s.q} OWNED BY ${s.tableq}.${s.column};\n`,
    },
    deps: [catalogKey("pg_class", s.oid), catalogKey("pg_class", s.relid!)],
  });
}

/**
 * Adds `setval` for every dumped sequence whose table (if it has one) is dumped, with the value
 * and `is_called` flag read now, inside the dump's snapshot.
 */
export async function addSequenceValues(ctx: ReadContext, sequences: Sequences): Promise<void> {
  const rows = sequences.rows.filter((s) => ctx.graph.node(catalogKey("pg_class", s.oid)));
  const values = await readSequenceValues(ctx.sql, rows.map((s) => s.q));
  rows.forEach((s, i) => addSetval(ctx.graph, s, values[i], [catalogKey("pg_class", s.oid)]));
}

/** Adds the `setval` of a sequence (`literal`: its quoted name as a string literal). */
export function addSetval(
  graph: SchemaGraph,
  s: { oid: number; name: string; schema: string; owner?: string; literal: string },
  value: { last_value: string; is_called: boolean },
  deps: string[],
): void {
  graph.add({
    key: `setval:${s.oid}`,
    priority: Priority.SequenceSet,
    item: {
      kind: "SEQUENCE SET",
      name: s.name,
      schema: s.schema,
      owner: s.owner,
      sql: `SELECT pg_catalog.setval(${s.literal}, ${value.last_value}, ${value.is_called});\n`,
    },
    deps,
  });
}

/**
 * Reads the values of the sequences named (quoted `schema.name`): one row per sequence, in input
 * order. `pg_sequence_last_value()` reads every sequence that was used in one query; only the
 * rest (never called, where it gives NULL and the value to keep is the stored one) are selected
 * from, in small `UNION ALL` batches: the planner's cost grows with the square of the arms
 * (500 arms took 100 ms, 50 took 1 ms).
 */
export async function readSequenceValues(
  sql: CatalogQueries,
  names: string[],
): Promise<{ last_value: string; is_called: boolean }[]> {
  const out: { last_value: string; is_called: boolean }[] = new Array(names.length);
  const uncalled: number[] = [];
  for (let i = 0; i < names.length; i += 5000) {
    const values = names.slice(i, i + 5000).map((q, j) => `(${i + j}, ${quoteLiteral(q)})`);
    const rows = await query<{ i: number; last_value: string | null }>(
      sql,
      `SELECT v.i, pg_catalog.pg_sequence_last_value(v.q::pg_catalog.regclass)::text AS last_value
       FROM (VALUES ${values.join(", ")}) AS v(i, q)`,
    );
    for (const row of rows) {
      if (row.last_value === null) uncalled.push(row.i);
      else out[row.i] = { last_value: row.last_value, is_called: true };
    }
  }
  const batches: Promise<void>[] = [];
  for (let i = 0; i < uncalled.length; i += 40) {
    const batch = uncalled.slice(i, i + 40).map((index) =>
      `SELECT ${index} AS i, last_value::text AS last_value, is_called FROM ${names[index]}`
    );
    batches.push(
      query<{ i: number; last_value: string; is_called: boolean }>(sql, batch.join("\nUNION ALL\n"))
        .then((rows) => {
          for (const { i, last_value, is_called } of rows) out[i] = { last_value, is_called };
        }),
    );
  }
  await Promise.all(batches);
  return out;
}

function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
