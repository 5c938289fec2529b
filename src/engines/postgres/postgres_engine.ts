import type {
  ChunkSink,
  DatabaseInfo,
  DumpOptions,
  DumpSummary,
  Engine,
  RestoreOptions,
  RestoreSummary,
  ScratchDatabase,
  ScratchLeftover,
} from "../engine.ts";
import type { ServerCapability } from "../server_capability.ts";
import { ChunkBuffer } from "../chunk_buffer.ts";
import { BackupManagerError, DatabaseError, DatabaseNotFoundError } from "../../core/errors.ts";
import {
  checkConnection,
  type ConnectionConfig,
  describeConfig,
  type Environment,
  openConnection,
  parseLocation,
  redactUrl,
  withDatabase,
} from "./_connection.ts";
import { createDatabase, databaseExists, dropDatabase } from "./_databases.ts";
import { describeDatabase, isEmptyDatabase } from "./_describe.ts";
import { dumpPostgres } from "./_dump.ts";
import { restorePostgres } from "./_restore.ts";
import { serverVersion } from "./_server_version.ts";
import { type BackupFacts, checkPostgresTarget } from "../version_check.ts";
import { findPostgresScratch, removePostgresScratch } from "./_scratch.ts";
import { currentDatabaseOwner, scratchDatabaseName } from "../../core/scratch_names.ts";
import type {
  HealthAnswers,
  HealthQueries,
  MaintainOptions,
  MaintenanceReport,
} from "../maintenance.ts";
import { maintainPostgres } from "./_maintain.ts";
import { queryPostgresHealth } from "./_health_queries.ts";
import { databaseLocation, serverDatabases } from "./_server_databases.ts";
import { dumpGlobals } from "./_globals_dump.ts";
import { checkRoleRestore, restoreGlobals } from "./_globals_restore.ts";
import { postgresColumns } from "./_columns.ts";
import type { TableColumns } from "../table_columns.ts";

// for `extract --where`'s scratch database in the core, and point-in-time recovery's server
// checks: a connection as the engine opens one
export {
  checkConnection,
  type Connection,
  type ConnectionConfig,
  openConnection,
  parseLocation,
  withDatabase,
} from "./_connection.ts";

/**
 * PostgreSQL through postgres.js, without pg_dump. A location is a `postgres://` URL (blanks
 * filled from the `PG*` variables), or a bare database name on the same server as `base`, the
 * URL the engine was made for: `restore --to otherdb` and scratch databases use that.
 */
export class PostgresEngine implements Engine {
  readonly kind = "postgres" as const;
  readonly #base: string;
  readonly #env: Environment;

  /** A whole server: its databases and its globals (`_globals_*.ts`). */
  readonly server: ServerCapability = {
    databases: (location) => serverDatabases(this.#config(location)),
    databaseLocation: (location, name) => databaseLocation(location, name),
    dumpGlobals: (location, sink, options) =>
      this.#with(location, (connection) => dumpGlobals(connection, sink, options)),
    restoreGlobals: (location, sql, options) =>
      restoreGlobals(this.#config(location), sql, options),
    checkRoleRestore: (location) => checkRoleRestore(this.#config(location)),
  };

  /** `env` supplies `PGHOST`, `PGPASSWORD`, ...; the CLI passes its own environment. */
  constructor(base: string, env: Environment) {
    this.#base = base;
    this.#env = env;
  }

  redact(location: string): string {
    try {
      return describeConfig(this.#config(location));
    } catch {
      return redactUrl(location);
    }
  }

  databaseName(location: string): string {
    return this.#config(location).database;
  }

  exists(location: string): Promise<boolean> {
    return databaseExists(this.#config(location));
  }

  async isEmpty(location: string): Promise<boolean> {
    return await this.#with(location, ({ sql }) => isEmptyDatabase(sql));
  }

  async describe(location: string, options: { signal?: AbortSignal } = {}): Promise<DatabaseInfo> {
    return await this.#with(
      location,
      (connection) => describeDatabase(connection),
      options.signal,
    );
  }

  async dump(location: string, sink: ChunkSink, options: DumpOptions = {}): Promise<DumpSummary> {
    return await this.#with(
      location,
      (connection) => dumpPostgres(connection, new ChunkBuffer(sink), options),
      options.signal,
    );
  }

  restore(
    location: string,
    gzippedSql: AsyncIterable<Uint8Array>,
    options: RestoreOptions = {},
  ): Promise<RestoreSummary> {
    const config = { ...this.#config(location), signal: options.signal };
    return restorePostgres(config, gzippedSql, options);
  }

  async createScratch(): Promise<ScratchDatabase> {
    const name = scratchDatabaseName("verify", currentDatabaseOwner(new Date()));
    const config = withDatabase(this.#config(this.#base), name);
    await createDatabase(config, { encoding: "UTF8" });
    return { location: name, drop: () => dropDatabase(config) };
  }

  findScratch(location: string, now: Date): Promise<ScratchLeftover[]> {
    return findPostgresScratch(this.#config(location), now);
  }

  removeScratch(location: string, leftover: ScratchLeftover): Promise<void> {
    return removePostgresScratch(this.#config(location), leftover);
  }

  /** The target server's version (its maintenance database answers when the target is absent). */
  targetVersion(location: string): Promise<string> {
    return serverVersion(this.#config(location));
  }

  /** An older major version than the backup's source is refused (`version_check.ts`). */
  checkTarget(facts: BackupFacts, target: string): string | undefined {
    return checkPostgresTarget(facts, target);
  }

  /** VACUUM (ANALYZE) of the tables that need it, amcheck where installed (`_maintain.ts`). */
  async maintain(location: string, options: MaintainOptions = {}): Promise<MaintenanceReport> {
    return await this.#with(
      location,
      (connection) => maintainPostgres(connection, options),
      options.signal,
    );
  }

  /** The columns of every table, in a READ ONLY transaction (`_columns.ts`). */
  async columns(location: string): Promise<TableColumns> {
    return await this.#with(location, (connection) => postgresColumns(connection));
  }

  /** `check`'s queries, each in a READ ONLY transaction with a timeout (`_health_queries.ts`). */
  async queryHealth(location: string, queries: HealthQueries): Promise<HealthAnswers> {
    return await this.#with(location, (connection) => queryPostgresHealth(connection, queries));
  }

  #config(location: string): ConnectionConfig {
    if (/^postgres(ql)?:\/\//i.test(location)) return parseLocation(location, this.#env);
    return withDatabase(parseLocation(this.#base, this.#env), location);
  }

  /** Runs `fn` on a fresh connection; connection and query failures become typed errors. */
  async #with<T>(
    location: string,
    fn: (connection: ReturnType<typeof openConnection>) => Promise<T>,
    signal?: AbortSignal,
  ) {
    const config = { ...this.#config(location), signal };
    const connection = openConnection(config);
    try {
      await checkConnection(connection);
      return await fn(connection);
    } catch (error) {
      if (error instanceof BackupManagerError) throw error;
      const code = (error as { code?: string }).code;
      if (code === "3D000") {
        throw new DatabaseNotFoundError(
          `Cannot open database "${describeConfig(config)}": it does not exist`,
          { cause: error },
        );
      }
      throw new DatabaseError(
        `Cannot read database "${describeConfig(config)}": ${
          String((error as Error)?.message ?? error).replace(/\s+/g, " ")
        }`,
        { cause: error },
      );
    } finally {
      await connection.end();
    }
  }
}
