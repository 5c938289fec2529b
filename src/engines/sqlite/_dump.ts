import type { DatabaseSync } from "node:sqlite";
import type { DumpOptions, DumpSummary, MigrationVersion, TableStats } from "../engine.ts";
import type { ChunkBuffer } from "../chunk_buffer.ts";
import { MIGRATION_TABLES } from "../migrations.ts";
import { tableFilter } from "../table_filter.ts";
import { UsageError } from "../../core/errors.ts";
import { literalExpression, quoteIdentifier, quoteText } from "./_sql.ts";
import { registerPageFunctions, writeTableRows } from "./_dump_pages.ts";
import { detectFeatures } from "./_features.ts";
import { copyWithRowids } from "./_hidden_rowids.ts";
import { writeInternalTables } from "./_internal_tables.ts";
import { createStatement, setStoredText, textLiteral } from "./_schema_text.ts";
import { countRows, readSchema, readTables, type SchemaEntry, type Table } from "./_schema.ts";
import { snapshotBeside, usesRollbackJournal } from "./_snapshot.ts";

/** Settings that live in the database file and that a restore must set before anything else. */
export interface SqliteSettings {
  page_size: number;
  auto_vacuum: number;
  encoding: string;
  user_version: number;
  application_id: number;
  journal_mode: string;
}

/**
 * Writes the database `db` as plain SQL that the stock `sqlite3` shell restores and that, through
 * our restore, reproduces the original exactly (see README, "What a SQLite backup holds").
 * Everything is read inside one read transaction: a consistent snapshot even while writers
 * continue in WAL mode. A rollback-journal database, whose read lock would block writers for the
 * whole dump, is first copied beside itself in one backup-API step and the copy is dumped
 * (`_snapshot.ts`). `db` must not be inside a transaction.
 */
export async function dumpSqlite(
  db: DatabaseSync,
  out: ChunkBuffer,
  options: DumpOptions & { databaseName: string; path: string },
): Promise<DumpSummary> {
  // A rollback-journal database is copied first, so writers wait for the copy, not the dump.
  const snapshot = usesRollbackJournal(db) ? await snapshotBeside(db, options.path) : undefined;
  if (!snapshot) return await dumpSnapshot(db, out, options);
  try {
    return await dumpSnapshot(snapshot.db, out, options);
  } finally {
    await snapshot.close();
  }
}

/** {@linkcode dumpSqlite} of a connection, read inside one read transaction. */
async function dumpSnapshot(
  db: DatabaseSync,
  out: ChunkBuffer,
  options: DumpOptions & { databaseName: string; path: string },
): Promise<DumpSummary> {
  // Nothing in main is written; the TEMP copies of `_hidden_rowids.ts` must not check foreign
  // keys (they would refuse to copy records as they are). A no-op inside a transaction: first.
  db.exec("PRAGMA foreign_keys=OFF");
  db.exec("BEGIN");
  try {
    // The first read fixes the snapshot; every later read sees the same state.
    const settings = readSettings(db);
    const everything = readSchema(db);
    const { schema, tables } = selectTables(everything, readTables(db, everything), options);
    registerPageFunctions(db);
    const dumper = new Dumper(db, out, settings, options);
    const stats = await dumper.run(schema, tables, options.type ?? "full");
    const renumbered = dumper.renumbered;
    return {
      engineVersion: String(db.prepare("SELECT sqlite_version() AS v").get()?.v),
      database: { name: options.databaseName, path: options.path },
      tables: stats,
      settings: {
        ...settings,
        // Said in the sidecar: what such a backup does not keep (see `#hiddenRowids`).
        ...(renumbered.length > 0 ? { rowids_renumbered: JSON.stringify(renumbered) } : {}),
      },
      migration: readMigration(db, everything.filter((e) => e.type === "table")),
      // What a restore's version check needs: the features of the schema written.
      features: detectFeatures(schema.map((e) => e.sql)),
    };
  } finally {
    db.exec("ROLLBACK");
  }
}

/**
 * Applies `--table` / `--exclude-table`: a virtual table keeps its shadow tables, indexes and
 * triggers follow their table, and views are kept unless include patterns were given (a view
 * over a left-out table still restores: SQLite resolves views when they are used).
 */
function selectTables(
  schema: SchemaEntry[],
  tables: Table[],
  options: DumpOptions,
): { schema: SchemaEntry[]; tables: Table[] } {
  if (!options.tables?.length && !options.excludeTables?.length) return { schema, tables };
  const filter = tableFilter(options.tables, options.excludeTables);
  const kept = new Set(
    tables.filter((t) => t.shadowOf === undefined && filter.includes("main", t.name))
      .map((t) => t.name),
  );
  const unmatched = filter.unmatched();
  if (unmatched.length > 0) {
    throw new UsageError(
      `No table matches --table ${unmatched.join(", ")} (check the name; patterns take * and ?)`,
    );
  }
  const keeps = (name: string) => {
    const table = tables.find((t) => t.name === name);
    return kept.has(table?.shadowOf ?? name);
  };
  const autoincrement = tables.some((t) => kept.has(t.name) && /\bAUTOINCREMENT\b/i.test(t.sql));
  const internal = (e: SchemaEntry) =>
    e.type === "table" && !tables.some((t) => t.name === e.name) &&
    (e.name !== "sqlite_sequence" || autoincrement);
  return {
    tables: tables.filter((t) => keeps(t.name)),
    schema: schema.filter((e) =>
      e.type === "view" ? !options.tables?.length : keeps(e.tableName) || internal(e)
    ),
  };
}

