/**
 * The database's own properties, which `pg_dump --create` keeps and a dump of the database's
 * contents cannot say in SQL (the statements name the database, and the target's name is known
 * only at restore): owner, comment, security labels, connection limit, template flag, ACL
 * (`CONNECT`, `TEMPORARY`, `CREATE`), and `ALTER DATABASE ... SET` / `ALTER ROLE ... IN DATABASE
 * ... SET` settings (where PostgREST-style applications keep their configuration). The dump
 * records them in one comment line that psql ignores, so the script stays plain SQL for the stock
 * client; `restore --create` applies them to the new database before it is renamed into place
 * (they follow the database's oid, so they stay with it through the rename).
 */
import { aclChanges, aclEntriesJson, type AclEntry } from "./_acl_diff.ts";
import type { CatalogSql } from "./_schema_sql.ts";

/** The comment line holding {@linkcode DatabaseProperties} as JSON. */
export const DATABASE_MARKER = "-- backup-manager:database ";

/** One role's settings in the database (`pg_db_role_setting`). */
export interface DatabaseSetting {
  /** The role's name (not quoted), or absent for `ALTER DATABASE ... SET` (every role). */
  role?: string;
  /** `name=value` entries as the catalog stores them. */
  config: string[];
}

/** What `restore --create` sets on the new database. */
export interface DatabaseProperties {
  /** Quoted owning role. */
  owner: string;
  comment?: string;
  /** `SECURITY LABEL FOR provider ON DATABASE` labels. */
  labels?: { provider: string; label: string }[];
  /** `CONNECTION LIMIT`, when not unlimited (-1). */
  connectionLimit?: number;
  isTemplate?: boolean;
  /** The ACL, when not the built-in default, and the built-in default for the owner. */
  acl?: { current: AclEntry[]; defaults: AclEntry[] };
  settings: DatabaseSetting[];
}

/** Reads the properties of the current database (inside the dump's transaction). */
export async function readDatabaseProperties(sql: CatalogSql): Promise<DatabaseProperties> {
  const [row] = await sql.unsafe(
    `SELECT pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(d.datdba)) AS owner,
       pg_catalog.shobj_description(d.oid, 'pg_database') AS comment, d.datconnlimit AS "limit",
       d.datistemplate AS template, d.datacl IS NOT NULL AS "hasAcl",
       ${aclEntriesJson("COALESCE(d.datacl, pg_catalog.acldefault('d', d.datdba))")} AS current,
       ${aclEntriesJson("pg_catalog.acldefault('d', d.datdba)")} AS defaults,
       (SELECT pg_catalog.json_agg(pg_catalog.json_build_object('provider', l.provider,
           'label', l.label) ORDER BY l.provider)
         FROM pg_catalog.pg_shseclabel l WHERE l.objoid = d.oid
           AND l.classoid = 'pg_catalog.pg_database'::pg_catalog.regclass) AS labels,
       (SELECT pg_catalog.json_agg(pg_catalog.json_build_object('role', r.rolname,
           'config', s.setconfig) ORDER BY r.rolname NULLS FIRST)
         FROM pg_catalog.pg_db_role_setting s
         LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
         WHERE s.setdatabase = d.oid AND (s.setrole = 0 OR r.oid IS NOT NULL)) AS settings
     FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()`,
  ) as unknown as {
    owner: string;
    comment: string | null;
    limit: number;
    template: boolean;
    hasAcl: boolean;
    current: AclEntry[];
    defaults: AclEntry[];
    labels: { provider: string; label: string }[] | null;
    settings: { role: string | null; config: string[] }[] | null;
  }[];
  return {
    owner: row.owner,
    ...(row.comment !== null ? { comment: row.comment } : {}),
    ...(row.labels ? { labels: row.labels } : {}),
    ...(row.limit !== -1 ? { connectionLimit: row.limit } : {}),
    ...(row.template ? { isTemplate: true } : {}),
    ...(row.hasAcl ? { acl: { current: row.current, defaults: row.defaults } } : {}),
    settings: (row.settings ?? []).map((s) =>
      s.role === null ? { config: s.config } : { role: s.role, config: s.config }
    ),
  };
}

/** The comment line that records `properties` (one line: JSON escapes every newline). */
export function databaseDirective(properties: DatabaseProperties): string {
  return `${DATABASE_MARKER}${JSON.stringify(properties)}\n`;
}

/** The properties of a directive line's text after the marker; undefined if it is not ours. */
export function parseDatabaseDirective(text: string): DatabaseProperties | undefined {
  try {
    const value = JSON.parse(text);
    if (typeof value?.owner !== "string" || !Array.isArray(value.settings)) return undefined;
    return value as DatabaseProperties;
  } catch {
    return undefined;
  }
}

