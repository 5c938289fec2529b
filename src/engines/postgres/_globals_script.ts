/**
 * The globals file of a server backup: plain SQL in the style of `pg_dumpall --globals-only`,
 * which `psql -f` runs as it is (`CREATE ROLE` then `ALTER ROLE ... WITH` its attributes, so an
 * existing role fails the first and still gets the second, as with pg_dumpall), and which our
 * own restore reads statement by statement: each statement sits on one line after a comment
 * line psql skips, `-- backup-manager:global {"kind":…}`, naming what it is about. That tag lets
 * the restore leave existing roles as they are, add only missing memberships and settings, and
 * run tablespaces outside the transaction (`CREATE TABLESPACE` refuses one).
 *
 * Order: roles (create, attributes, comment), memberships, tablespaces, then per-role settings
 * (one may name a tablespace) and per-role-per-database settings last (they need the database;
 * with psql, those of databases not created yet fail and can be run again afterwards).
 */
import { aclChanges } from "./_acl_diff.ts";
import { setClause } from "./_database_props.ts";
import type { Globals } from "./_globals_read.ts";

/** The comment line that tags the statement after it. */
export const GLOBAL_MARKER = "-- backup-manager:global ";

/** What a tagged statement is about. */
export type GlobalTag =
  | { kind: "role"; role: string }
  | { kind: "role-attributes"; role: string }
  | { kind: "role-comment"; role: string }
  | { kind: "membership"; role: string; member: string; grantor?: string }
  | { kind: "tablespace"; tablespace: string }
  | { kind: "tablespace-property"; tablespace: string }
  | { kind: "role-setting"; role: string; setting: string }
  | { kind: "db-role-setting"; role: string; database: string; setting: string };

/** One tagged statement (or, for a tablespace's ACL, a few), as read back. */
export interface GlobalStatement {
  tag: GlobalTag;
  /** The statement lines, each one statement ending in `;`. */
  sql: string[];
}

/** Options of {@linkcode renderGlobals}. */
export interface RenderGlobalsOptions {
  /** Where the globals come from, for the header (`host:port`). */
  host: string;
}

/**
 * The globals file's text. The header matches the one of our database scripts (so the origin
 * check of a data file knows it for ours), then pg_dumpall's session settings.
 */
