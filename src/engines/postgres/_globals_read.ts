/**
 * The server's globals as `pg_dumpall --globals-only` sees them, read from the shared catalogs in
 * one `REPEATABLE READ, READ ONLY` transaction: roles with their attributes (and password hashes
 * from `pg_authid` when the connecting role may read it), memberships with admin option and
 * grantor, per-role and per-role-per-database settings (`pg_db_role_setting`), and tablespaces
 * with owner, options, ACL and comment. Predefined roles (`pg_*`) exist on every server and are
 * left out, as pg_dumpall leaves them out; grants of them to other roles are kept.
 */
import { aclEntriesJson, type AclEntry } from "./_acl_diff.ts";
import type { Connection } from "./_connection.ts";

/** One role and its attributes, as `ALTER ROLE ... WITH` sets them. */
export interface GlobalRole {
  /** Unquoted name. */
  name: string;
  superuser: boolean;
  inherit: boolean;
  createRole: boolean;
  createDb: boolean;
  login: boolean;
  replication: boolean;
  bypassRls: boolean;
  /** -1: no limit. */
  connectionLimit: number;
  /** The stored hash (`SCRAM-SHA-256$…`, `md5…`): sensitive. Absent when not read or unset. */
  password?: string;
  /** ISO timestamp in UTC, when set. */
  validUntil?: string;
  comment?: string;
}

/** `GRANT role TO member [WITH ADMIN OPTION] [GRANTED BY grantor]`. */
export interface GlobalMembership {
  role: string;
  member: string;
  /** Absent when the grantor role no longer exists. */
  grantor?: string;
  admin: boolean;
}

/** Settings of a role, everywhere (`database` absent) or in one database. */
export interface GlobalRoleSetting {
  role: string;
  database?: string;
  /** `name=value` entries as the catalog stores them. */
  config: string[];
}

/** A tablespace other than `pg_default` and `pg_global`. */
export interface GlobalTablespace {
  name: string;
  /** Quoted owner, as the ACL helpers want it. */
  owner: string;
  location: string;
  /** `name=value` entries (`seq_page_cost=2`). */
  options: string[];
  /** Present when the ACL is not the built-in default. */
  acl?: { current: AclEntry[]; defaults: AclEntry[] };
  comment?: string;
}

/** Everything the globals file holds. */
export interface Globals {
  serverVersion: string;
  roles: GlobalRole[];
  memberships: GlobalMembership[];
  settings: GlobalRoleSetting[];
  tablespaces: GlobalTablespace[];
  /** Whether password hashes were read (and so are in `roles`). */
  passwords: boolean;
}

/** Options of {@linkcode readGlobals}. */
export interface ReadGlobalsOptions {
  /** Read password hashes when the role may (`pg_authid`). Default `true`. */
  passwords?: boolean;
}