/** The persistent settings of the `main` database. */
export function readSettings(db: DatabaseSync): SqliteSettings {
  const pragma = (name: string) => Object.values(db.prepare(`PRAGMA main.${name}`).get() ?? {})[0];
  return {
    page_size: Number(pragma("page_size")),
    auto_vacuum: Number(pragma("auto_vacuum")),
    encoding: String(pragma("encoding")),
    user_version: Number(pragma("user_version")),
    application_id: Number(pragma("application_id")),
    journal_mode: String(pragma("journal_mode")).toLowerCase(),
  };
}

/** Reads the migration version from the first known migrations table present, if any. */
export function readMigration(
  db: DatabaseSync,
  tables: { name: string }[],
): MigrationVersion | undefined {
  const names = new Set(tables.map((t) => t.name));
  for (const { table, query } of MIGRATION_TABLES) {
    if (!names.has(table)) continue;
    try {
      const row = db.prepare(query).get();
      const value = row ? Object.values(row)[0] : undefined;
      if (value !== undefined && value !== null) return { table, version: String(value) };
    } catch {
      // a table of that name with other columns: not the tool we know
    }
  }
  return undefined;
}

class Dumper {
  readonly #db: DatabaseSync;
  readonly #out: ChunkBuffer;
  readonly #settings: SqliteSettings;
  readonly #options: DumpOptions;
  /** UTF-16 databases render literals as JS strings; UTF-8 ones as raw bytes (exact, faster). */
  readonly #utf8: boolean;
  #totalRows = 0;
  /** Tables whose rowids no SQL can read and SQLite would not copy (see `#hiddenRowids`). */
  readonly renumbered: string[] = [];
  /** The tables a dump of some tables keeps (see `_internal_tables.ts`); undefined for all. */
  #kept: Set<string> | undefined;

  constructor(db: DatabaseSync, out: ChunkBuffer, settings: SqliteSettings, options: DumpOptions) {
    this.#db = db;
    this.#out = out;
    this.#settings = settings;
    this.#options = options;
    this.#utf8 = settings.encoding.toUpperCase() === "UTF-8";
  }

