/**
 * Rowids of a table whose columns take all three names of the rowid (`rowid`, `oid`, `_rowid_`):
 * no SQL names them, and `sqlite3 .dump` loses them. SQLite itself still copies them in one case,
 * its transfer optimisation: `INSERT INTO x SELECT * FROM t` into an empty table of the same
 * definition that has an index like one of `t`'s copies each row's record with its rowid. The
 * dump makes such a copy in the connection's TEMP schema under the same name (an unqualified name
 * means the TEMP table first), then renames its column called `rowid`, so the rowid has a name
 * again; the rows are written from there. The restore renames that column too while it loads
 * the rows, and back. The copy takes TEMP storage the size of the table, for this rare shape only.
 */
import type { DatabaseSync } from "node:sqlite";
import { quoteIdentifier } from "./_sql.ts";
import type { Table } from "./_schema.ts";

/** A TEMP copy of a table with its rowids readable; see the file comment. */
export interface RowidCopy {
  /** The table as the rows are written: the renamed column, and the rowid. */
  table: Table;
  /** The column named `rowid` (in its own case) and the name it has while rows load. */
  column: string;
  renamedTo: string;
  /** Drops the TEMP copy, so the name means the `main` table again. */
  drop(): void;
}

/**
 * Copies `table` (an ordinary rowid table with {@linkcode Table.rowidLost}) with its rowids into
 * the TEMP schema of `db`; undefined when SQLite would not transfer the records as they are (the
 * table has no index, a generated column, a collation this connection lacks, a shape the transfer
 * refuses) or the copy fails: then the dump renumbers the rows and says so. Runs inside the dump's
 * read transaction, whose snapshot the copy sees, with foreign keys off (else the transfer is
 * refused for a table that has some).
 */
export function copyWithRowids(db: DatabaseSync, table: Table): RowidCopy | undefined {
  const q = quoteIdentifier;
  const names = db.prepare("SELECT name FROM pragma_table_info(?, 'main')").all(table.name)
    .map((c) => String(c.name));
  const column = names.find((n) => n.toLowerCase() === "rowid");
  const temporary = toTemp(table.sql, "TABLE");
  if (column === undefined || temporary === undefined) return undefined;
  const taken = new Set(names.map((n) => n.toLowerCase()));
  let renamedTo = "backup_manager_rowid";
  for (let i = 2; taken.has(renamedTo); i++) renamedTo = `backup_manager_rowid_${i}`;
  // The same definition (affinities, collations, constraints: what the transfer compares), with
  // the same indexes: those of its constraints come with it, one made by CREATE INDEX is copied.
  const index = db.prepare(
    "SELECT s.sql FROM pragma_index_list(?, 'main') i JOIN main.sqlite_schema s " +
      "ON s.type = 'index' AND s.name = i.name WHERE i.origin = 'c' ORDER BY i.seq LIMIT 1",
  ).get(table.name)?.sql;
  const drop = () => db.exec(`DROP TABLE IF EXISTS temp.${q(table.name)}`);
  try {
    db.exec(temporary);
    if (typeof index === "string") db.exec(toTemp(index, "INDEX") ?? "SELECT 1");
    const copy = `INSERT INTO temp.${q(table.name)} SELECT * FROM main.${q(table.name)}`;
    // The plan copies records (RowData/RowCell) only when the transfer applies; else it would
    // number the rows anew, silently. It keeps the rowid only into a table with an index.
    const transfers = db.prepare(`EXPLAIN ${copy}`).all()
      .some((op) => op.opcode === "RowData" || op.opcode === "RowCell");
    const indexed = db.prepare("SELECT count(*) AS n FROM pragma_index_list(?, 'temp')")
      .get(table.name)?.n !== 0;
    if (!transfers || !indexed) {
      drop();
      return undefined;
    }
    db.exec(copy);
    // Renamed after the copy: the rowid has a name again (indexes follow the rename).
    db.exec(`ALTER TABLE temp.${q(table.name)} RENAME COLUMN ${q(column)} TO ${q(renamedTo)}`);
  } catch {
    // A definition the TEMP schema cannot take (a missing collation, a generated column that
    // `SELECT *` lists), or no TEMP space: no copy.
    drop();
    return undefined;
  }
  return {
    table: {
      ...table,
      columns: table.columns.map((c) => (c.name === column ? { ...c, name: renamedTo } : c)),
      rowidName: "rowid",
      writeRowid: true,
      rowidLost: undefined,
    },
    column,
    renamedTo,
    drop,
  };
}

/**
 * `sql` (a CREATE TABLE or CREATE INDEX of main) creating the same object in TEMP. A table loses
 * its CHECK constraints: SQLite does not read them for a read-only database, and the transfer
 * wants both tables to have the same ones (checking them is no part of copying).
 */
function toTemp(sql: string, kind: "TABLE" | "INDEX"): string | undefined {
  if (kind === "TABLE") {
    const head = /^CREATE\s+TABLE\s+/i.exec(sql);
    return head ? `CREATE TEMP TABLE ${withoutChecks(sql.slice(head[0].length))}` : undefined;
  }
  const head = /^CREATE\s+(UNIQUE\s+)?INDEX\s+/i.exec(sql);
  return head
    ? `CREATE ${head[1] ? "UNIQUE " : ""}INDEX temp.${sql.slice(head[0].length)}`
    : undefined;
}

/**
 * `sql` with each `CHECK (…)` replaced by `CONSTRAINT backup_manager_check`, a constraint that
 * does nothing and fits wherever a CHECK does (on a column, or on the table, where constraints
 * need no comma between them).
 */
export function withoutChecks(sql: string): string {
  let out = "";
  let copied = 0;
  let check = -1; // where the CHECK being removed starts
  let depth = 0;
  for (const token of tokens(sql)) {
    if (check < 0) {
      if (/^check$/i.test(token.text)) check = token.start;
      continue;
    }
    if (token.text === "(") depth++;
    else if (token.text === ")" && --depth === 0) {
      out += `${sql.slice(copied, check)}CONSTRAINT backup_manager_check`;
      copied = token.end;
      check = -1;
    }
  }
  return out + sql.slice(copied);
}

/** The tokens of `sql` that are not blanks or comments: words, quoted names and strings, marks. */
function* tokens(sql: string): Generator<{ text: string; start: number; end: number }> {
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    let end = i + 1;
    if (c === "-" && sql[i + 1] === "-") {
      const at = sql.indexOf("\n", i);
      i = at < 0 ? sql.length : at + 1;
      continue;
    }
    if (c === "/" && sql[i + 1] === "*") {
      const at = sql.indexOf("*/", i + 2);
      i = at < 0 ? sql.length : at + 2;
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'" || c === '"' || c === "`" || c === "[") {
      // A doubled quote is a close and an open: two tokens, the same boundaries.
      const at = sql.indexOf(c === "[" ? "]" : c, i + 1);
      end = at < 0 ? sql.length : at + 1;
    } else if (/[\p{L}\p{N}_$]/u.test(c)) {
      while (end < sql.length && /[\p{L}\p{N}_$]/u.test(sql[end])) end++;
    }
    yield { text: sql.slice(i, end), start: i, end };
    i = end;
  }
}
