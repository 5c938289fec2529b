/**
 * Loading a globals file (`_globals_script.ts`) into a server, leaving what is there alone: a
 * role that exists keeps its attributes, password and comment (and is named, one line each);
 * memberships and settings the target lacks are added, those it has (with whatever value) are
 * kept; a tablespace that exists is left as it is. Roles, their comments and memberships load in
 * one transaction (all or nothing); each new tablespace on its own (`CREATE TABLESPACE` cannot
 * run in a transaction); then the settings in one transaction. A per-role setting in a database
 * the server does not have is left out with a line saying so: the database's own restore
 * (`--create`) sets it from the database's properties.
 *
 * Statements are named in messages by what they are about, never by their text: the attributes
 * statement holds the password hash.
 */
import type postgres from "npm:postgres@3.4.9";
import { DatabaseError, IntegrityError, messageOf, RefusedError } from "../../core/errors.ts";
import type { GlobalsRestoreSummary as RestoreGlobalsSummary } from "../server_capability.ts";
import { type ConnectionConfig, describeConfig } from "./_connection.ts";
import { withMaintenance } from "./_databases.ts";
import {
  GlobalsFormatError,
  type GlobalStatement,
  type GlobalTag,
  parseGlobals,
} from "./_globals_script.ts";

/** Options of {@linkcode restoreGlobals}. */
export interface RestoreGlobalsOptions {
  /** Decide and report, run nothing. Default `false`. */
  dryRun?: boolean;
}

/** What the target server already has. */
interface Present {
  roles: Set<string>;
  memberships: Set<string>;
  /** `role\0database\0name` (database empty for every database). */
  settings: Set<string>;
  tablespaces: Set<string>;
  databases: Set<string>;
}

/**
 * Throws a one-line {@linkcode RefusedError} unless the role `config` connects as may create
 * roles (a superuser, or `CREATEROLE`): checked before anything of a restore is touched.
 */
export async function checkRoleRestore(config: ConnectionConfig): Promise<void> {
  const allowed = await withMaintenance(config, async ({ sql }) => {
    const [row] = await sql<{ allowed: boolean }[]>`
      SELECT rolsuper OR rolcreaterole AS allowed FROM pg_catalog.pg_roles
      WHERE rolname = current_user`;
    return row?.allowed === true;
  });
  if (!allowed) {
    throw new RefusedError(
      `Cannot restore the roles into "${
        describeConfig(config)
      }": role "${config.user}" cannot create roles (connect as a superuser, or restore one database with --database NAME --no-owner)`,
    );
  }
}

/** Loads the globals `text` into the server `config` is on; see the module's comment. */
export async function restoreGlobals(
  config: ConnectionConfig,
  text: string,
  options: RestoreGlobalsOptions = {},
): Promise<RestoreGlobalsSummary> {
  let statements;
  try {
    statements = parseGlobals(text);
  } catch (error) {
    if (!(error instanceof GlobalsFormatError)) throw error;
    throw new IntegrityError(
      `Cannot restore the server's globals: the globals file's ${error.message} (nothing was changed)`,
    );
  }
  return await withMaintenance(config, async ({ sql }) => {
    const present = await readPresent(sql);
    const plan = decide(statements, present);
    if (!options.dryRun) {
      await inTransaction(sql, plan.roleSteps, "nothing of the roles was changed");
      for (const step of plan.tablespaceSteps) await run(sql, step, "");
      await inTransaction(
        sql,
        plan.settingSteps,
        "the roles and tablespaces were restored, their settings were not",
      );
    }
    return plan.summary;
  });
}

/** A statement to run, and how to name it in an error. */
interface Step {
  sql: string;
  what: string;
}

