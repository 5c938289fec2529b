/**
 * The SQL that recreates a schema object so that `sqlite_schema.sql` comes back byte for byte,
 * through our restore and through the stock `sqlite3` shell.
 *
 * SQLite does not store the CREATE statement as written: it stores `CREATE TABLE ` / `CREATE
 * INDEX ` / … followed by the text from the object's name to an end that depends on the kind:
 * - tables without options, virtual tables and triggers: up to their last token (`)`, `END`, the
 *   module name), so nothing after it is kept;
 * - tables with options (`STRICT`, `WITHOUT ROWID`) and indexes: everything up to the `;`,
 *   trailing blanks and comments included;
 * - views: up to the `;`, less trailing blanks (a trailing comment is kept).
 * So a text ending in a `--` comment needs a line end before its `;`, which an index or a STRICT
 * table then keeps (one more `\n`); and the stock shell drops each `\r` before a `\n` of its input.
 * Where writing the text and a `;` cannot give the text back, the object is created from it and
 * its stored text is then set as it was (`PRAGMA writable_schema`, as `sqlite3 .dump` does for
 * virtual tables).
 */

import { quoteIdentifier } from "./_sql.ts";

/** One row of `sqlite_schema`, as the dump recreates it. */
export interface SchemaObject {
  type: "table" | "index" | "view" | "trigger";
  name: string;
  sql: string;
}

/**
 * The statements (each ending in `;\n`) that recreate `object` with its stored text unchanged:
 * its CREATE statement, then, where needed, the statements that set its text back.
 */
export function createStatement(object: SchemaObject): string {
  const end = scanEnd(object.sql);
  const tail = end.comment === "line" ? "\n" : end.comment === "block" ? "*/" : "";
  const text = shellSafe(object.sql);
  const create = `${text}${tail};\n`;
  const exact = text === object.sql && storedText(object, end, tail) === object.sql &&
    !object.sql.includes("\r");
  if (exact) return create;
  return create + setStoredText(object, end.carriageReturnInString);
}

/**
 * Statements that set the stored text of `object` to `object.sql`. With `reload`, the schema is
 * read again from the new text (the text differs in meaning, not only in blanks: a `\r` inside a
 * string literal) and an index is rebuilt by it.
 */
export function setStoredText(object: SchemaObject, reload = false): string {
  return "PRAGMA writable_schema=ON;\n" +
    `UPDATE sqlite_schema SET sql=${textLiteral(object.sql)} ` +
    `WHERE type=${textLiteral(object.type)} AND name=${textLiteral(object.name)};\n` +
    `PRAGMA writable_schema=${reload ? "RESET" : "OFF"};\n` +
    (reload && object.type === "index" ? `REINDEX ${quoteIdentifier(object.name)};\n` : "");
}

/**
 * `text` as an SQL string literal that also reaches the stock shell intact: each `\r` is written
 * as `char(13)` through `replace()` (the shell drops a `\r` before a line end, even in a string).
 */
export function textLiteral(text: string): string {
  const quote = (s: string) => `'${s.replaceAll("'", "''")}'`;
  if (!text.includes("\r")) return quote(text);
  let marker = "\\r";
  for (let i = 0; text.includes(marker); i++) marker = `\\r${i}\\`;
  return `replace(${quote(text.replaceAll("\r", marker))},${quote(marker)},char(13))`;
}

/**
 * `sql` with a `/**\/` comment before each line the stock shell would take for the end of the
 * statement: a line holding only `/` or `go` (Oracle's and SQL Server's terminators; blanks and
 * comments around them allowed), outside strings and comments, which the shell replaces with `;`
 * when the text before it would make a complete statement. The comment changes nothing for
 * SQLite; the stored text is set back after.
 */
