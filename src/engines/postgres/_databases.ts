/**
 * Databases as wholes: whether one exists, creating one for `restore --create`, dropping a
 * scratch or half-made one. These statements cannot run inside the database they are about,
 * so they go through the server's maintenance database (`postgres`, else `template1`).
 */
import { DatabaseError, DatabaseNotFoundError, messageOf } from "../../core/errors.ts";
import type { DatabaseLocale } from "./_script.ts";
import { type DatabaseProperties, propertyStatements } from "./_database_props.ts";
import { quoteLiteral } from "./_large_objects.ts";
import {
  type Connection,
  type ConnectionConfig,
  connectionError,
  describeConfig,
  openConnection,
  withDatabase,
} from "./_connection.ts";

/** Whether the database exists; connection failures other than "no such database" throw. */
export async function databaseExists(config: ConnectionConfig): Promise<boolean> {
  const connection = openConnection(config);
  try {
    await connection.sql`SELECT 1`;
    return true;
  } catch (error) {
    const typed = connectionError(error, config);
    if (typed instanceof DatabaseNotFoundError) return false;
    throw typed;
  } finally {
    await connection.end();
  }
}

/**
 * What a new database is made with: the backup's encoding and, when known, its locale; then the
 * source database's own properties (owner, comment, settings, ACL, ...), when the backup has them.
 */
export interface NewDatabase {
  encoding: string;
  locale?: DatabaseLocale;
  properties?: DatabaseProperties;
}

/** Options of {@linkcode applyDatabaseProperties}. */
export interface ApplyPropertiesOptions {
  /** Skip the owner (`restore --no-owner`). Default false. */
  noOwner?: boolean;
  /** Skip the ACL (`restore --no-privileges`). Default false. */
  noPrivileges?: boolean;
}

/**
 * Gives the database `database` (which `sql` may be connected to) the source's properties, and
 * returns warnings: a per-role setting for a role this server lacks is left out with a warning
 * (the role may come later, and the rest of the restore is still right), not a failure.
 */
export async function applyDatabaseProperties(
  sql: Connection["sql"],
  database: string,
  properties: DatabaseProperties,
  options: ApplyPropertiesOptions = {},
): Promise<string[]> {
  const statements = propertyStatements(properties, quoteIdentifier(database)).filter((s) =>
    !(s.category === "owner" && options.noOwner) && !(s.category === "acl" && options.noPrivileges)
  );
  const roles = [...new Set(statements.flatMap((s) => s.role === undefined ? [] : [s.role]))];
  const present = new Set(
    roles.length === 0 ? [] : (await sql<{ name: string }[]>`
      SELECT rolname AS name FROM pg_catalog.pg_roles WHERE rolname IN (
        SELECT pg_catalog.json_array_elements_text(${JSON.stringify(roles)}::text::json))`)
      .map((r) => r.name),
  );
  const warnings: string[] = [];
  for (const statement of statements) {
    if (statement.role !== undefined && !present.has(statement.role)) {
      warnings.push(
        `Skipped a setting of role "${statement.role}" in the restored database: the role does not exist on this server (create it, then run: ${
          statement.sql.replace(quoteIdentifier(database), "<database>")
        })`,
      );
      continue;
    }
    try {
      await sql.unsafe(statement.sql);
    } catch (error) {
      const hint = statement.category === "owner"
        ? "; restore with --no-owner on a server without the backup's roles"
        : statement.category === "acl"
        ? "; restore with --no-privileges on a server without the backup's roles"
        : "";
      throw new DatabaseError(
        `Cannot set a property of the restored database ("${
          statement.sql.replace(quoteIdentifier(database), "<database>")
        }"): ${
          messageOf(error).replace(/\s+/g, " ")
        } (the database created for the restore was dropped again${hint})`,
        { cause: error },
      );
    }
  }
  return warnings;
}

/**
 * `CREATE DATABASE` from `template0` with the backup's encoding and locale (collation decides sort
 * and index order, so a restored database must keep the original's). A locale this server lacks
 * is an error naming it, not a silent fallback to another sort order.
 */
export async function createDatabase(config: ConnectionConfig, made: NewDatabase): Promise<void> {
  const encoding = /^[A-Za-z0-9_]+$/.test(made.encoding) ? made.encoding : "UTF8";
  await withMaintenance(config, async (connection) => {
    try {
      await connection.sql.unsafe(
        `CREATE DATABASE ${
          quoteIdentifier(config.database)
        } TEMPLATE template0 ENCODING '${encoding}'` +
          localeClause(made.locale),
      );
    } catch (error) {
      const hint = made.locale && /locale|collation|provider/i.test(messageOf(error))
        ? ` (the backup's locale is collate "${made.locale.collate}", ctype "${made.locale.ctype}"${
          made.locale.icuLocale ? `, ICU "${made.locale.icuLocale}"` : ""
        }: install it on the server, or create the database yourself and restore with --to NAME)`
        : "";
      throw new DatabaseError(
        `Cannot create database "${describeConfig(config)}": ${messageOf(error)}${hint}`,
        { cause: error },
      );
    }
  });
}