/** Pure: which statements run, given what the target has. */
export function decide(statements: GlobalStatement[], present: Present): {
  roleSteps: Step[];
  tablespaceSteps: Step[];
  settingSteps: Step[];
  summary: RestoreGlobalsSummary;
} {
  const summary: RestoreGlobalsSummary = {
    lines: [],
    warnings: [],
    roles: { created: [], kept: [] },
    tablespaces: { created: [], kept: [] },
    memberships: 0,
    settings: 0,
  };
  const roleSteps: Step[] = [];
  const tablespaceSteps: Step[] = [];
  const settingSteps: Step[] = [];
  const created = new Set<string>();
  const createdSpaces = new Set<string>();
  const roleExists = (name: string) => present.roles.has(name) || created.has(name);
  for (const { tag, sql } of statements) {
    const what = describeTag(tag);
    const steps = sql.map((line) => ({ sql: line, what }));
    switch (tag.kind) {
      case "role":
        if (present.roles.has(tag.role)) {
          summary.roles.kept.push(tag.role);
          summary.lines.push(`Role "${tag.role}" exists: left as it is`);
        } else {
          created.add(tag.role);
          summary.roles.created.push(tag.role);
          roleSteps.push(...steps);
        }
        break;
      case "role-attributes":
      case "role-comment":
        if (created.has(tag.role)) roleSteps.push(...steps);
        break;
      case "membership": {
        if (present.memberships.has(`${tag.role}\0${tag.member}`)) break;
        summary.memberships++;
        const grantorGone = tag.grantor !== undefined && !roleExists(tag.grantor);
        roleSteps.push(
          ...steps.map((s) =>
            grantorGone ? { ...s, sql: s.sql.replace(/ GRANTED BY .*;$/, ";") } : s
          ),
        );
        break;
      }
      case "tablespace":
        if (present.tablespaces.has(tag.tablespace)) {
          summary.tablespaces.kept.push(tag.tablespace);
          summary.lines.push(`Tablespace "${tag.tablespace}" exists: left as it is`);
        } else {
          createdSpaces.add(tag.tablespace);
          summary.tablespaces.created.push(tag.tablespace);
          tablespaceSteps.push(...steps);
        }
        break;
      case "tablespace-property":
        if (createdSpaces.has(tag.tablespace)) tablespaceSteps.push(...steps);
        break;
      case "role-setting":
      case "db-role-setting": {
        const database = tag.kind === "db-role-setting" ? tag.database : "";
        if (present.settings.has(`${tag.role}\0${database}\0${tag.setting}`)) break;
        if (database !== "" && !present.databases.has(database)) {
          summary.lines.push(
            `Setting "${tag.setting}" of role "${tag.role}" in database "${database}" is left to that database's restore (it does not exist yet)`,
          );
          break;
        }
        summary.settings++;
        settingSteps.push(...steps);
        break;
      }
    }
  }
  if (summary.roles.created.length > 0) {
    summary.lines.unshift(
      `Roles created: ${summary.roles.created.map((r) => `"${r}"`).join(", ")}`,
    );
  }
  for (const name of summary.tablespaces.created) {
    summary.lines.push(`Tablespace "${name}" created`);
  }
  return { roleSteps, tablespaceSteps, settingSteps, summary };
}

/** `role "alice"`, `the membership of "bob" in "alice"`, …: never the statement's text. */
function describeTag(tag: GlobalTag): string {
  switch (tag.kind) {
    case "role":
      return `the creation of role "${tag.role}"`;
    case "role-attributes":
      return `the attributes of role "${tag.role}"`;
    case "role-comment":
      return `the comment of role "${tag.role}"`;
    case "membership":
      return `the membership of "${tag.member}" in "${tag.role}"`;
    case "tablespace":
      return `the creation of tablespace "${tag.tablespace}"`;
    case "tablespace-property":
      return `a property of tablespace "${tag.tablespace}"`;
    case "role-setting":
      return `setting "${tag.setting}" of role "${tag.role}"`;
    case "db-role-setting":
      return `setting "${tag.setting}" of role "${tag.role}" in database "${tag.database}"`;
  }
}

async function readPresent(sql: postgres.Sql): Promise<Present> {
  const roles = await sql<{ name: string }[]>`SELECT rolname AS name FROM pg_catalog.pg_roles`;
  const members = await sql<{ key: string }[]>`
    SELECT ur.rolname || chr(0) || um.rolname AS key FROM pg_catalog.pg_auth_members a
    JOIN pg_catalog.pg_roles ur ON ur.oid = a.roleid
    JOIN pg_catalog.pg_roles um ON um.oid = a.member`
    .catch(() => [] as { key: string }[]);
  const settings = await sql<{ role: string; database: string | null; entry: string }[]>`
    SELECT r.rolname AS role, d.datname AS database, e.entry
    FROM pg_catalog.pg_db_role_setting s
    JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
    LEFT JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
    CROSS JOIN LATERAL pg_catalog.unnest(s.setconfig) AS e(entry)`;
  const spaces = await sql<
    { name: string }[]
  >`SELECT spcname AS name FROM pg_catalog.pg_tablespace`;
  const databases = await sql<
    { name: string }[]
  >`SELECT datname AS name FROM pg_catalog.pg_database`;
  return {
    roles: new Set(roles.map((r) => r.name)),
    memberships: new Set(members.map((m) => m.key)),
    settings: new Set(settings.map((s) => {
      const at = s.entry.indexOf("=");
      return `${s.role}\0${s.database ?? ""}\0${at < 0 ? s.entry : s.entry.slice(0, at)}`;
    })),
    tablespaces: new Set(spaces.map((s) => s.name)),
    databases: new Set(databases.map((d) => d.name)),
  };
}

async function inTransaction(sql: postgres.Sql, steps: Step[], undone: string): Promise<void> {
  if (steps.length === 0) return;
  await sql.begin(async (tx) => {
    for (const step of steps) await run(tx, step, undone);
  });
}

async function run(
  sql: postgres.Sql | postgres.TransactionSql,
  step: Step,
  undone: string,
): Promise<void> {
  try {
    await sql.unsafe(step.sql);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const hint = step.what.startsWith("the creation of tablespace")
      ? "; create its directory (empty, owned by the server's user) or the tablespace yourself, then restore again"
      : "";
    throw new DatabaseError(
      `Cannot restore the server's globals: PostgreSQL rejected ${step.what}: ${
        messageOf(error).replace(/\s+/g, " ")
      }${code && /^[0-9A-Z]{5}$/.test(code) ? ` [${code}]` : ""}${
        undone ? ` (${undone})` : ""
      }${hint}`,
      // the attributes statement holds the password hash: no cause that could carry it
      step.what.startsWith("the attributes") ? undefined : { cause: error },
    );
  }
}