export function renderGlobals(globals: Globals, options: RenderGlobalsOptions): string {
  const out: string[] = [
    "--\n-- PostgreSQL database dump\n--\n\n" +
    `-- Dumped from database version ${globals.serverVersion}\n` +
    `-- Dumped by backup-manager (globals of the server ${oneLine(options.host)}: roles, ` +
    "memberships, tablespaces, settings)\n" +
    "-- PostgreSQL database cluster globals: run with psql before the databases\n\n" +
    "SET default_transaction_read_only = off;\nSET client_encoding = 'UTF8';\n" +
    "SET standard_conforming_strings = on;\n\n--\n-- Roles\n--\n\n",
  ];
  const add = (tag: GlobalTag, ...sql: string[]) =>
    out.push(`${GLOBAL_MARKER}${JSON.stringify(tag)}\n${sql.join("\n")}\n`);
  for (const role of globals.roles) {
    const name = quoteIdentifier(role.name);
    add({ kind: "role", role: role.name }, `CREATE ROLE ${name};`);
    add(
      { kind: "role-attributes", role: role.name },
      `ALTER ROLE ${name} WITH ${attributes(role)};`,
    );
    if (role.comment !== undefined) {
      add(
        { kind: "role-comment", role: role.name },
        `COMMENT ON ROLE ${name} IS ${sqlLiteral(role.comment)};`,
      );
    }
  }
  if (globals.memberships.length > 0) out.push("\n--\n-- Role memberships\n--\n\n");
  for (const m of globals.memberships) {
    add(
      {
        kind: "membership",
        role: m.role,
        member: m.member,
        ...(m.grantor ? { grantor: m.grantor } : {}),
      },
      `GRANT ${quoteIdentifier(m.role)} TO ${quoteIdentifier(m.member)}` +
        (m.admin ? " WITH ADMIN OPTION" : "") +
        (m.grantor ? ` GRANTED BY ${quoteIdentifier(m.grantor)}` : "") + ";",
    );
  }
  if (globals.tablespaces.length > 0) out.push("\n--\n-- Tablespaces\n--\n\n");
  for (const t of globals.tablespaces) {
    const name = quoteIdentifier(t.name);
    add(
      { kind: "tablespace", tablespace: t.name },
      `CREATE TABLESPACE ${name} OWNER ${t.owner} LOCATION ${sqlLiteral(t.location)};`,
    );
    const property = { kind: "tablespace-property" as const, tablespace: t.name };
    if (t.options.length > 0) {
      add(property, `ALTER TABLESPACE ${name} SET (${t.options.join(", ")});`);
    }
    if (t.acl) {
      const changes = aclChanges(t.acl.defaults, t.acl.current, {
        keyword: "TABLESPACE",
        name,
        owner: t.owner,
      }).split("\n").filter((s) => s !== "");
      if (changes.length > 0) add(property, ...changes);
    }
    if (t.comment !== undefined) {
      add(property, `COMMENT ON TABLESPACE ${name} IS ${sqlLiteral(t.comment)};`);
    }
  }
  const everywhere = globals.settings.filter((s) => s.database === undefined);
  const inDatabase = globals.settings.filter((s) => s.database !== undefined);
  if (everywhere.length > 0) out.push("\n--\n-- Role settings\n--\n\n");
  for (const s of everywhere) {
    for (const entry of s.config) {
      add(
        { kind: "role-setting", role: s.role, setting: settingName(entry) },
        `ALTER ROLE ${quoteIdentifier(s.role)} ${setClause(entry)};`,
      );
    }
  }
  if (inDatabase.length > 0) {
    out.push(
      "\n--\n-- Per-database role settings (need the database: run them again once it exists)\n--\n\n",
    );
  }
  for (const s of inDatabase) {
    for (const entry of s.config) {
      add(
        {
          kind: "db-role-setting",
          role: s.role,
          database: s.database!,
          setting: settingName(entry),
        },
        `ALTER ROLE ${quoteIdentifier(s.role)} IN DATABASE ${quoteIdentifier(s.database!)} ${
          setClause(entry)
        };`,
      );
    }
  }
  out.push("\n--\n-- PostgreSQL database cluster globals complete\n--\n");
  return out.join("");
}

/** `NOSUPERUSER INHERIT NOCREATEROLE … [CONNECTION LIMIT n] [PASSWORD '…'] [VALID UNTIL '…']`. */
function attributes(role: Globals["roles"][number]): string {
  const flag = (on: boolean, word: string) => (on ? "" : "NO") + word;
  const words = [
    flag(role.superuser, "SUPERUSER"),
    flag(role.inherit, "INHERIT"),
    flag(role.createRole, "CREATEROLE"),
    flag(role.createDb, "CREATEDB"),
    flag(role.login, "LOGIN"),
    flag(role.replication, "REPLICATION"),
    flag(role.bypassRls, "BYPASSRLS"),
  ];
  if (role.connectionLimit !== -1) words.push(`CONNECTION LIMIT ${role.connectionLimit}`);
  if (role.password !== undefined) words.push(`PASSWORD ${sqlLiteral(role.password)}`);
  if (role.validUntil !== undefined) words.push(`VALID UNTIL ${sqlLiteral(role.validUntil)}`);
  return words.join(" ");
}

function settingName(entry: string): string {
  const at = entry.indexOf("=");
  return at < 0 ? entry : entry.slice(0, at);
}

/**
 * Statements each kind may hold: a tagged line that is anything else is refused before it runs
 * (a backup is input, not code).
 */
const ALLOWED: Record<GlobalTag["kind"], RegExp> = {
  "role": /^CREATE ROLE /,
  "role-attributes": /^ALTER ROLE \S.* WITH /,
  "role-comment": /^COMMENT ON ROLE /,
  "membership": /^GRANT /,
  "tablespace": /^CREATE TABLESPACE /,
  "tablespace-property":
    /^(?:ALTER TABLESPACE |GRANT |REVOKE |COMMENT ON TABLESPACE |SET SESSION AUTHORIZATION |RESET SESSION AUTHORIZATION;$)/,
  "role-setting": /^ALTER ROLE /,
  "db-role-setting": /^ALTER ROLE /,
};