/** One statement that sets a property, and what kind it is (restores may skip some kinds). */
export interface PropertyStatement {
  sql: string;
  /** `owner` and `acl` statements follow `--no-owner` / `--no-privileges`. */
  category?: "owner" | "acl";
  /** The role a per-role setting is for: it must exist on the target. */
  role?: string;
}

/**
 * The statements that give database `name` (quoted) the properties, in pg_dump's order: owner,
 * comment, labels, connection limit, settings, ACL, and the template flag last (a template
 * cannot be dropped, should a later step fail).
 */
export function propertyStatements(
  properties: DatabaseProperties,
  name: string,
): PropertyStatement[] {
  const out: PropertyStatement[] = [
    { sql: `ALTER DATABASE ${name} OWNER TO ${properties.owner};`, category: "owner" },
  ];
  if (properties.comment !== undefined) {
    out.push({ sql: `COMMENT ON DATABASE ${name} IS ${quoteLiteral(properties.comment)};` });
  }
  for (const l of properties.labels ?? []) {
    out.push({
      sql: `SECURITY LABEL FOR ${quoteIdentifier(l.provider)} ON DATABASE ${name} IS ${
        quoteLiteral(l.label)
      };`,
    });
  }
  if (properties.connectionLimit !== undefined) {
    out.push({ sql: `ALTER DATABASE ${name} CONNECTION LIMIT = ${properties.connectionLimit};` });
  }
  for (const setting of properties.settings) {
    const prefix = setting.role === undefined
      ? `ALTER DATABASE ${name}`
      : `ALTER ROLE ${quoteIdentifier(setting.role)} IN DATABASE ${name}`;
    for (const entry of setting.config) {
      const sql = `${prefix} ${setClause(entry)};`;
      out.push(setting.role === undefined ? { sql } : { sql, role: setting.role });
    }
  }
  if (properties.acl) {
    const changes = aclChanges(properties.acl.defaults, properties.acl.current, {
      keyword: "DATABASE",
      name,
      owner: properties.owner,
    });
    for (const sql of changes.split("\n").filter((s) => s !== "")) {
      out.push({ sql, category: "acl" });
    }
  }
  if (properties.isTemplate) out.push({ sql: `ALTER DATABASE ${name} IS_TEMPLATE = true;` });
  return out;
}

/**
 * Settings whose value is a list the server stores with its elements quoted as identifiers
 * (`GUC_LIST_QUOTE`, as pg_dump 15 lists them): each element becomes a literal of its own.
 */
const LIST_SETTINGS = new Set([
  "local_preload_libraries",
  "search_path",
  "session_preload_libraries",
  "shared_preload_libraries",
  "temp_tablespaces",
  "unix_socket_directories",
]);

/**
 * `SET name TO value` for a `name=value` entry of `setconfig`, as pg_dump writes it: the value
 * as one literal, or a list of literals for the list settings.
 */
export function setClause(entry: string): string {
  const at = entry.indexOf("=");
  const name = at < 0 ? entry : entry.slice(0, at);
  const value = at < 0 ? "" : entry.slice(at + 1);
  const values = LIST_SETTINGS.has(name.toLowerCase()) ? splitList(value) : [value];
  return `SET ${quoteIdentifier(name)} TO ${values.map(quoteLiteral).join(", ")}`;
}

/**
 * The elements of a list setting as the server wrote it: comma-separated, blanks around them
 * ignored, an element in double quotes (`""` inside for one) taken as written.
 */
export function splitList(value: string): string[] {
  if (value.trim() === "") return [""];
  const out: string[] = [];
  let i = 0;
  const blank = (c: string | undefined) => c !== undefined && /\s/.test(c);
  while (i < value.length) {
    while (blank(value[i])) i++;
    let element = "";
    if (value[i] === '"') {
      for (i++; i < value.length; i++) {
        if (value[i] === '"' && value[i + 1] === '"') element += value[i++];
        else if (value[i] === '"') break;
        else element += value[i];
      }
      i++;
      while (i < value.length && value[i] !== ",") i++;
    } else {
      const end = value.indexOf(",", i);
      element = value.slice(i, end < 0 ? value.length : end).trim();
      i = end < 0 ? value.length : end;
    }
    out.push(element);
    if (value[i] === ",") i++;
    else break;
  }
  return out;
}

/** A double-quoted identifier (a setting's name may hold dots, a role's anything). */
function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A standard string literal (`standard_conforming_strings` is on in every script we run). */
function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
