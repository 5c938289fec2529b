/**
 * Reads procedural languages created with `CREATE LANGUAGE` rather than by an extension (those
 * come back with their extension): the language after its handler functions, and before the
 * functions written in it.
 */
import { Priority } from "./_schema_graph.ts";
import { notInExtension, query, type ReadContext, roleName } from "./_schema_sql.ts";

/** Adds procedural languages (database-wide objects, so not with a table filter). */
export async function readLanguages(ctx: ReadContext): Promise<void> {
  if (ctx.filtered) return;
  const rows = await query<{ oid: number; name: string; q: string; owner: string; def: string }>(
    ctx.sql,
    `SELECT l.oid, l.lanname AS name, pg_catalog.quote_ident(l.lanname) AS q,
       ${roleName("l.lanowner")} AS owner,
       CASE WHEN l.lanpltrusted THEN 'TRUSTED ' ELSE '' END || 'PROCEDURAL LANGUAGE ' ||
       pg_catalog.quote_ident(l.lanname) ||
       ' HANDLER ' || l.lanplcallfoid::pg_catalog.regproc::text ||
       CASE WHEN l.laninline <> 0 THEN ' INLINE ' || l.laninline::pg_catalog.regproc::text
         ELSE '' END ||
       CASE WHEN l.lanvalidator <> 0 THEN ' VALIDATOR ' ||
         l.lanvalidator::pg_catalog.regproc::text ELSE '' END AS def
     FROM pg_catalog.pg_language l
     WHERE l.oid >= 16384 AND l.lanispl AND ${notInExtension("pg_language", "l.oid")}
     ORDER BY l.lanname`,
  );
  for (const l of rows) {
    ctx.graph.addNamed({
      catalog: "pg_language",
      keyword: "LANGUAGE",
      priority: Priority.Language,
      row: l,
      sql: `CREATE ${l.def};\n`,
      acl: "LANGUAGE",
    });
  }
}
