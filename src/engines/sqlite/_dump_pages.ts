import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import type { ChunkBuffer } from "../chunk_buffer.ts";
import { commaJoined, literalExpression, quoteIdentifier } from "./_sql.ts";
import type { Table } from "./_schema.ts";

const TARGET_STATEMENT_BYTES = 1 << 20;
const FIRST_PAGE_ROWS = 1000;
/** Rows asked for at most by any page. */
const MAX_PAGE_ROWS = 20_000;
/**
 * SQLite's length limit while it renders a page: a page that would grow past it (rows much
 * larger than those of the page before) stops with SQLITE_TOOBIG and is asked again with fewer
 * rows, so memory stays flat whatever the rows hold. A single row larger than this is rendered
 * under the connection's own limit.
 */
const PAGE_LENGTH_LIMIT = 16 << 20;
const SQLITE_TOOBIG = 18;

/**
 * The SQL function, registered by {@linkcode registerPageFunctions}, that tells -0.0 from +0.0:
 * no built-in SQL function can (see {@linkcode literalExpression}). SQLite calls it for REAL zeros
 * in columns that can keep the sign, nothing else.
 */
const NEGATIVE_ZERO_FUNCTION = "backup_manager_is_negative_zero";

const encoder = new TextEncoder();
const ROW_SEPARATOR = encoder.encode("),(");
const CARRIAGE_RETURN = 0x0d;
const STATEMENT_END = encoder.encode(");\n");

/** Registers on `db` the SQL functions the page queries call. */
export function registerPageFunctions(db: DatabaseSync): void {
  db.function(
    NEGATIVE_ZERO_FUNCTION,
    { deterministic: true },
    (value) => (Object.is(value, -0) ? 1 : 0),
  );
}

/** A column of the key a table's rows are paged by. */
interface KeyPart {
  /** The column as SQL, qualified by its table (a column's name, or the rowid's). */
  column: string;
  descending: boolean;
  /** `COLLATE …` clause of the index order; empty for the rowid. */
  collate: string;
}

/** Options of {@linkcode writeTableRows}. */
export interface TableRowsOptions {
  /** UTF-8 databases hand pages over as bytes; UTF-16 ones as strings. */
  utf8: boolean;
  /** Called after each page with the rows written so far. */
  onRows?: (rows: number) => void;
  /** Bytes of SQL aimed at per INSERT statement; pages adapt their row count to it. Default 1 MiB. */
  statementBytes?: number;
  /** Rows asked for by the table's first page. Default 1000. */
  firstPageRows?: number;
}

/**
 * Writes every row of the ordinary table `table` to `out` as multi-row INSERT statements;
 * returns the row count. SQLite renders each page of rows into one string (see
 * {@linkcode literalExpression}), so JavaScript handles one value per ~1 MiB of SQL, whatever the
 * table's shape. Pages follow the table's own b-tree: the rowid, or the primary key of a
 * WITHOUT ROWID table (keyset pages: the rows after the last key written, in index order).
 * Needs {@linkcode registerPageFunctions} on `db`.
 */
export async function writeTableRows(
  db: DatabaseSync,
  out: ChunkBuffer,
  table: Table,
  options: TableRowsOptions,
): Promise<number> {
  const key = keyOf(table);
  const writer = key && new PageWriter(db, out, table, key, options);
  if (writer?.prepared()) return await writer.write();
  return await new ScanWriter(db, out, table, options).write();
}

/** The key the table's b-tree is ordered by, if the dump can page by it. */
function keyOf(table: Table): KeyPart[] | undefined {
  if (table.virtual) return undefined;
  // Qualified: in ORDER BY a bare name means a result column first, and the page's rendered
  // row is a result column named like any table's column might be.
  const column = (name: string) => `${quoteIdentifier(table.name)}.${quoteIdentifier(name)}`;
  if (!table.withoutRowid) {
    if (table.rowidName === undefined) return undefined; // every name of the rowid is a column
    return [{ column: column(table.rowidName), descending: false, collate: "" }];
  }
  if (!table.primaryKey?.length) return undefined;
  return table.primaryKey.map((k) => ({
    column: column(k.name),
    descending: k.descending,
    collate: ` COLLATE ${quoteIdentifier(k.collation)}`,
  }));
}