  async run(
    schema: SchemaEntry[],
    tables: Table[],
    type: "full" | "schema",
  ): Promise<TableStats[]> {
    const s = this.#settings;
    const withData = type === "full";
    await this.#text(
      "-- backup-manager SQLite dump\n" +
        "-- Restore without backup-manager: gunzip -c FILE.sql.gz | sqlite3 NEW.db\n" +
        "PRAGMA foreign_keys=OFF;\n" +
        `PRAGMA page_size=${s.page_size};\n` +
        `PRAGMA auto_vacuum=${s.auto_vacuum};\n` +
        `PRAGMA encoding=${quoteText(s.encoding)};\n` +
        "BEGIN TRANSACTION;\n",
    );
    const stats: TableStats[] = [];
    const byName = new Map(tables.map((t) => [t.name, t]));
    if (this.#options.tables?.length || this.#options.excludeTables?.length) {
      this.#kept = new Set(byName.keys());
    }
    for (const table of tables) {
      if (table.shadowOf !== undefined) continue;
      const tableStats = await this.#table(table, byName, withData);
      this.#totalRows += tableStats.rows;
      stats.push(tableStats);
    }
    if (withData) {
      await writeInternalTables(this.#db, this.#out, schema, {
        utf8: this.#utf8,
        kept: this.#kept,
      });
    }
    for (const entry of schema) {
      if (entry.type === "table" || entry.sql === null) continue;
      await this.#text(createStatement({ type: entry.type, name: entry.name, sql: entry.sql }));
    }
    await this.#text(
      `PRAGMA user_version=${s.user_version};\n` +
        `PRAGMA application_id=${s.application_id};\n` +
        "COMMIT;\n" +
        (s.journal_mode === "wal" ? "PRAGMA journal_mode=WAL;\n" : ""),
    );
    await this.#out.flush();
    return stats;
  }

  async #table(table: Table, byName: Map<string, Table>, withData: boolean): Promise<TableStats> {
    let rows = 0;
    if (table.strategy === "declare-only") {
      // As `sqlite3 .dump` does for modules it cannot drive: declare the table in the schema;
      // its shadow tables are dumped as the plain tables they are.
      await this.#text(
        "PRAGMA writable_schema=ON;\n" +
          "INSERT INTO sqlite_schema(type,name,tbl_name,rootpage,sql) VALUES('table'," +
          `${textLiteral(table.name)},${textLiteral(table.name)},0,${textLiteral(table.sql)});\n` +
          "PRAGMA writable_schema=OFF;\n",
      );
      return { name: table.name, rows: 0, bytes: 0 };
    }
    await this.#text(createStatement({ type: "table", name: table.name, sql: table.sql }));
    const dataStart = this.#out.total;
    if (withData) {
      if (table.strategy === "copy-shadow-tables") {
        // CREATE VIRTUAL TABLE made the shadow tables with the rows of an empty index (FTS5's
        // structure record and `version`, an R*Tree's root node): replace them with the
        // source's, so the index comes back as it was, without re-tokenising any document. The
        // stock shell allows writing to shadow tables too (its connections are not defensive).
        for (const shadow of table.shadowTables) {
          await this.#text(`DELETE FROM ${quoteIdentifier(shadow)};\n`);
          await this.#rows(byName.get(shadow)!, table.name);
        }
        rows = countRows(this.#db, table);
      } else if (table.rowidLost) {
        rows = await this.#hiddenRowids(table);
      } else {
        rows = await this.#rows(table, table.name);
      }
    } else {
      // Settings such as `rank` are part of an FTS5 table's definition, not of its rows.
      await this.#copyFts5Config(table);
    }
    return { name: table.name, rows, bytes: this.#out.total - dataStart };
  }

  /**
   * Writes the rows of a table whose columns take every name of the rowid, rowids included when
   * SQLite copies them (see `_hidden_rowids.ts`): the load renames the column called `rowid`
   * while the rows go in, names the rowid, and renames it back (then sets the text as it was).
   * Otherwise the rows go in rowid order without it, numbered from 1 on restore, as the SQL and
   * the sidecar say.
   */
  async #hiddenRowids(table: Table): Promise<number> {
    const copy = copyWithRowids(this.#db, table);
    if (copy === undefined) {
      this.renumbered.push(table.name);
      await this.#text(
        `-- ${JSON.stringify(table.name)}: columns take every name of the rowid and SQLite ` +
          "cannot copy it: rows keep their order, rowids are renumbered from 1\n",
      );
      return await this.#rows(table, table.name);
    }
    try {
      const alter = `ALTER TABLE ${quoteIdentifier(table.name)} RENAME COLUMN`;
      // Unquoted (both are plain words): references keep the quoting they had.
      await this.#text(`${alter} ${copy.column} TO ${copy.renamedTo};\n`);
      const rows = await this.#rows(copy.table, table.name);
      await this.#text(`${alter} ${copy.renamedTo} TO ${copy.column};\n`);
      await this.#text(setStoredText({ type: "table", name: table.name, sql: table.sql }));
      return rows;
    } finally {
      copy.drop();
    }
  }

  /** FTS5 keeps settings such as `rank` and `automerge` in `<name>_config`; copy them over. */
  async #copyFts5Config(table: Table): Promise<void> {
    if (table.module !== "fts5") return;
    const config = `${table.name}_config`;
    if (!table.shadowTables.includes(config)) return;
    const statement = this.#db.prepare(
      `SELECT ${this.#rendered(`${literalExpression("k")} || ',' || ${literalExpression("v")}`)} ` +
        `AS b FROM ${quoteIdentifier(config)} WHERE k <> 'version'`,
    );
    for (const row of statement.iterate()) {
      await this.#text(`INSERT OR REPLACE INTO ${quoteIdentifier(config)}(k,v) VALUES(`);
      await this.#write(row.b as Uint8Array | string);
      await this.#text(");\n");
    }
  }

  /** `sql` (text) as the connection hands rendered SQL over: bytes for UTF-8 databases. */
  #rendered(sql: string): string {
    return this.#utf8 ? `CAST(${sql} AS BLOB)` : sql;
  }

  /** Writes SQL rendered by SQLite (see `#rendered`). */
  #write(rendered: Uint8Array | string): Promise<void> | undefined {
    return typeof rendered === "string" ? this.#text(rendered) : this.#out.write(rendered);
  }

  /** Writes every row of `table` as multi-row INSERTs; returns the row count. */
  #rows(table: Table, progressName: string): Promise<number> {
    return writeTableRows(this.#db, this.#out, table, {
      utf8: this.#utf8,
      onRows: (rows) => this.#progress(progressName, rows),
    });
  }

  #text(text: string): Promise<void> | undefined {
    return this.#out.writeText(text);
  }

  #progress(table: string, tableRows: number): void {
    if (table === "") return; // rows written as part of a page, counted there
    this.#options.onProgress?.({
      table,
      tableRows,
      totalRows: this.#totalRows + tableRows,
      bytes: this.#out.total,
    });
  }
}
