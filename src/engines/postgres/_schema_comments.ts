/**
 * Comments (`pg_description`) on every dumped object that can carry one, placed right after the
 * object they describe. The object's name comes from whichever reader registered it.
 */
import { catalogKey } from "./_schema_graph.ts";
import { query, type ReadContext } from "./_schema_sql.ts";

/** The comment initdb puts on `public`; pg_dump leaves it out, and so do we. */
const PUBLIC_COMMENT = "standard public schema";

/** Adds `COMMENT ON ...` after the objects commented on. */
export async function addComments(ctx: ReadContext): Promise<void> {
  const rows = await query<
    { cat: string; oid: number; subid: number; text: string; literal: string }
  >(
    ctx.sql,
    `SELECT d.classoid::pg_catalog.regclass::text AS cat, d.objoid AS oid, d.objsubid AS subid,
       d.description AS text, pg_catalog.quote_literal(d.description) AS literal
     FROM pg_catalog.pg_description d
     WHERE d.objoid >= 16384 OR d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
     ORDER BY d.classoid, d.objoid, d.objsubid`,
  );
  for (const r of rows) {
    const ref = ctx.graph.refs.get(catalogKey(r.cat, r.oid));
    const node = ref && ctx.graph.node(ref.node);
    if (!ref || !node) continue;
    if (r.cat === "pg_namespace" && ref.name === "public" && r.text === PUBLIC_COMMENT) continue;
    let target = `${ref.kind} ${ref.name}`;
    if (r.subid > 0) {
      const column = ref.columns?.get(r.subid);
      if (!column) continue;
      target = `COLUMN ${ref.name}.${column}`;
    }
    node.after.push({
      kind: "COMMENT",
      name: target,
      schema: node.item.schema,
      owner: node.item.owner,
      sql: `COMMENT ON ${target} IS ${r.literal};\n`,
    });
  }
}
