/**
 * The rows of extensions' configuration tables (`pg_extension_config_dump`): `CREATE EXTENSION`
 * brings the tables back with the extension's own rows, and the dump copies the rest, the ones
 * the extension's filter condition selects, as pg_dump does. Configuration sequences get their
 * values set after the data.
 */
import { catalogKey, Priority } from "./_schema_graph.ts";
import { addSetval, readSequenceValues } from "./_schema_sequences.ts";
import { qualified, query, type ReadContext } from "./_schema_sql.ts";
import type { ColumnRow } from "./_schema_tables.ts";

interface ConfigRow {
  oid: number;
  extension: number;
  schema: string;
  name: string;
  q: string;
  literal: string;
  relkind: string;
  condition: string | null;
  reltuples: number;
  size: string;
}

/** Adds a data-only node per configuration table and a value per configuration sequence. */
export async function readExtensionData(
  ctx: ReadContext,
  columns: Map<number, ColumnRow[]>,
): Promise<void> {
  const rows = (await query<ConfigRow>(
    ctx.sql,
    `SELECT c.oid, e.oid AS extension, n.nspname AS schema, c.relname AS name,
       ${qualified("c.relname")} AS q, pg_catalog.quote_literal(${
      qualified("c.relname")
    }) AS literal,
       c.relkind, NULLIF(x.condition, '') AS condition,
       c.reltuples::float8 AS reltuples, pg_catalog.pg_relation_size(c.oid)::text AS size
     FROM pg_catalog.pg_extension e,
       ROWS FROM (pg_catalog.unnest(e.extconfig), pg_catalog.unnest(e.extcondition))
         AS x(relid, condition)
     JOIN pg_catalog.pg_class c ON c.oid = x.relid
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'S')
     ORDER BY n.nspname, c.relname`,
  )).filter((r) => ctx.selected(r.schema, r.name));
  for (const r of rows.filter((r) => r.relkind === "r")) {
    const cols = (columns.get(r.oid) ?? []).filter((c) => c.generated === "");
    ctx.graph.add({
      key: `extension-data:${r.oid}`,
      priority: Priority.Table,
      item: { kind: "TABLE DATA", name: r.name, schema: r.schema, sql: "" },
      table: {
        oid: r.oid,
        schema: r.schema,
        name: r.name,
        qualifiedName: r.q,
        columns: cols.map((c) => c.q),
        estimatedRows: r.reltuples,
        sizeBytes: Number(r.size),
        ...(r.condition ? { where: r.condition } : {}),
      },
      deps: [catalogKey("pg_extension", r.extension)],
    });
  }
  const sequences = rows.filter((r) => r.relkind === "S");
  const values = await readSequenceValues(ctx.sql, sequences.map((s) => s.q));
  sequences.forEach((s, i) =>
    addSetval(ctx.graph, s, values[i], [catalogKey("pg_extension", s.extension)])
  );
}
