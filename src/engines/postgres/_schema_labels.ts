/**
 * Security labels (`pg_seclabel`, set with `SECURITY LABEL FOR provider ON ...`), placed right
 * after the object they label, as pg_dump does; a label on a member of an extension (which the
 * dump does not create) goes after its `CREATE EXTENSION`. A label names its provider (`sepgsql`,
 * or a module such as `anon`): restoring one needs that provider loaded on the target server, or
 * the server refuses the statement, as it refuses pg_dump's.
 */
import { catalogKey } from "./_schema_graph.ts";
import { addAfterDescribed, describedObject } from "./_schema_comments.ts";
import { query, type ReadContext } from "./_schema_sql.ts";

/** `SECURITY LABEL FOR provider ON target IS label;` from quoted parts. */
export function securityLabelStatement(provider: string, target: string, label: string): string {
  return `SECURITY LABEL FOR ${provider} ON ${target} IS ${label};\n`;
}

/**
 * SQL over a `pg_seclabel` row `l`: how `SECURITY LABEL` names the object, for the kinds an
 * extension's members can be and labels exist for (`COLUMN s.t.c`, `FUNCTION s.f(integer)`, ...).
 */
const MEMBER_TARGET = `
  SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE ' WHEN 'v' THEN 'VIEW '
      WHEN 'm' THEN 'MATERIALIZED VIEW ' WHEN 'f' THEN 'FOREIGN TABLE ' ELSE 'TABLE ' END
      || pg_catalog.format('%I.%I', n.nspname, c.relname) AS target
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE l.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.oid = l.objoid
      AND l.objsubid = 0
  UNION ALL SELECT 'COLUMN ' || pg_catalog.format('%I.%I.%I', n.nspname, c.relname, a.attname)
    FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE l.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND a.attrelid = l.objoid
      AND a.attnum = l.objsubid AND l.objsubid > 0
  UNION ALL SELECT CASE p.prokind WHEN 'a' THEN 'AGGREGATE ' WHEN 'p' THEN 'PROCEDURE '
      ELSE 'FUNCTION ' END || pg_catalog.format('%I.%I(%s)', n.nspname, p.proname,
        pg_catalog.pg_get_function_identity_arguments(p.oid))
    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    WHERE l.classoid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.oid = l.objoid
  UNION ALL SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN ' ELSE 'TYPE ' END
      || pg_catalog.format_type(t.oid, NULL)
    FROM pg_catalog.pg_type t
    WHERE l.classoid = 'pg_catalog.pg_type'::pg_catalog.regclass AND t.oid = l.objoid
  UNION ALL SELECT 'SCHEMA ' || pg_catalog.quote_ident(s.nspname) FROM pg_catalog.pg_namespace s
    WHERE l.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND s.oid = l.objoid
  UNION ALL SELECT 'LANGUAGE ' || pg_catalog.quote_ident(g.lanname) FROM pg_catalog.pg_language g
    WHERE l.classoid = 'pg_catalog.pg_language'::pg_catalog.regclass AND g.oid = l.objoid`;

/** Adds `SECURITY LABEL` statements after the labelled objects. */
export async function addSecurityLabels(ctx: ReadContext): Promise<void> {
  const rows = await query<{
    cat: string;
    oid: number;
    subid: number;
    provider: string;
    literal: string;
    member: string | null;
  }>(
    ctx.sql,
    `SELECT l.classoid::pg_catalog.regclass::text AS cat, l.objoid AS oid, l.objsubid AS subid,
       pg_catalog.quote_ident(l.provider) AS provider, pg_catalog.quote_literal(l.label) AS literal,
       m.target AS member
     FROM pg_catalog.pg_seclabel l
     LEFT JOIN LATERAL (${MEMBER_TARGET}) m ON EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
       WHERE d.classid = l.classoid AND d.objid = l.objoid AND d.objsubid = 0 AND d.deptype = 'e')
     ORDER BY l.classoid, l.objoid, l.objsubid, l.provider`,
  );
  for (const r of rows) {
    const ref = ctx.graph.refs.get(catalogKey(r.cat, r.oid));
    if (!ref && r.member !== null) {
      // the extension's node: members are aliased to it
      const extension = ctx.graph.node(catalogKey(r.cat, r.oid));
      extension?.after.push({
        kind: "SECURITY LABEL",
        name: r.member,
        sql: securityLabelStatement(r.provider, r.member, r.literal),
      });
      continue;
    }
    const described = describedObject(ctx, r.cat, r.oid, r.subid);
    if (!described) continue;
    addAfterDescribed(
      described,
      "SECURITY LABEL",
      securityLabelStatement(r.provider, described.target, r.literal),
    );
  }
}
