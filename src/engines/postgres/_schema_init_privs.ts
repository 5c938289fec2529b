/**
 * Privileges of objects the restore does not create itself: members of extensions (`CREATE
 * EXTENSION` makes them with the ACL its script gives them, recorded in `pg_init_privs` as 'e')
 * and the system catalogs in `pg_catalog` (initdb's ACL, recorded as 'i'). The dump moves each
 * from that starting point to the source's ACL, as pg_dump 15 does; left out, a restore would
 * hand back to PUBLIC every privilege revoked since (`REVOKE EXECUTE ... FROM PUBLIC` on an
 * extension's functions, or on `pg_catalog.pg_ls_dir`), and drop column grants on catalogs.
 */
import type { SchemaItem } from "./_model.ts";
import { aclChanges, aclEntriesJson, type AclEntry } from "./_acl_diff.ts";
import { query, type ReadContext, roleName } from "./_schema_sql.ts";

interface InitPrivsRow {
  keyword: string;
  schema: string | null;
  label: string;
  name: string;
  column: string | null;
  owner: string;
  member: boolean;
  current: AclEntry[];
  initial: AclEntry[];
  defaults: AclEntry[];
}

/**
 * Whether the object `oid` (column `subid`) of `catalog` can differ from its initial privileges:
 * it has an ACL or initial privileges at all, and it is an extension member or (`system`) a
 * system object. Tested in each branch of {@linkcode OBJECTS}, so names and defaults are computed
 * for those few objects only, not for every table, column and built-in function.
 */
function candidate(
  catalog: string,
  oid: string,
  system: string,
  acl: string,
  subid = "0",
): string {
  const cat = `'pg_catalog.${catalog}'::pg_catalog.regclass`;
  // uncorrelated: each becomes one hashed lookup, not a subquery per row
  return `(${acl} IS NOT NULL OR (${oid}, ${subid}) IN (SELECT ip.objoid, ip.objsubid
      FROM pg_catalog.pg_init_privs ip WHERE ip.classoid = ${cat}))
    AND (${system} OR ${oid} IN (SELECT x.objid FROM pg_catalog.pg_depend x
      WHERE x.classid = ${cat} AND x.objsubid = 0 AND x.deptype = 'e'))`;
}

const IN_CATALOG = (nsp: string) => `${nsp} = 'pg_catalog'::pg_catalog.regnamespace`;

/**
 * Every object of a kind pg_dump grants on (relations and their columns, routines, types,
 * schemas, languages, wrappers, servers) that is an extension member or a system object, with
 * its ACL (NULL: the built-in default) and the built-in default for its kind and owner.
 */
const OBJECTS = `
  SELECT 'pg_class' AS cat, c.oid, 0 AS subid,
    CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS keyword, n.nspname AS schema,
    c.relname::text AS label, pg_catalog.format('%I.%I', n.nspname, c.relname) AS name,
    NULL::text AS col, c.relowner AS ownerid, c.relacl AS acl,
    pg_catalog.acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner) AS def,
    c.relnamespace AS nsp
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
    AND ${candidate("pg_class", "c.oid", IN_CATALOG("c.relnamespace"), "c.relacl")}
  UNION ALL
  SELECT 'pg_class', c.oid, a.attnum, 'TABLE', n.nspname, c.relname || '.' || a.attname,
    pg_catalog.format('%I.%I', n.nspname, c.relname), pg_catalog.quote_ident(a.attname),
    c.relowner, a.attacl, pg_catalog.acldefault('c', c.relowner), c.relnamespace
  FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
    AND ${candidate("pg_class", "c.oid", IN_CATALOG("c.relnamespace"), "a.attacl", "a.attnum")}
  UNION ALL
  SELECT 'pg_proc', p.oid, 0, CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
    n.nspname, p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',
    pg_catalog.format('%I.%I(%s)', n.nspname, p.proname,
      pg_catalog.pg_get_function_identity_arguments(p.oid)),
    NULL, p.proowner, p.proacl, pg_catalog.acldefault('f', p.proowner), p.pronamespace
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
  WHERE ${candidate("pg_proc", "p.oid", IN_CATALOG("p.pronamespace"), "p.proacl")}
  UNION ALL
  SELECT 'pg_type', t.oid, 0, 'TYPE', n.nspname, t.typname::text,
    pg_catalog.format_type(t.oid, NULL), NULL, t.typowner, t.typacl,
    pg_catalog.acldefault('T', t.typowner), t.typnamespace
  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
  WHERE t.typsubscript <> 'pg_catalog.array_subscript_handler'::pg_catalog.regproc
    AND ${candidate("pg_type", "t.oid", IN_CATALOG("t.typnamespace"), "t.typacl")}
  UNION ALL
  SELECT 'pg_namespace', s.oid, 0, 'SCHEMA', NULL, s.nspname::text,
    pg_catalog.quote_ident(s.nspname), NULL, s.nspowner, s.nspacl,
    pg_catalog.acldefault('n', s.nspowner), s.oid
  FROM pg_catalog.pg_namespace s
  WHERE ${candidate("pg_namespace", "s.oid", IN_CATALOG("s.oid"), "s.nspacl")}
  UNION ALL
  SELECT 'pg_language', l.oid, 0, 'LANGUAGE', NULL, l.lanname::text,
    pg_catalog.quote_ident(l.lanname), NULL, l.lanowner, l.lanacl,
    pg_catalog.acldefault('l', l.lanowner), NULL
  FROM pg_catalog.pg_language l
  WHERE ${candidate("pg_language", "l.oid", "l.oid < 16384", "l.lanacl")}
  UNION ALL
  SELECT 'pg_foreign_data_wrapper', w.oid, 0, 'FOREIGN DATA WRAPPER', NULL, w.fdwname::text,
    pg_catalog.quote_ident(w.fdwname), NULL, w.fdwowner, w.fdwacl,
    pg_catalog.acldefault('F', w.fdwowner), NULL
  FROM pg_catalog.pg_foreign_data_wrapper w
  WHERE ${candidate("pg_foreign_data_wrapper", "w.oid", "false", "w.fdwacl")}
  UNION ALL
  SELECT 'pg_foreign_server', v.oid, 0, 'FOREIGN SERVER', NULL, v.srvname::text,
    pg_catalog.quote_ident(v.srvname), NULL, v.srvowner, v.srvacl,
    pg_catalog.acldefault('S', v.srvowner), NULL
  FROM pg_catalog.pg_foreign_server v
  WHERE ${candidate("pg_foreign_server", "v.oid", "false", "v.srvacl")}`;