/**
 * The values an INSERT of `table` writes, each as an SQL expression rendering a literal; text
 * holding a `\r` in hex only with `carriageReturnsInHex` (see {@linkcode literalExpression}).
 */
function valueExpressions(table: Table, carriageReturnsInHex: boolean): string[] {
  return [
    ...(table.writeRowid && table.rowidName ? [`quote(${quoteIdentifier(table.rowidName)})`] : []),
    ...table.columns.map((c) =>
      literalExpression(quoteIdentifier(c.name), {
        carriageReturnsInHex,
        ...(c.mayHoldNegativeZero ? { negativeZeroFunction: NEGATIVE_ZERO_FUNCTION } : {}),
      })
    ),
  ];
}

function insertPrefix(table: Table): Uint8Array {
  const names = [
    ...(table.writeRowid && table.rowidName ? [table.rowidName] : []),
    ...table.columns.map((c) => c.name),
  ];
  return encoder.encode(
    `INSERT INTO ${quoteIdentifier(table.name)}(${names.map(quoteIdentifier).join(",")}) VALUES(`,
  );
}

/**
 * Keyset pages over the table's key. The rows after key K in index order are, for each run of
 * key columns sorted the same way (all ascending, then all descending, …), those equal to K on
 * the runs before and past K on this run: one index range per run, deepest run first. Most keys
 * are one run (`WHERE (a,b) > (?,?)`); each run is one statement, prepared once per table.
 */
class PageWriter {
  readonly #db: DatabaseSync;
  readonly #out: ChunkBuffer;
  readonly #table: Table;
  readonly #key: KeyPart[];
  readonly #options: TableRowsOptions;
  /** Index of the first key column of each run. */
  readonly #runs: number[] = [];
  /** Page and key statements: index 0 for the first page, 1 + run for the rows past a key. */
  readonly #pages: StatementSync[] = [];
  readonly #keys: StatementSync[] = [];
  readonly #insert: Uint8Array;
  /**
   * Pages render text with `\r` as plain literals until one holds such a byte: then that page,
   * and every later one, is rendered again with those texts in hex (the stock shell drops a `\r`
   * before a line end even inside a string). One scan of each page instead of one per value.
   */
  #carriageReturnsInHex = false;

  constructor(
    db: DatabaseSync,
    out: ChunkBuffer,
    table: Table,
    key: KeyPart[],
    options: TableRowsOptions,
  ) {
    this.#db = db;
    this.#out = out;
    this.#table = table;
    this.#key = key;
    this.#options = options;
    this.#insert = insertPrefix(table);
    key.forEach((k, i) => {
      if (i === 0 || k.descending !== key[i - 1].descending) this.#runs.push(i);
    });
  }

  /**
   * Prepares the first page's statement; false when SQLite cannot order by the key (a
   * collation this connection does not have). The others are prepared when first needed.
   */
  prepared(): boolean {
    try {
      this.#pageStatement(0);
      return true;
    } catch (error) {
      if (/no such collation sequence/.test(String((error as Error)?.message))) return false;
      throw error;
    }
  }

