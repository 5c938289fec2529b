/**
 * GRANT/REVOKE statements that turn one ACL into another, privilege by privilege. Objects the
 * restore does not create itself (extension members, system catalogs, the database) arrive with
 * an ACL of their own: the script must move from that starting point to the source's ACL, as
 * pg_dump does against `pg_init_privs`, and never leave a privilege the source had taken away.
 */

/** One privilege of an ACL, as `aclexplode` lists it, with quoted role names. */
export interface AclEntry {
  /** Quoted role that granted it. */
  grantor: string;
  /** Quoted role it is granted to, or `PUBLIC`. */
  grantee: string;
  /** `SELECT`, `EXECUTE`, `USAGE`, ... */
  privilege: string;
  grantable: boolean;
}

/** What the statements are about. */
export interface AclTarget {
  /** `GRANT ... ON <keyword> <name>`: `TABLE`, `FUNCTION`, `SCHEMA`, `DATABASE`, ... */
  keyword: string;
  /** The object's SQL name, quoted and qualified as the keyword needs. */
  name: string;
  /** Quoted owning role: grants by anyone else are replayed as their grantor. */
  owner?: string;
  /** Quoted column name, for a column's privileges (`SELECT (c) ON TABLE t`). */
  column?: string;
}

/**
 * The statements that take an object whose ACL is `from` to the ACL `to`: revokes first (of
 * every privilege or grant option `from` has and `to` lacks, latest first; `alsoRevoke` lists
 * further starting points the object may have on the target, such as the built-in default),
 * then grants, in `to`'s order so grant options come before the grants made with them. Empty
 * when the two hold the same privileges.
 */
export function aclChanges(
  from: AclEntry[],
  to: AclEntry[],
  target: AclTarget,
  alsoRevoke: AclEntry[] = [],
): string {
  const wanted = new Map(to.map((e) => [keyOf(e), e.grantable]));
  const had = new Map(from.map((e) => [keyOf(e), e.grantable]));
  const revokes = new Statements();
  const seen = new Set<string>();
  // Last granted first: a grant made with a grant option goes before the option itself.
  for (const entry of [...from, ...alsoRevoke].reverse()) {
    const key = keyOf(entry);
    if (seen.has(key)) continue;
    seen.add(key);
    const keep = wanted.get(key);
    if (keep === undefined) revokes.add("REVOKE", entry, false);
    else if (entry.grantable && !keep) revokes.add("REVOKE", entry, true);
  }
  const grants = new Statements();
  for (const entry of to) {
    const before = had.get(keyOf(entry));
    if (before === undefined || (entry.grantable && !before)) {
      grants.add("GRANT", entry, entry.grantable);
    }
  }
  return revokes.render(target) + grants.render(target);
}

function keyOf(entry: AclEntry): string {
  return `${entry.grantor}\u0000${entry.grantee}\u0000${entry.privilege}`;
}

/** Privileges grouped into one statement per action, grantor, grantee and grant option. */
class Statements {
  readonly #groups = new Map<
    string,
    { action: string; grantor: string; grantee: string; option: boolean; privileges: string[] }
  >();

  add(action: "GRANT" | "REVOKE", entry: AclEntry, option: boolean): void {
    const key = `${entry.grantor}\u0000${entry.grantee}\u0000${option}`;
    const group = this.#groups.get(key) ??
      { action, grantor: entry.grantor, grantee: entry.grantee, option, privileges: [] };
    group.privileges.push(entry.privilege);
    this.#groups.set(key, group);
  }

  render(target: AclTarget): string {
    let sql = "";
    for (const g of this.#groups.values()) {
      const privileges = g.privileges.map((p) => target.column ? `${p} (${target.column})` : p)
        .join(", ");
      const on = `ON ${target.keyword} ${target.name}`;
      const statement = g.action === "GRANT"
        ? `GRANT ${privileges} ${on} TO ${g.grantee}${g.option ? " WITH GRANT OPTION" : ""};\n`
        : `REVOKE ${g.option ? "GRANT OPTION FOR " : ""}${privileges} ${on} FROM ${g.grantee};\n`;
      sql += target.owner && g.grantor !== target.owner
        ? `SET SESSION AUTHORIZATION ${g.grantor};\n${statement}RESET SESSION AUTHORIZATION;\n`
        : statement;
    }
    return sql;
  }
}

/**
 * SQL expression: the entries of ACL expression `acl` as a JSON array of {@linkcode AclEntry},
 * in the ACL's order (for reading both sides of {@linkcode aclChanges} in one query).
 */
export function aclEntriesJson(acl: string): string {
  // regrole's output is the role's name quoted as quote_ident quotes it, without a subquery
  // per entry (which made the planner's estimate of a catalog-wide query switch JIT on)
  const role = (oid: string) =>
    `CASE WHEN ${oid} = 0 THEN 'PUBLIC' ELSE ${oid}::pg_catalog.regrole::text END`;
  return `(SELECT COALESCE(pg_catalog.json_agg(pg_catalog.json_build_object(
      'grantor', ${role("x.grantor")}, 'grantee', ${role("x.grantee")},
      'privilege', x.privilege_type, 'grantable', x.is_grantable) ORDER BY x.n), '[]')
    FROM pg_catalog.aclexplode(${acl}) WITH ORDINALITY
      AS x(grantor, grantee, privilege_type, is_grantable, n))`;
}
