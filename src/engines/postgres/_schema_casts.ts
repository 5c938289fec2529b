/**
 * Reads user-defined casts and encoding conversions: the two ways a database converts values
 * that are objects of their own, each created after the functions that do the work.
 */
import { catalogKey, Priority } from "./_schema_graph.ts";
import {
  notInExtension,
  objectColumns,
  type ObjectRow,
  qualified,
  query,
  type ReadContext,
  USER_SCHEMA,
} from "./_schema_sql.ts";

/** Adds casts and conversions (database-wide objects, so not with a table filter). */
export async function readCasts(ctx: ReadContext): Promise<void> {
  if (ctx.filtered) return;
  const casts = await query<{ oid: number; name: string; how: string }>(
    ctx.sql,
    `SELECT c.oid, '(' || pg_catalog.format_type(c.castsource, NULL) || ' AS ' ||
         pg_catalog.format_type(c.casttarget, NULL) || ')' AS name,
       CASE c.castmethod WHEN 'f' THEN 'WITH FUNCTION ' ||
           c.castfunc::pg_catalog.regprocedure::text
         WHEN 'i' THEN 'WITH INOUT' ELSE 'WITHOUT FUNCTION' END ||
       CASE c.castcontext WHEN 'a' THEN ' AS ASSIGNMENT' WHEN 'i' THEN ' AS IMPLICIT'
         ELSE '' END AS how
     FROM pg_catalog.pg_cast c
     WHERE c.oid >= 16384 AND ${notInExtension("pg_cast", "c.oid")}
       -- A range type makes its multirange casts itself.
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid =
         'pg_catalog.pg_cast'::pg_catalog.regclass AND d.objid = c.oid AND d.deptype = 'i')
     ORDER BY c.castsource, c.casttarget`,
  );
  for (const c of casts) {
    ctx.graph.addObject({
      key: catalogKey("pg_cast", c.oid),
      priority: Priority.Cast,
      item: {
        kind: "CAST",
        name: `CAST ${c.name}`,
        sql: `CREATE CAST ${c.name} ${c.how};\n`,
        drop: `DROP CAST IF EXISTS ${c.name};\n`,
      },
    }, { kind: "CAST", name: c.name });
  }

  const conversions = await query<ObjectRow & { def: string }>(
    ctx.sql,
    `SELECT ${objectColumns("c.oid", "c.conname", "c.conowner")},
       CASE WHEN c.condefault THEN 'DEFAULT ' ELSE '' END || 'CONVERSION ' ||
       ${qualified("c.conname")} || ' FOR ' ||
       pg_catalog.quote_literal(pg_catalog.pg_encoding_to_char(c.conforencoding)) || ' TO ' ||
       pg_catalog.quote_literal(pg_catalog.pg_encoding_to_char(c.contoencoding)) || ' FROM ' ||
       c.conproc::pg_catalog.regproc::text AS def
     FROM pg_catalog.pg_conversion c JOIN pg_catalog.pg_namespace n ON n.oid = c.connamespace
     WHERE ${USER_SCHEMA} AND ${notInExtension("pg_conversion", "c.oid")}
     ORDER BY n.nspname, c.conname`,
  );
  for (const c of conversions) {
    ctx.graph.addNamed({
      catalog: "pg_conversion",
      keyword: "CONVERSION",
      priority: Priority.Conversion,
      row: c,
      sql: `CREATE ${c.def};\n`,
    });
  }
}
