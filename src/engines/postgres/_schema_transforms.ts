/**
 * Reads transforms (`CREATE TRANSFORM FOR type LANGUAGE lang (FROM SQL WITH FUNCTION ..., TO SQL
 * WITH FUNCTION ...)`): how a procedural language passes a type. Their dependencies (type,
 * language, functions) order them; they have no owner and no schema.
 */
import { catalogKey, Priority } from "./_schema_graph.ts";
import { notInExtension, query, type ReadContext } from "./_schema_sql.ts";

/** Adds transforms (database-wide objects, so not with a table filter). */
export async function readTransforms(ctx: ReadContext): Promise<void> {
  if (ctx.filtered) return;
  const rows = await query<{ oid: number; name: string; functions: string }>(
    ctx.sql,
    `SELECT t.oid, 'FOR ' || pg_catalog.format_type(t.trftype, NULL) || ' LANGUAGE ' ||
         pg_catalog.quote_ident(l.lanname) AS name,
       pg_catalog.concat_ws(', ',
         CASE WHEN t.trffromsql <> 0 THEN 'FROM SQL WITH FUNCTION ' ||
           t.trffromsql::pg_catalog.regprocedure::text END,
         CASE WHEN t.trftosql <> 0 THEN 'TO SQL WITH FUNCTION ' ||
           t.trftosql::pg_catalog.regprocedure::text END) AS functions
     FROM pg_catalog.pg_transform t JOIN pg_catalog.pg_language l ON l.oid = t.trflang
     WHERE t.oid >= 16384 AND ${notInExtension("pg_transform", "t.oid")}
     ORDER BY 2`,
  );
  for (const t of rows) {
    ctx.graph.addObject({
      key: catalogKey("pg_transform", t.oid),
      priority: Priority.Function + 0.5,
      item: {
        kind: "TRANSFORM",
        name: t.name,
        sql: `CREATE TRANSFORM ${t.name} (\n    ${t.functions}\n);\n`,
        drop: `DROP TRANSFORM IF EXISTS ${t.name};\n`,
      },
    }, { kind: "TRANSFORM", name: t.name });
  }
}