  async write(): Promise<number> {
    const out = this.#out;
    let rows = 0;
    const target = this.#options.statementBytes ?? TARGET_STATEMENT_BYTES;
    let limit = this.#options.firstPageRows ?? FIRST_PAGE_ROWS;
    let last: SQLInputValue[] | undefined;
    for (;;) {
      // One page, one INSERT: the rows past `last`, run by run, until `limit` rows.
      let level = last === undefined ? 0 : this.#runs.length;
      let asked = limit;
      let pageRows = 0;
      let pageBytes = 0;
      let full = false;
      for (;;) {
        const page = this.#page(level, last, asked);
        if (page.rows > 0) {
          await out.write(pageRows === 0 ? this.#insert : ROW_SEPARATOR);
          await out.write(page.text);
          pageRows += page.rows;
          pageBytes += page.text.length;
        }
        if (page.rows === page.asked) {
          last = this.#lastKey(level, last, page.rows - 1);
          full = true;
          break;
        }
        if (level <= 1) break; // the first page, or the outermost run: no rows are left
        asked = page.asked - page.rows;
        level--;
      }
      if (pageRows > 0) await out.write(STATEMENT_END);
      rows += pageRows;
      this.#options.onRows?.(rows);
      if (!full) return rows;
      // Grow pages gradually: rows much larger than those before are caught by the length limit.
      const fit = Math.round(target / (pageBytes / pageRows));
      limit = Math.max(1, Math.min(MAX_PAGE_ROWS, fit, limit * 8));
    }
  }

  /** Renders up to `asked` rows of statement `level`; fewer when they would be too long. */
  #page(
    level: number,
    last: SQLInputValue[] | undefined,
    asked: number,
  ): { text: Uint8Array; rows: number; asked: number } {
    const statement = this.#pageStatement(level);
    const limits = limitsOf(this.#db);
    const own = limits.length;
    for (;;) {
      limits.length = asked === 1 ? own : Math.min(own, PAGE_LENGTH_LIMIT);
      try {
        const result = statement.get(...(last ?? this.#noKey()), asked);
        const rows = Number(result?.n ?? 0);
        const text = rows === 0 ? new Uint8Array() : toBytes(result!.b as Uint8Array | string);
        if (!this.#carriageReturnsInHex && text.includes(CARRIAGE_RETURN)) {
          this.#carriageReturnsInHex = true;
          this.#pages.length = 0;
          return this.#page(level, last, asked);
        }
        return { text, rows, asked };
      } catch (error) {
        if ((error as { errcode?: number })?.errcode !== SQLITE_TOOBIG || asked === 1) throw error;
        asked = Math.max(1, Math.floor(asked / 16));
      } finally {
        limits.length = own;
      }
    }
  }

  /** The key of row `offset` (from 0) of statement `level`, as parameters for the next page. */
  #lastKey(level: number, last: SQLInputValue[] | undefined, offset: number): SQLInputValue[] {
    const row = this.#keyStatement(level).get(...(last ?? this.#noKey()), offset) as
      | Record<string, SQLInputValue>
      | undefined;
    if (!row) throw new Error(`Cannot read the key of a page of "${this.#table.name}"`);
    return this.#key.flatMap((_, i) => [row[`t${i}`], row[`k${i}`]]);
  }

  /** Parameters of the first page, which has no key: its LIMIT is still parameter 2n+1. */
  #noKey(): SQLInputValue[] {
    return new Array(2 * this.#key.length).fill(null);
  }

  /** The statement rendering the page of `level`, prepared on first use. */
  #pageStatement(level: number): StatementSync {
    this.#pages[level] ??= this.#db.prepare(
      `SELECT ${this.#bytes("group_concat(b, '),(')")} AS b, count(*) AS n FROM (SELECT ` +
        `${commaJoined(valueExpressions(this.#table, this.#carriageReturnsInHex))} AS b ` +
        `${this.#from(level)} ` +
        `LIMIT ?${2 * this.#key.length + 1})`,
    );
    return this.#pages[level];
  }

