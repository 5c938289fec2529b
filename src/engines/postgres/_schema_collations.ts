/**
 * Reads user-defined collations. PostgreSQL 15 has no `pg_get_collationdef`, so `CREATE
 * COLLATION` is assembled from `pg_collation` the way pg_dump 15 writes it (the version is left
 * out: the restoring server records its own library's version).
 */
import { Priority } from "./_schema_graph.ts";
import {
  notInExtension,
  objectColumns,
  type ObjectRow,
  query,
  type ReadContext,
  USER_SCHEMA,
} from "./_schema_sql.ts";

interface CollationRow extends ObjectRow {
  options: string;
}

/** Adds collations (database-wide objects, so not with a table filter). */
export async function readCollations(ctx: ReadContext): Promise<void> {
  if (ctx.filtered) return;
  const rows = await query<CollationRow>(
    ctx.sql,
    `SELECT ${objectColumns("c.oid", "c.collname", "c.collowner")},
       'provider = ' || CASE c.collprovider WHEN 'i' THEN 'icu' WHEN 'c' THEN 'libc'
         ELSE 'default' END ||
       CASE WHEN c.collisdeterministic THEN '' ELSE ', deterministic = false' END ||
       CASE WHEN c.collprovider = 'i' THEN ', locale = ' || pg_catalog.quote_literal(
           COALESCE(c.colliculocale, c.collcollate))
         WHEN c.collcollate = c.collctype THEN ', locale = ' ||
           pg_catalog.quote_literal(c.collcollate)
         ELSE ', lc_collate = ' || pg_catalog.quote_literal(c.collcollate) ||
           ', lc_ctype = ' || pg_catalog.quote_literal(c.collctype) END AS options
     FROM pg_catalog.pg_collation c JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace
     WHERE ${USER_SCHEMA} AND ${notInExtension("pg_collation", "c.oid")}
     ORDER BY n.nspname, c.collname`,
  );
  for (const c of rows) {
    ctx.graph.addNamed({
      catalog: "pg_collation",
      keyword: "COLLATION",
      priority: Priority.Collation,
      row: c,
      sql: `CREATE COLLATION ${c.q} (${c.options});\n`,
    });
  }
}
