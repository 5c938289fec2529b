/**
 * Reads logical replication publications and their members (tables with column lists and row
 * filters, whole schemas). Like pg_dump, they come after the data, each member once both the
 * publication and the table or schema exist.
 */
import { catalogKey, Priority } from "./_schema_graph.ts";
import { qualified, query, type ReadContext, roleName } from "./_schema_sql.ts";

/** Adds publications (database-wide, so not with a table filter) and their members. */
export async function readPublications(ctx: ReadContext): Promise<void> {
  if (ctx.filtered) return;
  const publications = await query<
    { oid: number; name: string; q: string; owner: string; def: string }
  >(
    ctx.sql,
    `SELECT p.oid, p.pubname AS name, pg_catalog.quote_ident(p.pubname) AS q,
       ${roleName("p.pubowner")} AS owner,
       CASE WHEN p.puballtables THEN ' FOR ALL TABLES' ELSE '' END ||
       ' WITH (publish = ''' || pg_catalog.concat_ws(', ', CASE WHEN p.pubinsert THEN 'insert' END,
         CASE WHEN p.pubupdate THEN 'update' END, CASE WHEN p.pubdelete THEN 'delete' END,
         CASE WHEN p.pubtruncate THEN 'truncate' END) || '''' ||
       CASE WHEN p.pubviaroot THEN ', publish_via_partition_root = true' ELSE '' END ||
       ')' AS def
     FROM pg_catalog.pg_publication p ORDER BY p.pubname`,
  );
  for (const p of publications) {
    ctx.graph.addNamed({
      catalog: "pg_publication",
      keyword: "PUBLICATION",
      priority: Priority.Publication,
      row: p,
      sql: `CREATE PUBLICATION ${p.q}${p.def};\n`,
      drop: `DROP PUBLICATION IF EXISTS ${p.q};\n`,
    });
  }

  const members = await query<
    { cat: string; oid: number; pub: number; target: number; name: string; sql: string }
  >(
    ctx.sql,
    `SELECT 'pg_publication_rel' AS cat, r.oid, r.prpubid AS pub, r.prrelid AS target,
       p.pubname || ' ' || c.relname AS name,
       'ALTER PUBLICATION ' || pg_catalog.quote_ident(p.pubname) || ' ADD TABLE ONLY ' ||
       ${qualified("c.relname")} ||
       COALESCE(' (' || (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', '
         ORDER BY a.attnum) FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = r.prrelid AND a.attnum = ANY (r.prattrs)) || ')', '') ||
       COALESCE(' WHERE (' || pg_catalog.pg_get_expr(r.prqual, r.prrelid) || ')', '') AS sql
     FROM pg_catalog.pg_publication_rel r
     JOIN pg_catalog.pg_publication p ON p.oid = r.prpubid
     JOIN pg_catalog.pg_class c ON c.oid = r.prrelid
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     UNION ALL
     SELECT 'pg_publication_namespace', s.oid, s.pnpubid, s.pnnspid, p.pubname || ' ' || n.nspname,
       'ALTER PUBLICATION ' || pg_catalog.quote_ident(p.pubname) || ' ADD TABLES IN SCHEMA ' ||
       pg_catalog.quote_ident(n.nspname)
     FROM pg_catalog.pg_publication_namespace s
     JOIN pg_catalog.pg_publication p ON p.oid = s.pnpubid
     JOIN pg_catalog.pg_namespace n ON n.oid = s.pnnspid
     ORDER BY name`,
  );
  for (const m of members) {
    const target = catalogKey(
      m.cat === "pg_publication_rel" ? "pg_class" : "pg_namespace",
      m.target,
    );
    if (!ctx.graph.node(target)) continue;
    ctx.graph.add({
      key: catalogKey(m.cat, m.oid),
      priority: Priority.PublicationMember,
      item: {
        kind: m.cat === "pg_publication_rel" ? "PUBLICATION TABLE" : "PUBLICATION TABLES IN SCHEMA",
        name: m.name,
        sql: `${m.sql};\n`,
      },
      deps: [catalogKey("pg_publication", m.pub), target],
    });
  }
}
