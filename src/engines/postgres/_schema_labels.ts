/**
 * Security labels (`pg_seclabel`, set with `SECURITY LABEL FOR provider ON ...`), placed right
 * after the object they label, as pg_dump does. A label names its provider (`sepgsql`, or a
 * module such as `anon`): restoring one needs that provider loaded on the target server, or the
 * server refuses the statement, as it refuses pg_dump's.
 */
import { catalogKey } from "./_schema_graph.ts";
import { query, type ReadContext } from "./_schema_sql.ts";

/** `SECURITY LABEL FOR provider ON target IS label;` from quoted parts. */
export function securityLabelStatement(provider: string, target: string, label: string): string {
  return `SECURITY LABEL FOR ${provider} ON ${target} IS ${label};\n`;
}

/** Adds `SECURITY LABEL` statements after the labelled objects the dump creates. */
export async function addSecurityLabels(ctx: ReadContext): Promise<void> {
  const rows = await query<
    { cat: string; oid: number; subid: number; provider: string; literal: string }
  >(
    ctx.sql,
    `SELECT l.classoid::pg_catalog.regclass::text AS cat, l.objoid AS oid, l.objsubid AS subid,
       pg_catalog.quote_ident(l.provider) AS provider, pg_catalog.quote_literal(l.label) AS literal
     FROM pg_catalog.pg_seclabel l
     ORDER BY l.classoid, l.objoid, l.objsubid, l.provider`,
  );
  for (const r of rows) {
    const ref = ctx.graph.refs.get(catalogKey(r.cat, r.oid));
    const node = ref && ctx.graph.node(ref.node);
    if (!ref || !node) continue;
    let target = `${ref.kind} ${ref.name}`;
    if (r.subid > 0) {
      const column = ref.columns?.get(r.subid);
      if (!column) continue;
      target = `COLUMN ${ref.name}.${column}`;
    }
    node.after.push({
      kind: "SECURITY LABEL",
      name: target,
      schema: node.item.schema,
      owner: node.item.owner,
      sql: securityLabelStatement(r.provider, target, r.literal),
    });
  }
}
