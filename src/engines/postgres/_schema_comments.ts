/**
 * Comments (`pg_description`) on every dumped object that can carry one, placed right after the
 * object they describe. The object's name comes from whichever reader registered it.
 *
 * Two objects come with a comment of their own in the restored database: the `public` schema
 * (initdb's "standard public schema") and an extension (its control file's `comment`, set by
 * `CREATE EXTENSION`). When the source removed that comment, the dump says so with `IS ''` (which
 * deletes a comment), as pg_dump 15 does for `public`; otherwise the restore would bring it back.
 */
import { catalogKey, type SchemaNode } from "./_schema_graph.ts";
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
  const commented = new Set<string>();
  for (const r of rows) {
    const described = describedObject(ctx, r.cat, r.oid, r.subid);
    if (!described) continue;
    if (r.subid === 0) commented.add(catalogKey(r.cat, r.oid));
    if (described.target === "SCHEMA public" && r.text === PUBLIC_COMMENT) continue;
    addAfterDescribed(described, "COMMENT", `COMMENT ON ${described.target} IS ${r.literal};\n`);
  }
  if (!ctx.filtered) await addRemovedComments(ctx, commented);
}

/** `COMMENT ... IS ''` for `public` and extensions whose built-in comment was removed. */
async function addRemovedComments(ctx: ReadContext, commented: Set<string>): Promise<void> {
  const rows = await query<{ cat: string; oid: number }>(
    ctx.sql,
    `SELECT 'pg_namespace' AS cat, n.oid FROM pg_catalog.pg_namespace n
       WHERE n.nspname = 'public'
     UNION ALL SELECT 'pg_extension', x.oid FROM pg_catalog.pg_extension x
       JOIN pg_catalog.pg_available_extensions a ON a.name = x.extname
       WHERE a.comment IS NOT NULL AND x.oid >= 16384`,
  );
  for (const r of rows) {
    const described = describedObject(ctx, r.cat, r.oid, 0);
    if (!described || commented.has(catalogKey(r.cat, r.oid))) continue;
    addAfterDescribed(described, "COMMENT", `COMMENT ON ${described.target} IS '';\n`);
  }
}

/** A dumped object that a comment or a label describes, and its name as those statements write it. */
export interface DescribedObject {
  node: SchemaNode;
  /** `TABLE s.t`, `COLUMN s.t.c`, `SCHEMA public`, … */
  target: string;
}

/**
 * The object (or column, `subid` > 0) of `pg_description` / `pg_seclabel` rows, when a reader
 * registered it; `undefined` for objects the dump leaves out.
 */
export function describedObject(
  ctx: ReadContext,
  cat: string,
  oid: number,
  subid: number,
): DescribedObject | undefined {
  const ref = ctx.graph.refs.get(catalogKey(cat, oid));
  const node = ref && ctx.graph.node(ref.node);
  if (!ref || !node) return undefined;
  if (subid === 0) return { node, target: `${ref.kind} ${ref.name}` };
  const column = ref.columns?.get(subid);
  return column ? { node, target: `COLUMN ${ref.name}.${column}` } : undefined;
}

/** Writes `sql` (a `kind` statement about the described object) right after that object. */
export function addAfterDescribed(described: DescribedObject, kind: string, sql: string): void {
  const { node, target } = described;
  node.after.push({ kind, name: target, schema: node.item.schema, owner: node.item.owner, sql });
}
