/**
 * The databases of a server that a whole-server backup holds: every database that accepts
 * connections and is not a template, as `pg_dumpall` dumps them (`template0` and `template1`
 * are recreated by `initdb`, never restored).
 */
import type { ConnectionConfig } from "./_connection.ts";
import { withMaintenance } from "./_databases.ts";

/** Names of the connectable, non-template databases of the server `config` is on, sorted. */
export async function serverDatabases(config: ConnectionConfig): Promise<string[]> {
  return await withMaintenance(config, async ({ sql }) => {
    const rows = await sql<{ name: string }[]>`
      SELECT datname AS name FROM pg_catalog.pg_database
      WHERE datallowconn AND NOT datistemplate ORDER BY datname COLLATE "C"`;
    return rows.map((r) => r.name);
  });
}

/**
 * The location of database `name` on the same server as `location`: a URL with its path
 * replaced (user, password, host and options kept), or for a bare name, the other bare name
 * (bare names resolve against the engine's base URL).
 */
export function databaseLocation(location: string, name: string): string {
  if (!/^postgres(ql)?:\/\//i.test(location)) return name;
  const url = new URL(location.replace(/^postgresql:/i, "postgres:"));
  url.pathname = "/" + encodeURIComponent(name);
  url.searchParams.delete("dbname");
  return url.toString();
}