/**
 * The GRANT/REVOKE items of extension members and `pg_catalog` objects whose privileges differ
 * from their initial ones. With a table filter there are none (as with `pg_dump -t`).
 *
 * pg_dump's rule, kept here: an extension member is compared with its `pg_init_privs` entry, or
 * with the built-in default when the extension left none; a system object (in `pg_catalog`, the
 * `pg_catalog` schema itself, a built-in language) with its initdb entry. When an object does
 * differ, the revokes also cover the built-in default, so a target whose `CREATE EXTENSION` gave
 * the object more than the source's did still ends with exactly the source's privileges.
 */
export async function readInitialPrivilegeChanges(ctx: ReadContext): Promise<SchemaItem[]> {
  if (ctx.filtered) return [];
  const rows = await query<InitPrivsRow>(
    ctx.sql,
    `SELECT o.keyword, o.schema, o.label, o.name, o.col AS column,
       ${roleName("o.ownerid")} AS owner, o.member,
       ${aclEntriesJson("COALESCE(o.acl, o.def)")} AS current,
       ${aclEntriesJson("COALESCE(i.initprivs, o.def)")} AS initial,
       ${aclEntriesJson("o.def")} AS defaults
     FROM (
       SELECT b.*, EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
           WHERE d.classid = ('pg_catalog.' || b.cat)::pg_catalog.regclass AND d.objid = b.oid
             AND d.objsubid = 0 AND d.deptype = 'e') AS member
       FROM (${OBJECTS}) b
     ) o
     LEFT JOIN pg_catalog.pg_init_privs i ON i.objoid = o.oid
       AND i.classoid = ('pg_catalog.' || o.cat)::pg_catalog.regclass AND i.objsubid = o.subid
     WHERE (o.acl IS NOT NULL OR i.initprivs IS NOT NULL)
       AND o.acl IS DISTINCT FROM i.initprivs
       AND (o.member OR o.nsp = 'pg_catalog'::pg_catalog.regnamespace
         OR (o.cat = 'pg_language' AND o.oid < 16384))
     ORDER BY o.cat, o.schema NULLS FIRST, o.name, o.subid`,
  );
  const out: SchemaItem[] = [];
  for (const r of rows) {
    const sql = aclChanges(
      r.initial,
      r.current,
      { keyword: r.keyword, name: r.name, owner: r.owner, column: r.column ?? undefined },
      r.member ? r.defaults : [],
    );
    if (sql === "") continue;
    out.push({
      kind: "ACL",
      name: `${r.column ? "COLUMN" : r.keyword} ${r.label}`,
      schema: r.schema ?? undefined,
      owner: r.owner,
      category: "acl",
      sql,
    });
  }
  return out;
}
