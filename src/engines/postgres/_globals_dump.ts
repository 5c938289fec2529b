/**
 * Writing the globals file of a server backup: read (`_globals_read.ts`), rendered
 * (`_globals_script.ts`), handed to the sink. The file is small (a few lines per role), so it is
 * rendered whole.
 */
import type { ChunkSink } from "../engine.ts";
import type { GlobalsDumpOptions, GlobalsDumpSummary } from "../server_capability.ts";
import { type Connection, hostLabel } from "./_connection.ts";
import { readGlobals } from "./_globals_read.ts";
import { renderGlobals } from "./_globals_script.ts";

/** Dumps the globals of the server `connection` is on to `sink`. */
export async function dumpGlobals(
  connection: Connection,
  sink: ChunkSink,
  options: GlobalsDumpOptions = {},
): Promise<GlobalsDumpSummary> {
  const globals = await readGlobals(connection, { passwords: options.rolePasswords ?? true });
  const host = hostLabel(connection.config);
  const text = new TextEncoder().encode(renderGlobals(globals, { host }));
  for (let at = 0; at < text.length; at += 256 * 1024) {
    await sink(text.subarray(at, at + 256 * 1024));
  }
  return {
    engineVersion: globals.serverVersion,
    host,
    rolePasswords: globals.passwords && globals.roles.some((r) => r.password !== undefined),
    roles: globals.roles.length,
    tablespaces: globals.tablespaces.length,
  };
}