  /** The statement reading the key of a row of the page of `level`, prepared on first use. */
  #keyStatement(level: number): StatementSync {
    if (!this.#keys[level]) {
      // Text keys come back as their bytes: a JS string cannot carry invalid UTF-8.
      const keyColumns = this.#key.map((k, i) =>
        `typeof(${k.column}) AS t${i}, CASE typeof(${k.column}) WHEN 'text' ` +
        `THEN CAST(${k.column} AS BLOB) ELSE ${k.column} END AS k${i}`
      );
      this.#keys[level] = this.#db.prepare(
        `SELECT ${keyColumns.join(", ")} ${this.#from(level)} ` +
          `LIMIT 1 OFFSET ?${2 * this.#key.length + 1}`,
      );
      this.#keys[level].setReadBigInts(true);
    }
    return this.#keys[level];
  }

  #from(level: number): string {
    const where = level === 0 ? "" : ` WHERE ${this.#past(level - 1)}`;
    const order = this.#key.map((k) => `${k.column}${k.collate}${k.descending ? " DESC" : ""}`);
    return `FROM ${quoteIdentifier(this.#table.name)}${where} ORDER BY ${order.join(", ")}`;
  }

  #bytes(sql: string): string {
    return this.#options.utf8 ? `CAST(${sql} AS BLOB)` : sql;
  }

  /**
   * The condition "past the key in ?1…" on run `run`: equal on the runs before, after it on
   * this one (in the index's direction and collation, so that SQLite searches the index).
   */
  #past(run: number): string {
    const start = this.#runs[run];
    const end = this.#runs[run + 1] ?? this.#key.length;
    const bound = (i: number) =>
      `CASE ?${2 * i + 1} WHEN 'text' THEN CAST(?${2 * i + 2} AS TEXT) ELSE ?${2 * i + 2} END` +
      this.#key[i].collate;
    const equal = this.#key.slice(0, start).map((k, i) => `${k.column} = ${bound(i)}`);
    const parts = this.#key.slice(start, end);
    const indexes = parts.map((_, i) => start + i);
    const beyond = parts.length === 1
      ? `${parts[0].column} ${parts[0].descending ? "<" : ">"} ${bound(start)}`
      : `(${parts.map((k) => k.column).join(", ")}) ${parts[0].descending ? "<" : ">"} ` +
        `(${indexes.map(bound).join(", ")})`;
    return [...equal, beyond].join(" AND ");
  }
}

/**
 * One scan in storage order, one rendered row per step, for the rare table the dump cannot page
 * by key: a rowid table whose columns take every name of the rowid, a primary key under a
 * collation this connection lacks.
 */
class ScanWriter {
  readonly #db: DatabaseSync;
  readonly #out: ChunkBuffer;
  readonly #table: Table;
  readonly #options: TableRowsOptions;

  constructor(db: DatabaseSync, out: ChunkBuffer, table: Table, options: TableRowsOptions) {
    this.#db = db;
    this.#out = out;
    this.#table = table;
    this.#options = options;
  }

  async write(): Promise<number> {
    const row = commaJoined(valueExpressions(this.#table, true));
    const statement = this.#db.prepare(
      `SELECT ${this.#options.utf8 ? `CAST(${row} AS BLOB)` : row} AS b ` +
        `FROM ${quoteIdentifier(this.#table.name)}`,
    );
    const insert = insertPrefix(this.#table);
    const out = this.#out;
    let rows = 0;
    let statementStart = -1;
    const target = this.#options.statementBytes ?? TARGET_STATEMENT_BYTES;
    for (const { b } of statement.iterate()) {
      if (statementStart >= 0 && out.total - statementStart <= target) {
        await out.write(ROW_SEPARATOR);
      } else {
        if (statementStart >= 0) await out.write(STATEMENT_END);
        statementStart = out.total;
        await out.write(insert);
      }
      await out.write(toBytes(b as Uint8Array | string));
      rows++;
      if (rows % 1000 === 0) this.#options.onRows?.(rows);
    }
    if (statementStart >= 0) await out.write(STATEMENT_END);
    this.#options.onRows?.(rows);
    return rows;
  }
}

/** `DatabaseSync.limits`: present at run time (Deno 2.9.6), missing from the bundled types. */
function limitsOf(db: DatabaseSync): { length: number } {
  return (db as unknown as { limits: { length: number } }).limits;
}

function toBytes(value: Uint8Array | string): Uint8Array {
  return typeof value === "string" ? encoder.encode(value) : value;
}
