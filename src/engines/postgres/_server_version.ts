/**
 * The version of the server a restore would load into, for the version check before anything is
 * touched (`../version_check.ts`). The target database may not exist yet (`restore --create`):
 * then the server's maintenance database answers, as it does for `CREATE DATABASE`.
 */
import { DatabaseNotFoundError } from "../../core/errors.ts";
import { type ConnectionConfig, connectionError, openConnection } from "./_connection.ts";
import { withMaintenance } from "./_databases.ts";

/** `server_version` of the server at `config` (`15.10 (Debian 15.10-0+deb12u1)`). */
export async function serverVersion(config: ConnectionConfig): Promise<string> {
  const connection = openConnection(config);
  try {
    return await versionOn(connection.sql);
  } catch (error) {
    const typed = connectionError(error, config);
    if (!(typed instanceof DatabaseNotFoundError)) throw typed;
  } finally {
    await connection.end();
  }
  return await withMaintenance(config, ({ sql }) => versionOn(sql));
}

async function versionOn(sql: ReturnType<typeof openConnection>["sql"]): Promise<string> {
  const [row] = await sql<{ version: string }[]>`
    SELECT pg_catalog.current_setting('server_version') AS version`;
  return row.version;
}