/** A globals file that is not what we write. */
export class GlobalsFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GlobalsFormatError";
  }
}

/**
 * The tagged statements of a globals file, in order. Lines before the first tag (the header's
 * comments and `SET`s) and comment or blank lines are skipped; a tag that is not JSON of a known
 * kind, or a statement its kind does not allow (or more than one statement on a line), is a
 * {@linkcode GlobalsFormatError} naming the line.
 */
export function parseGlobals(text: string): GlobalStatement[] {
  const out: GlobalStatement[] = [];
  let current: GlobalStatement | undefined;
  for (const [index, line] of text.split("\n").entries()) {
    const at = `line ${index + 1}`;
    if (line.startsWith(GLOBAL_MARKER)) {
      current = { tag: parseTag(line.slice(GLOBAL_MARKER.length), at), sql: [] };
      out.push(current);
      continue;
    }
    if (line.trim() === "" || line.startsWith("--")) {
      current = undefined;
      continue;
    }
    if (!current) {
      if (out.length === 0 && /^SET [a-z_]+ = [^;]*;$/.test(line)) continue;
      throw new GlobalsFormatError(`${at} is outside any tagged statement`);
    }
    if (!ALLOWED[current.tag.kind].test(line) || !isOneStatement(line)) {
      throw new GlobalsFormatError(
        `${at} is not a statement of kind "${current.tag.kind}" that backup-manager writes`,
      );
    }
    current.sql.push(line);
  }
  const empty = out.find((s) => s.sql.length === 0);
  if (empty) throw new GlobalsFormatError(`a "${empty.tag.kind}" tag has no statement`);
  return out;
}

function parseTag(json: string, at: string): GlobalTag {
  let tag: unknown;
  try {
    tag = JSON.parse(json);
  } catch {
    throw new GlobalsFormatError(`${at} has a tag that is not JSON`);
  }
  const kind = (tag as { kind?: unknown } | null)?.kind;
  if (typeof kind !== "string" || !(kind in ALLOWED)) {
    throw new GlobalsFormatError(`${at} has a tag of an unknown kind`);
  }
  const t = tag as Record<string, unknown>;
  const text = (key: string) => typeof t[key] === "string";
  const ok = kind === "tablespace" || kind === "tablespace-property"
    ? text("tablespace")
    : text("role") && (kind !== "membership" || text("member")) &&
      (kind !== "role-setting" || text("setting")) &&
      (kind !== "db-role-setting" || (text("database") && text("setting")));
  if (!ok) throw new GlobalsFormatError(`${at} has a "${kind}" tag without its names`);
  return tag as GlobalTag;
}

/**
 * Whether `line` is a single statement ending in `;`: no other `;` outside string literals
 * (`'…'`, `E'…'` with backslash escapes) and quoted identifiers.
 */
export function isOneStatement(line: string): boolean {
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === "'" || c === '"') {
      const escapes = c === "'" && /[Ee]/.test(line[i - 1] ?? "") &&
        !/[\w$]/.test(line[i - 2] ?? "");
      for (i++; i < line.length; i++) {
        if (escapes && line[i] === "\\") i++;
        else if (line[i] === c && line[i + 1] === c) i++;
        else if (line[i] === c) break;
      }
      if (i >= line.length) return false;
    } else if (c === ";") return i === line.length - 1;
    i++;
  }
  return false;
}

/**
 * A string literal on one line: `'…'`, or `E'…'` with `\n`, `\r` and `\\` escapes when the text
 * holds a line break or a backslash (so no statement spans lines, and none can start a tag).
 */
export function sqlLiteral(text: string): string {
  if (!/[\\\n\r]/.test(text)) return `'${text.replace(/'/g, "''")}'`;
  return `E'${
    text.replace(/\\/g, "\\\\").replace(/'/g, "''").replace(/\n/g, "\\n").replace(/\r/g, "\\r")
  }'`;
}

/** A double-quoted identifier. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ");
}
