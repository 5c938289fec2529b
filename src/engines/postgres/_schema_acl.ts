/**
 * Ownership, grants and default privileges. Owners follow each object (category "owner"); grants
 * are replayed from the `*acl` columns at the end (category "acl"): the defaults are revoked and
 * every entry granted again, so the restored ACL holds exactly the same privileges. Restores
 * into a cluster without the same roles skip both categories (`noOwner` / `noPrivileges`).
 */
import type { SchemaItem } from "./_model.ts";
import { catalogKey, type SchemaGraph } from "./_schema_graph.ts";
import { query, type ReadContext, roleName } from "./_schema_sql.ts";

/** Adds `ALTER ... OWNER TO` after every owned object. */
export function addOwners(graph: SchemaGraph): void {
  for (const ref of graph.refs.values()) {
    if (!ref.ownerKind || !ref.owner) continue;
    const node = graph.node(ref.node);
    node?.after.push({
      kind: `${ref.ownerKind} OWNER`,
      name: node.item.name,
      schema: node.item.schema,
      owner: ref.owner,
      category: "owner",
      sql: `ALTER ${ref.ownerKind} ${ref.name} OWNER TO ${ref.owner};\n`,
    });
  }
}

interface AclRow {
  cat: string;
  oid: number;
  subid: number;
  /** A system column's quoted name (`tableoid`): it is not among the table's columns. */
  system: string | null;
  grantor: string | null;
  grantee: string | null;
  privileges: string | null;
  grantable: boolean | null;
}

/** The GRANT/REVOKE items of all dumped objects, in the order the objects were read. */
export async function readAcls(ctx: ReadContext): Promise<SchemaItem[]> {
  const rows = await query<AclRow>(
    ctx.sql,
    `SELECT o.cat, o.oid, o.subid, o.system, ${roleName("x.grantor")} AS grantor,
       ${roleName("x.grantee")} AS grantee,
       pg_catalog.string_agg(x.privilege_type, ', ' ORDER BY x.n) AS privileges,
       x.is_grantable AS grantable
     FROM (
       SELECT 'pg_class' AS cat, c.oid, 0 AS subid, NULL AS system, c.relacl AS acl
         FROM pg_catalog.pg_class c WHERE c.relacl IS NOT NULL AND c.oid >= 16384
       UNION ALL SELECT 'pg_class', a.attrelid, a.attnum,
         CASE WHEN a.attnum < 0 THEN pg_catalog.quote_ident(a.attname) END, a.attacl
         FROM pg_catalog.pg_attribute a
         WHERE a.attacl IS NOT NULL AND a.attnum <> 0 AND a.attrelid >= 16384
       UNION ALL SELECT 'pg_namespace', s.oid, 0, NULL, s.nspacl FROM pg_catalog.pg_namespace s
         WHERE s.nspacl IS NOT NULL
       UNION ALL SELECT 'pg_proc', p.oid, 0, NULL, p.proacl FROM pg_catalog.pg_proc p
         WHERE p.proacl IS NOT NULL AND p.oid >= 16384
       UNION ALL SELECT 'pg_type', t.oid, 0, NULL, t.typacl FROM pg_catalog.pg_type t
         WHERE t.typacl IS NOT NULL AND t.oid >= 16384
       UNION ALL SELECT 'pg_language', l.oid, 0, NULL, l.lanacl FROM pg_catalog.pg_language l
         WHERE l.lanacl IS NOT NULL AND l.oid >= 16384
       UNION ALL SELECT 'pg_foreign_data_wrapper', w.oid, 0, NULL, w.fdwacl
         FROM pg_catalog.pg_foreign_data_wrapper w WHERE w.fdwacl IS NOT NULL
       UNION ALL SELECT 'pg_foreign_server', s.oid, 0, NULL, s.srvacl FROM pg_catalog.pg_foreign_server s
         WHERE s.srvacl IS NOT NULL
     ) o
     LEFT JOIN LATERAL pg_catalog.aclexplode(o.acl) WITH ORDINALITY
       AS x(grantor, grantee, privilege_type, is_grantable, n) ON true
     GROUP BY o.cat, o.oid, o.subid, o.system, x.grantor, x.grantee, x.is_grantable
     -- the object's own entries first: its REVOKE ALL would take the column grants back too
     ORDER BY o.cat, o.oid, o.subid <> 0, o.subid, pg_catalog.min(x.n)`,
  );
  const out: SchemaItem[] = [];
  let current: { key: string; item: SchemaItem } | undefined;
  for (const r of rows) {
    const key = catalogKey(r.cat, r.oid);
    const ref = ctx.graph.refs.get(key);
    const node = ref && ctx.graph.node(ref.node);
    if (!ref?.aclKind || !node) continue;
    const column = r.subid > 0 ? ref.columns?.get(r.subid) : r.system ?? undefined;
    if (r.subid !== 0 && !column) continue;
    const entry = `${key}:${r.subid}`;
    if (current?.key !== entry) {
      current = {
        key: entry,
        item: {
          kind: "ACL",
          name: column ? `${node.item.name}.${column}` : node.item.name,
          schema: node.item.schema,
          owner: ref.owner,
          category: "acl",
          sql: r.subid !== 0 ? "" : `REVOKE ALL ON ${ref.aclKind} ${ref.name} FROM PUBLIC;\n` +
            (ref.owner ? `REVOKE ALL ON ${ref.aclKind} ${ref.name} FROM ${ref.owner};\n` : ""),
        },
      };
      out.push(current.item);
    }
    if (r.grantee === null || r.privileges === null) continue;
    const privileges = column
      ? `${r.privileges.replaceAll(",", ` (${column}),`)} (${column})`
      : r.privileges;
    current.item.sql += withGrantor(
      r.grantor,
      ref.owner,
      `GRANT ${privileges} ON ${ref.aclKind} ${ref.name} TO ${r.grantee}` +
        (r.grantable ? " WITH GRANT OPTION" : "") + ";\n",
    );
  }
  return out;
}