/** Reads the globals of the server `connection` is on. */
export async function readGlobals(
  connection: Connection,
  options: ReadGlobalsOptions = {},
): Promise<Globals> {
  return await connection.sql.begin("ISOLATION LEVEL REPEATABLE READ READ ONLY", async (tx) => {
    // timestamps (VALID UNTIL) in a form every server reads back the same
    await tx`SET LOCAL datestyle = 'ISO'`;
    await tx`SET LOCAL timezone = 'UTC'`;
    const [{ version, readable }] = await tx<{ version: string; readable: boolean }[]>`
      SELECT pg_catalog.current_setting('server_version') AS version,
        pg_catalog.has_table_privilege('pg_catalog.pg_authid', 'SELECT') AS readable`;
    const passwords = (options.passwords ?? true) && readable;
    const roles = await tx.unsafe(
      `SELECT r.rolname AS name, r.rolsuper AS superuser, r.rolinherit AS inherit,
         r.rolcreaterole AS "createRole", r.rolcreatedb AS "createDb", r.rolcanlogin AS login,
         r.rolreplication AS replication, r.rolbypassrls AS "bypassRls",
         r.rolconnlimit AS "connectionLimit",
         ${
        passwords
          ? "(SELECT a.rolpassword FROM pg_catalog.pg_authid a WHERE a.oid = r.oid)"
          : "NULL::text"
      } AS password,
         r.rolvaliduntil::text AS "validUntil",
         pg_catalog.shobj_description(r.oid, 'pg_authid') AS comment
       FROM pg_catalog.pg_roles r WHERE r.rolname !~ '^pg_' ORDER BY r.rolname`,
    ) as unknown as (Omit<GlobalRole, "password" | "validUntil" | "comment"> & {
      password: string | null;
      validUntil: string | null;
      comment: string | null;
    })[];
    const memberships = await tx<
      { role: string; member: string; grantor: string | null; admin: boolean }[]
    >`
      SELECT ur.rolname AS role, um.rolname AS member, ug.rolname AS grantor,
        a.admin_option AS admin
      FROM pg_catalog.pg_auth_members a
      JOIN pg_catalog.pg_roles ur ON ur.oid = a.roleid
      JOIN pg_catalog.pg_roles um ON um.oid = a.member
      LEFT JOIN pg_catalog.pg_roles ug ON ug.oid = a.grantor
      WHERE NOT (ur.rolname ~ '^pg_' AND um.rolname ~ '^pg_')
      ORDER BY 1, 2`;
    const settings = await tx<{ role: string; database: string | null; config: string[] }[]>`
      SELECT r.rolname AS role, d.datname AS database, s.setconfig AS config
      FROM pg_catalog.pg_db_role_setting s
      JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
      LEFT JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
      WHERE s.setdatabase = 0 OR d.oid IS NOT NULL
      ORDER BY 1, 2 NULLS FIRST`;
    const tablespaces = await tx.unsafe(
      `SELECT t.spcname AS name,
         pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(t.spcowner)) AS owner,
         pg_catalog.pg_tablespace_location(t.oid) AS location,
         COALESCE(t.spcoptions, '{}') AS options, t.spcacl IS NOT NULL AS "hasAcl",
         ${aclEntriesJson("COALESCE(t.spcacl, pg_catalog.acldefault('t', t.spcowner))")} AS current,
         ${aclEntriesJson("pg_catalog.acldefault('t', t.spcowner)")} AS defaults,
         pg_catalog.shobj_description(t.oid, 'pg_tablespace') AS comment
       FROM pg_catalog.pg_tablespace t WHERE t.spcname !~ '^pg_' ORDER BY t.spcname`,
    ) as unknown as {
      name: string;
      owner: string;
      location: string;
      options: string[];
      hasAcl: boolean;
      current: AclEntry[];
      defaults: AclEntry[];
      comment: string | null;
    }[];
    return {
      serverVersion: version,
      passwords,
      roles: roles.map((r) => ({
        name: r.name,
        superuser: r.superuser,
        inherit: r.inherit,
        createRole: r.createRole,
        createDb: r.createDb,
        login: r.login,
        replication: r.replication,
        bypassRls: r.bypassRls,
        connectionLimit: r.connectionLimit,
        ...(r.password !== null ? { password: r.password } : {}),
        ...(r.validUntil !== null ? { validUntil: r.validUntil } : {}),
        ...(r.comment !== null ? { comment: r.comment } : {}),
      })),
      memberships: memberships.map((m) => ({
        role: m.role,
        member: m.member,
        ...(m.grantor !== null ? { grantor: m.grantor } : {}),
        admin: m.admin,
      })),
      settings: settings.map((s) => ({
        role: s.role,
        ...(s.database !== null ? { database: s.database } : {}),
        config: s.config,
      })),
      tablespaces: tablespaces.map((t) => ({
        name: t.name,
        owner: t.owner,
        location: t.location,
        options: t.options,
        ...(t.hasAcl ? { acl: { current: t.current, defaults: t.defaults } } : {}),
        ...(t.comment !== null ? { comment: t.comment } : {}),
      })),
    };
  });
}
