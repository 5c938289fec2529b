/**
 * The rows of one table of a SQLite dump, read from its INSERT statements without loading the
 * rest: each statement's `VALUES` list is evaluated by SQLite itself in an empty in-memory
 * database (our dumps write some values as expressions: `CAST(X'…' AS TEXT)`, scaled REALs), one
 * statement (about 1 MiB) at a time. With a `WHERE` condition the table alone is loaded into a
 * temporary database file and SQLite selects the rows.
 */
import { Buffer } from "node:buffer";
import { DatabaseSync } from "node:sqlite";
import { decodeSql } from "../../engines/sqlite/sqlite_engine.ts";
import { join } from "node:path";
import { classify, SqliteStatements } from "./sqlite_statements.ts";
import { SqliteSchema, tableColumns } from "./sqlite_schema.ts";
import {
  InvalidText,
  quoteIdentifier,
  type SqliteRowWriter,
  type SqliteValue,
} from "./sqlite_format.ts";
import { UsageError } from "../errors.ts";
import { collectGarbage } from "../collect_garbage.ts";

/**
 * Characters of dump read between two garbage collections. Each INSERT's `VALUES` list is
 * prepared as its own statement, whose compiled program (as big as the statement) is native
 * memory V8 frees only when it collects. Measured on a 1M-row table (131 MiB of SQL), peak RSS:
 * 384 MB without collecting, 276 MB every 16 Mi characters, 175 MB every 4 Mi (the extract of a
 * two-row table: 171 MB), for no measurable time.
 */
const COLLECT_EVERY_CHARS = 4 << 20;

/** Options of {@linkcode extractSqliteRows}. */
export interface SqliteRowsOptions {
  /** An SQL condition on the table's columns; absent: every row. */
  where?: string;
  /** Directory for the temporary database of `where` (removed after). Default: the system's. */
  tempDir?: string;
  /** The backup's id, for messages. */
  backup: string;
}

/**
 * Reads `sql` (statements of a dump, one character per byte: `backupText`'s `bytes`) and hands
 * the rows of `table` to the writer that
 * `writerFor` makes once the table's columns are known. Returns whether the table was found.
 * The text is read to its end either way, so the caller's checksum check runs.
 */
export async function extractSqliteRows(
  sql: AsyncIterable<string>,
  table: string,
  writerFor: (tableColumns: string[]) => SqliteRowWriter,
  options: SqliteRowsOptions,
): Promise<boolean> {
  const schema = new SqliteSchema();
  const values = new DatabaseSync(":memory:");
  values.exec("PRAGMA trusted_schema=OFF");
  let load: TableLoad | undefined;
  let writer: SqliteRowWriter | undefined;
  let begun = false;
  let found = false;
  try {
    const statements = new SqliteStatements();
    let sinceCollected = 0;
    for await (const chunk of sql) {
      // every statement prepared holds native memory V8 frees late: collect by volume
      sinceCollected += chunk.length;
      if (sinceCollected >= COLLECT_EVERY_CHARS) {
        sinceCollected = 0;
        collectGarbage();
      }
      for (const bytes of statements.push(chunk)) {
        // as the restore reads it: literals that are not UTF-8 become CAST(X'…' AS TEXT)
        const statement = decodeSql(Buffer.from(bytes, "latin1"));
        const kind = classify(statement);
        if (kind.kind === "create-table" && kind.table === table && !found) {
          found = true;
          schema.add(statement);
          const columns = (schema.columns(table) ?? []).map((c) => c.name);
          writer = writerFor(columns);
          if (options.where !== undefined) {
            load = await TableLoad.open(statement, table, options);
          }
          continue;
        }
        if (kind.kind !== "insert" || kind.table !== table || !writer) continue;
        const columns = kind.columns ?? (schema.columns(table) ?? []).map((c) => c.name);
        if (load) {
          load.insert(statement, columns);
          continue;
        }
        if (!begun) {
          begun = true;
          await writer.begin(columns);
        }
        const list = statement.slice(kind.valuesAt).replace(/;\s*$/, "");
        const names = columns.map((_, i) => `column${i + 1}`);
        const select = values.prepare(`SELECT ${typedList(names)} FROM (VALUES ${list})`);
        select.setReadBigInts(true);
        for (const row of select.iterate()) await writer.row(typedValues(row));
      }
    }
    if (writer && !begun && !load) {
      await writer.begin((schema.columns(table) ?? []).map((c) => c.name));
    }
    if (load && writer) await load.select(writer);
    return found;
  } finally {
    values.close();
    schema.close();
    await load?.close();
  }
}

/** The table alone in a temporary database file, for `--where`. */
class TableLoad {
  readonly #db: DatabaseSync;
  readonly #dir: string;
  readonly #table: string;
  readonly #where: string;
  #columns: string[] | undefined;
  readonly #backup: string;

  private constructor(db: DatabaseSync, dir: string, table: string, options: SqliteRowsOptions) {
    this.#db = db;
    this.#dir = dir;
    this.#table = table;
    this.#where = options.where!;
    this.#backup = options.backup;
  }

  static async open(create: string, table: string, options: SqliteRowsOptions): Promise<TableLoad> {
    const dir = await Deno.makeTempDir({ dir: options.tempDir, prefix: "backup-manager-extract-" });
    const db = new DatabaseSync(join(dir, "table.db"));
    const load = new TableLoad(db, dir, table, options);
    try {
      db.exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA trusted_schema=OFF");
      db.exec(create);
      // a condition SQLite cannot read is a mistake to say now, before the backup is read
      load.#prepare("*");
      db.exec("BEGIN");
    } catch (error) {
      await load.close();
      throw error;
    }
    return load;
  }

  insert(statement: string, columns: string[]): void {
    this.#columns ??= columns;
    this.#db.exec(statement);
  }

  async select(writer: SqliteRowWriter): Promise<void> {
    this.#db.exec("COMMIT");
    const columns = this.#columns ?? tableColumns(this.#db, this.#table).map((c) => c.name);
    const statement = this.#prepare(typedList(columns.map(quoteIdentifier)));
    statement.setReadBigInts(true);
    await writer.begin(columns);
    for (const row of statement.iterate()) await writer.row(typedValues(row));
  }

  #prepare(list: string) {
    try {
      return this.#db.prepare(
        `SELECT ${list} FROM ${quoteIdentifier(this.#table)} WHERE (${this.#where})`,
      );
    } catch (error) {
      throw new UsageError(
        `Cannot extract from backup "${this.#backup}": --where is not a condition SQLite can ` +
          `evaluate on table "${this.#table}" (${error instanceof Error ? error.message : error})`,
      );
    }
  }

  async close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Each column as its type and, for text, its bytes: `node:sqlite` cuts text at a NUL and turns
 * bytes that are not UTF-8 into U+FFFD; the bytes keep both.
 */
function typedList(columns: string[]): string {
  return columns.map((c) =>
    `typeof(${c}),CASE typeof(${c}) WHEN 'text' THEN CAST(${c} AS BLOB) ELSE ${c} END`
  ).join(",");
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The values of a row selected by {@linkcode typedList}. */
function typedValues(row: Record<string, unknown>): SqliteValue[] {
  const cells = Object.values(row);
  const values: SqliteValue[] = [];
  for (let i = 0; i < cells.length; i += 2) {
    const value = cells[i + 1] as SqliteValue;
    if (cells[i] !== "text") {
      values.push(value);
      continue;
    }
    const bytes = value as Uint8Array;
    try {
      values.push(utf8.decode(bytes));
    } catch {
      values.push(new InvalidText(bytes));
    }
  }
  return values;
}