/** A grant made by a role other than the owner is replayed as that role, to keep its grantor. */
function withGrantor(grantor: string | null, owner: string | undefined, sql: string): string {
  if (!grantor || !owner || grantor === owner) return sql;
  return `SET SESSION AUTHORIZATION ${grantor};\n${sql}RESET SESSION AUTHORIZATION;\n`;
}

const DEFAULT_ACL_OBJECTS: Record<string, string> = {
  r: "TABLES",
  S: "SEQUENCES",
  f: "FUNCTIONS",
  T: "TYPES",
  n: "SCHEMAS",
};

/** `ALTER DEFAULT PRIVILEGES` items (database-wide, so not with a table filter). */
export async function readDefaultAcls(ctx: ReadContext): Promise<SchemaItem[]> {
  if (ctx.filtered) return [];
  const rows = await query<{
    oid: number;
    role: string;
    schema: string | null;
    objtype: string;
    grantee: string | null;
    privileges: string | null;
    grantable: boolean | null;
  }>(
    ctx.sql,
    `SELECT d.oid, ${roleName("d.defaclrole")} AS role,
       (SELECT pg_catalog.quote_ident(s.nspname) FROM pg_catalog.pg_namespace s
          WHERE s.oid = d.defaclnamespace) AS schema,
       d.defaclobjtype AS objtype, ${roleName("x.grantee")} AS grantee,
       pg_catalog.string_agg(x.privilege_type, ', ' ORDER BY x.n) AS privileges,
       x.is_grantable AS grantable
     FROM pg_catalog.pg_default_acl d
     LEFT JOIN LATERAL pg_catalog.aclexplode(d.defaclacl) WITH ORDINALITY
       AS x(grantor, grantee, privilege_type, is_grantable, n) ON true
     GROUP BY d.oid, d.defaclrole, d.defaclnamespace, d.defaclobjtype, x.grantee, x.is_grantable
     ORDER BY d.oid, pg_catalog.min(x.n)`,
  );
  const out: SchemaItem[] = [];
  let current: { oid: number; item: SchemaItem } | undefined;
  for (const r of rows) {
    const objects = DEFAULT_ACL_OBJECTS[r.objtype];
    const prefix = `ALTER DEFAULT PRIVILEGES FOR ROLE ${r.role}` +
      (r.schema ? ` IN SCHEMA ${r.schema}` : "");
    if (current?.oid !== r.oid) {
      // A database-wide entry replaces the built-in defaults; one in a schema adds to them.
      current = {
        oid: r.oid,
        item: {
          kind: "DEFAULT ACL",
          name: `DEFAULT PRIVILEGES FOR ${objects}`,
          owner: r.role,
          category: "acl",
          sql: r.schema ? "" : `${prefix} REVOKE ALL ON ${objects} FROM PUBLIC;\n` +
            `${prefix} REVOKE ALL ON ${objects} FROM ${r.role};\n`,
        },
      };
      out.push(current.item);
    }
    if (r.grantee === null || r.privileges === null) continue;
    current.item.sql += `${prefix} GRANT ${r.privileges} ON ${objects} TO ${r.grantee}` +
      (r.grantable ? " WITH GRANT OPTION" : "") + ";\n";
  }
  return out;
}
