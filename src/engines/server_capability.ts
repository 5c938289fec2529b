/**
 * What a whole-server backup (`create --all-databases`, `restore --all`) needs of an engine
 * beside `Engine.dump` and `Engine.restore` of each database: the server's databases, and its
 * globals (roles, memberships, tablespaces, role settings) as a script of their own. Engines
 * whose databases live on a server with shared roles implement it (PostgreSQL); without it the
 * core refuses a server backup in one line. Every `location` names the server by any database
 * on it.
 */
import type { ChunkSink } from "./engine.ts";

/** See the module's comment. */
export interface ServerCapability {
  /** The databases a server backup holds: those that accept connections, templates left out. */
  databases(location: string): Promise<string[]>;
  /** The location of database `name` on the server `location` names. */
  databaseLocation(location: string, name: string): string;
  /** Writes the server's globals as plain SQL to `sink` (what `psql -f` runs). */
  dumpGlobals(
    location: string,
    sink: ChunkSink,
    options?: GlobalsDumpOptions,
  ): Promise<GlobalsDumpSummary>;
  /**
   * Loads a globals script (uncompressed: it is small) into the server, leaving existing roles
   * and tablespaces as they are; with `dryRun`, only says what it would do.
   */
  restoreGlobals(
    location: string,
    sql: string,
    options?: { dryRun?: boolean },
  ): Promise<GlobalsRestoreSummary>;
  /** Throws a one-line `RefusedError` unless the connecting role may create roles. */
  checkRoleRestore(location: string): Promise<void>;
}

/** Options of {@linkcode ServerCapability.dumpGlobals}. */
export interface GlobalsDumpOptions {
  /**
   * Include the roles' password hashes (when the connecting role may read them). Default
   * `true`; `--no-role-passwords` turns it off.
   */
  rolePasswords?: boolean;
}

/** What {@linkcode ServerCapability.dumpGlobals} wrote. */
export interface GlobalsDumpSummary {
  engineVersion: string;
  /** `host:port` of the server, never with a password. */
  host: string;
  /** Whether the script holds password hashes (sensitive). */
  rolePasswords: boolean;
  roles: number;
  tablespaces: number;
}

/** What {@linkcode ServerCapability.restoreGlobals} did, or in a dry run would do. */
export interface GlobalsRestoreSummary {
  /** One line per role or tablespace created or left as it was, for the person restoring. */
  lines: string[];
  /** What was left out and why. */
  warnings: string[];
  roles: { created: string[]; kept: string[] };
  tablespaces: { created: string[]; kept: string[] };
  /** Memberships and settings added. */
  memberships: number;
  settings: number;
}
