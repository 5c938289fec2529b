/**
 * Reads user-defined access methods (`CREATE ACCESS METHOD ... TYPE TABLE|INDEX HANDLER f`).
 * Tables, materialized views, indexes and operator families name their method, so it comes
 * before them; the handler function (a built-in one, or a C function of the database) before it.
 */
import { catalogKey, Priority } from "./_schema_graph.ts";
import { notInExtension, query, type ReadContext, USER_SCHEMA } from "./_schema_sql.ts";

/** Adds access methods (database-wide objects, so not with a table filter). */
export async function readAccessMethods(ctx: ReadContext): Promise<void> {
  if (ctx.filtered) return;
  const rows = await query<{ oid: number; name: string; q: string; sql: string }>(
    ctx.sql,
    `SELECT a.oid, a.amname AS name, pg_catalog.quote_ident(a.amname) AS q,
       'CREATE ACCESS METHOD ' || pg_catalog.quote_ident(a.amname) || ' TYPE ' ||
       CASE a.amtype WHEN 't' THEN 'TABLE' ELSE 'INDEX' END || ' HANDLER ' ||
       a.amhandler::pg_catalog.regproc::text || ';' AS sql
     FROM pg_catalog.pg_am a
     WHERE a.oid >= 16384 AND ${notInExtension("pg_am", "a.oid")}
     ORDER BY a.amname`,
  );
  for (const a of rows) {
    ctx.graph.addObject({
      key: catalogKey("pg_am", a.oid),
      // pg_dump's rank: after functions and aggregates (a handler is one), before operators.
      priority: Priority.Aggregate + 0.5,
      item: {
        kind: "ACCESS METHOD",
        name: a.name,
        sql: `${a.sql}\n`,
        drop: `DROP ACCESS METHOD IF EXISTS ${a.q} CASCADE;\n`,
      },
    }, { kind: "ACCESS METHOD", name: a.q });
  }
}

/**
 * Materialized views of another table access method are created under that
 * `default_table_access_method`, as pg_dump does (tables say `USING` themselves); the script's
 * setting (`heap`) is restored right after, so the target database's default never matters.
 */
export async function addMatviewAccessMethods(ctx: ReadContext): Promise<void> {
  const rows = await query<{ oid: number; am: string }>(
    ctx.sql,
    `SELECT c.oid, pg_catalog.quote_ident(a.amname) AS am
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_catalog.pg_am a ON a.oid = c.relam
     WHERE c.relkind = 'm' AND a.amname <> 'heap' AND ${USER_SCHEMA}`,
  );
  for (const r of rows) {
    const key = catalogKey("pg_class", r.oid);
    const node = ctx.graph.node(key);
    if (node?.key !== key) continue;
    node.item.sql = `SET default_table_access_method = ${r.am};\n${node.item.sql}` +
      "SET default_table_access_method = heap;\n";
  }
}