export function shellSafe(sql: string): string {
  if (!/^[ \t\f\v\r]*(?:\/|go)(?![A-Za-z0-9_$\x80-\uffff])/im.test(sql)) return sql;
  let out = "";
  let copied = 0;
  let i = 0;
  let lineStart = true;
  while (i < sql.length) {
    if (
      lineStart && /^[ \t\f\v\r]*(?:\/|go)(?![A-Za-z0-9_$\x80-\uffff])/i.test(sql.slice(i, i + 64))
    ) {
      out += `${sql.slice(copied, i)}/**/`;
      copied = i;
    }
    lineStart = false;
    const c = sql[i];
    let next = i + 1;
    if (c === "-" && sql[i + 1] === "-") {
      const at = sql.indexOf("\n", i);
      next = at < 0 ? sql.length : at; // the line end itself is seen below
    } else if (c === "/" && sql[i + 1] === "*") {
      const at = sql.indexOf("*/", i + 2);
      next = at < 0 ? sql.length : at + 2;
    } else if (c === "'" || c === '"' || c === "`" || c === "[") {
      const at = sql.indexOf(c === "[" ? "]" : c, i + 1);
      next = at < 0 ? sql.length : at + 1;
    } else if (c === "\n") {
      lineStart = true;
    }
    i = next;
  }
  return out + sql.slice(copied);
}

/** How a statement's text ends, as SQLite's tokenizer sees it. */
export interface TextEnd {
  /** The kind of comment the text ends inside, if it does (a `--` comment without line end). */
  comment?: "line" | "block";
  /** Offset just past the last token that is not a blank or a comment. */
  lastTokenEnd: number;
  /** Whether a `\r` is inside a string literal (then it is part of a value, not of a blank). */
  carriageReturnInString: boolean;
}

/** Scans `sql` with SQLite's quoting and comment rules (see {@linkcode TextEnd}). */
export function scanEnd(sql: string): TextEnd {
  let lastTokenEnd = 0;
  let carriageReturnInString = false;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "-" && sql[i + 1] === "-") {
      const at = sql.indexOf("\n", i + 2);
      if (at < 0) return { comment: "line", lastTokenEnd, carriageReturnInString };
      i = at + 1;
    } else if (c === "/" && sql[i + 1] === "*") {
      const at = sql.indexOf("*/", i + 2);
      if (at < 0) return { comment: "block", lastTokenEnd, carriageReturnInString };
      i = at + 2;
    } else if (c === "'" || c === '"' || c === "`" || c === "[") {
      // A doubled quote is a close and an open: the same end.
      const at = sql.indexOf(c === "[" ? "]" : c, i + 1);
      const close = at < 0 ? sql.length : at + 1;
      if (c === "'" && sql.slice(i, close).includes("\r")) carriageReturnInString = true;
      i = lastTokenEnd = close;
    } else if (BLANKS.has(c)) {
      i++;
    } else {
      i = lastTokenEnd = i + 1;
    }
  }
  return { lastTokenEnd, carriageReturnInString };
}

/** Blanks between tokens for SQLite (its `isspace`). */
const BLANKS = new Set([" ", "\t", "\n", "\f", "\r", "\v"]);

/** What SQLite keeps of `object.sql` written with `tail` and a `;` (see the file comment). */
function storedText(object: SchemaObject, end: TextEnd, tail: string): string | undefined {
  const sql = object.sql;
  const prefix = PREFIXES[object.type].find((p) => sql.startsWith(p));
  // SQLite writes the prefix itself and continues from the name: one space, no IF NOT EXISTS.
  if (prefix === undefined || BLANKS.has(sql[prefix.length] ?? " ")) return undefined;
  if (/^IF\s+NOT\s+EXISTS\b/i.test(sql.slice(prefix.length))) return undefined;
  const upToLastToken = sql.slice(0, end.lastTokenEnd);
  switch (object.type) {
    case "view":
      return (sql + tail).replace(/[ \t\n\f\r\v]+$/, "");
    case "index":
      return sql + tail;
    case "trigger":
      return upToLastToken;
    case "table":
      if (prefix === "CREATE VIRTUAL TABLE ") return upToLastToken;
      // Without options a table's text ends at its `)`; with them, at the `;`.
      return sql[end.lastTokenEnd - 1] === ")" ? upToLastToken : sql + tail;
  }
}

const PREFIXES: Record<SchemaObject["type"], string[]> = {
  table: ["CREATE TABLE ", "CREATE VIRTUAL TABLE "],
  index: ["CREATE INDEX ", "CREATE UNIQUE INDEX "],
  view: ["CREATE VIEW "],
  trigger: ["CREATE TRIGGER "],
};