function localeClause(locale: DatabaseLocale | undefined): string {
  if (!locale) return "";
  const clause = ` LC_COLLATE ${quoteLiteral(locale.collate)} LC_CTYPE ${
    quoteLiteral(locale.ctype)
  }`;
  if (locale.provider === "i" && locale.icuLocale) {
    return `${clause} LOCALE_PROVIDER icu ICU_LOCALE ${quoteLiteral(locale.icuLocale)}`;
  }
  return locale.provider === "c" ? `${clause} LOCALE_PROVIDER libc` : clause;
}

/**
 * Renames the database to `name` (which must not exist). Nobody may be connected to it: the
 * caller has closed its own sessions, and the database was never known to anyone else.
 */
export async function renameDatabase(config: ConnectionConfig, name: string): Promise<void> {
  await withMaintenance(config, async ({ sql }) => {
    try {
      await sql.unsafe(
        `ALTER DATABASE ${quoteIdentifier(config.database)} RENAME TO ${quoteIdentifier(name)}`,
      );
    } catch (error) {
      throw new DatabaseError(
        `Cannot rename the restored database to "${name}": ${messageOf(error)}`,
        { cause: error },
      );
    }
  });
}

/**
 * Drops the database (if it exists) for real: its subscriptions first (the server refuses to
 * drop a database that holds one, `55006` "being used by logical replication subscription",
 * whether or not anyone is connected), then the database, ending every other session on it
 * (`WITH (FORCE)` from PostgreSQL 13). For our own scratch databases only: nobody else may use them.
 */
export async function dropDatabase(config: ConnectionConfig): Promise<void> {
  await dropSubscriptions(config);
  await withMaintenance(config, async ({ sql }) => {
    await sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE datname = ${config.database} AND pid <> pg_backend_pid()`;
    // a template cannot be dropped (a failed restore may have made one)
    const [row] = await sql<{ template: boolean; force: boolean }[]>`
      SELECT datistemplate AS template,
        pg_catalog.current_setting('server_version_num')::int >= 130000 AS force
      FROM pg_database WHERE datname = ${config.database}`;
    if (!row) return;
    if (row.template) {
      await sql.unsafe(`ALTER DATABASE ${quoteIdentifier(config.database)} IS_TEMPLATE = false`);
    }
    await sql.unsafe(
      `DROP DATABASE IF EXISTS ${quoteIdentifier(config.database)}${
        row.force ? " WITH (FORCE)" : ""
      }`,
    );
  });
}

/**
 * Drops the subscriptions of the database `config` names (none if it does not exist). Each is
 * disabled and loses its slot name first, so the drop never reaches its publisher: the slot it
 * names belongs to the source database's subscription, not to this copy.
 */
export async function dropSubscriptions(config: ConnectionConfig): Promise<void> {
  const connection = openConnection(config);
  try {
    let names: { q: string }[];
    try {
      names = await connection.sql<{ q: string }[]>`
        SELECT pg_catalog.quote_ident(s.subname) AS q FROM pg_catalog.pg_subscription s
        WHERE s.subdbid = (SELECT d.oid FROM pg_catalog.pg_database d
          WHERE d.datname = pg_catalog.current_database())`;
    } catch (error) {
      if (connectionError(error, config) instanceof DatabaseNotFoundError) return;
      throw error;
    }
    for (const { q } of names) {
      // one statement each: DROP SUBSCRIPTION refuses a transaction block
      await connection.sql.unsafe(`ALTER SUBSCRIPTION ${q} DISABLE`);
      await connection.sql.unsafe(`ALTER SUBSCRIPTION ${q} SET (slot_name = NONE)`);
      await connection.sql.unsafe(`DROP SUBSCRIPTION ${q}`);
    }
  } finally {
    await connection.end();
  }
}

/** Runs `fn` on a connection to the server's maintenance database (`postgres`, else `template1`). */
export async function withMaintenance<T>(
  config: ConnectionConfig,
  fn: (connection: Connection) => Promise<T>,
): Promise<T> {
  let lastError: unknown;
  for (const name of ["postgres", "template1"]) {
    if (name === config.database) continue;
    const connection = openConnection(withDatabase(config, name));
    try {
      await connection.sql`SELECT 1`;
    } catch (error) {
      lastError = connectionError(error, connection.config);
      await connection.end();
      if (lastError instanceof DatabaseNotFoundError) continue;
      throw lastError;
    }
    try {
      return await fn(connection);
    } finally {
      await connection.end();
    }
  }
  throw lastError ?? new DatabaseError("Cannot reach a maintenance database on the server");
}

/** A double-quoted identifier. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
