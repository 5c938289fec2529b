import { DatabaseSync } from "node:sqlite";
import { basename, join, resolve } from "node:path";
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
import { ChunkBuffer } from "../chunk_buffer.ts";
import { DatabaseError, DatabaseNotFoundError, messageOf } from "../../core/errors.ts";
import { dumpSqlite, readMigration } from "./_dump.ts";
import { restoreSqlite } from "./_restore.ts";
import { findSqliteScratch, removeSqliteScratch, scratchParent } from "./_scratch.ts";
import { currentOwner, scratchDirectoryName } from "../../core/scratch_names.ts";
import { countRows, readSchema, readTables } from "./_schema.ts";
import { type BackupFacts, checkSqliteTarget } from "../version_check.ts";
import type {
  HealthAnswers,
  HealthQueries,
  MaintainOptions,
  MaintenanceReport,
} from "../maintenance.ts";
import { maintainSqlite } from "./_maintain.ts";
import { querySqliteHealth } from "./_health_queries.ts";
import { sqliteColumns } from "./_columns.ts";
import type { TableColumns } from "../table_columns.ts";

// for readers of a SQLite dump in the core (`extract`, `diff`): a statement's text as the
// restore decodes it, and a table's columns
export { decodeSql } from "./_decode.ts";
export { tableColumns } from "./_columns.ts";
// for `restore --at`: the checked file renamed over the target as a restore does it
export { replaceDatabaseFile } from "./_restore.ts";

/**
 * SQLite through `node:sqlite`. A location is a file path, optionally written `sqlite:PATH` or
 * `sqlite://PATH`.
 */
export class SqliteEngine implements Engine {
  readonly kind = "sqlite" as const;

  /** `tmpDir`: where restore tests make their scratch directories (default `TMPDIR`, `/tmp`). */
  constructor(readonly tmpDir: string = Deno.env.get("TMPDIR") ?? "") {}

  redact(location: string): string {
    return sqlitePath(location);
  }

  databaseName(location: string): string {
    return basename(sqlitePath(location));
  }

  async exists(location: string): Promise<boolean> {
    try {
      return (await Deno.stat(sqlitePath(location))).isFile;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      throw new DatabaseError(`Cannot read "${sqlitePath(location)}": ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  /** The version of the SQLite library that loads backups: this build's, whatever the target. */
  targetVersion(): Promise<string> {
    const db = new DatabaseSync(":memory:");
    try {
      return Promise.resolve(String(db.prepare("SELECT sqlite_version() AS v").get()?.v));
    } finally {
      db.close();
    }
  }

  /** The library must have every feature the backup's schema uses (`version_check.ts`). */
  checkTarget(facts: BackupFacts, target: string): string | undefined {
    return checkSqliteTarget(facts, target);
  }

  async describe(location: string): Promise<DatabaseInfo> {
    const path = await this.#existingPath(location);
    const db = openReadOnly(path);
    try {
      db.exec("BEGIN");
      try {
        const tables = readTables(db, readSchema(db)).filter((t) => t.shadowOf === undefined);
        // A virtual table of a module this build lacks cannot be read; dumps record it as 0 rows.
        const counted = tables.map((t) => ({
          name: t.name,
          rows: t.strategy === "declare-only" ? 0 : countRows(db, t),
        }));
        return {
          engineVersion: String(db.prepare("SELECT sqlite_version() AS v").get()?.v),
          sizeBytes: (await Deno.stat(path)).size,
          tables: counted,
          migration: readMigration(db, tables),
        };
      } finally {
        db.exec("ROLLBACK");
      }
    } catch (error) {
      throw wrap(error, path);
    } finally {
      db.close();
    }
  }

  async dump(location: string, sink: ChunkSink, options: DumpOptions = {}): Promise<DumpSummary> {
    const path = await this.#existingPath(location);
    const db = openReadOnly(path);
    try {
      const out = new ChunkBuffer(sink);
      return await dumpSqlite(db, out, {
        ...options,
        databaseName: basename(path),
        path: resolve(path),
      });
    } catch (error) {
      throw wrap(error, path);
    } finally {
      db.close();
    }
  }

  restore(
    location: string,
    gzippedSql: AsyncIterable<Uint8Array>,
    options: RestoreOptions = {},
  ): Promise<RestoreSummary> {
    return restoreSqlite(sqlitePath(location), gzippedSql, options);
  }

  async createScratch(): Promise<ScratchDatabase> {
    const directory = await Deno.makeTempDir({
      dir: scratchParent(this.tmpDir),
      prefix: scratchDirectoryName("verify", currentOwner(new Date())),
    });
    return {
      location: join(directory, "scratch.db"),
      drop: () => Deno.remove(directory, { recursive: true }).catch(() => {}),
    };
  }

  findScratch(location: string, now: Date): Promise<ScratchLeftover[]> {
    return findSqliteScratch(sqlitePath(location), now, this.tmpDir);
  }

  removeScratch(_location: string, leftover: ScratchLeftover): Promise<void> {
    return removeSqliteScratch(leftover);
  }

  /** Optimize, checkpoint, integrity check, VACUUM when worth it (`_maintain.ts`). */
  async maintain(location: string, options: MaintainOptions = {}): Promise<MaintenanceReport> {
    return await maintainSqlite(await this.#existingPath(location), options);
  }

  /** The columns of every table, on a read-only connection (`_columns.ts`). */
  async columns(location: string): Promise<TableColumns> {
    const path = await this.#existingPath(location);
    try {
      return sqliteColumns(path);
    } catch (error) {
      throw wrap(error, path);
    }
  }

  /** `check`'s queries on a read-only connection (`_health_queries.ts`). */
  async queryHealth(location: string, queries: HealthQueries): Promise<HealthAnswers> {
    const path = await this.#existingPath(location);
    try {
      return await querySqliteHealth(path, queries);
    } catch (error) {
      throw wrap(error, path);
    }
  }

  async #existingPath(location: string): Promise<string> {
    const path = sqlitePath(location);
    if (!(await this.exists(location))) {
      throw new DatabaseNotFoundError(
        `Cannot open database "${path}": the file does not exist (check --database or DATABASE_URL)`,
      );
    }
    return path;
  }
}

/** The file path of a SQLite location (`PATH`, `sqlite:PATH` or `sqlite://PATH`). */
export function sqlitePath(location: string): string {
  if (location.startsWith("sqlite://")) return location.slice("sqlite://".length);
  if (location.startsWith("sqlite:")) return location.slice("sqlite:".length);
  if (location.startsWith("file:")) return decodeURIComponent(new URL(location).pathname);
  return location;
}

function openReadOnly(path: string): DatabaseSync {
  try {
    // timeout: wait for a writer's lock (rollback-journal mode) instead of failing at once.
    // Double-quoted string literals as the stock shell accepts them: a schema that uses them
    // must stay readable.
    return new DatabaseSync(path, {
      readOnly: true,
      timeout: 10_000,
      enableDoubleQuotedStringLiterals: true,
    });
  } catch (error) {
    throw wrap(error, path);
  }
}

function wrap(error: unknown, path: string): Error {
  if (error instanceof Error && error.name !== "Error") return error; // already typed
  const message = messageOf(error);
  const hint = /not a database|malformed/i.test(message)
    ? " (is it a SQLite database?)"
    : /locked|busy/i.test(message)
    ? " (another process holds a lock; retry later)"
    : "";
  return new DatabaseError(`Cannot read database "${path}": ${message}${hint}`, { cause: error });
}
