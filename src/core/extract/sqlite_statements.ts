/**
 * Cuts SQLite SQL text into statements, as `sqlite3_complete()` does: a `;` ends a statement
 * unless it is inside a quoted string or identifier, a comment, or the body of a `CREATE
 * TRIGGER` (which ends at `END;`). For readers of a dump that pick out a few statements (the
 * schema, one table's INSERTs) without running the rest. Memory: the longest statement.
 */

const QUOTES: Record<string, string> = { "'": "'", '"': '"', "`": "`", "[": "]" };
const TRIGGER_HEAD =
  /^\s*(?:(?:--[^\n]*\n|\/\*[\s\S]*?\*\/)\s*)*CREATE\s+(?:TEMP\s+|TEMPORARY\s+)?TRIGGER\b/i;
const TRIGGER_END = /\bEND\s*$/i;

/** Splits pushed text into complete statements (each with its `;`, leading blanks kept). */
export class SqliteStatements {
  #text = "";
  /** Where scanning resumes in `#text` (everything before is outside literals and comments). */
  #position = 0;

  /** Adds `chunk`; returns the statements it completed, in order. */
  push(chunk: string): string[] {
    const statements: string[] = [];
    let start = 0;
    let i = this.#position;
    const text = this.#text + chunk;
    while (i < text.length) {
      const c = text[i];
      const close = QUOTES[c];
      if (close !== undefined) {
        const end = text.indexOf(close, i + 1);
        if (end < 0) break; // the literal goes on in the next chunk
        i = end + 1;
        continue;
      }
      if (c === "-" && text[i + 1] === "-") {
        const end = text.indexOf("\n", i + 2);
        if (end < 0) break;
        i = end + 1;
        continue;
      }
      if (c === "/" && text[i + 1] === "*") {
        const end = text.indexOf("*/", i + 2);
        if (end < 0) break;
        i = end + 2;
        continue;
      }
      if ((c === "-" || c === "/") && i + 1 === text.length) break; // a comment may start
      if (c === ";") {
        const statement = text.slice(start, i + 1);
        if (!TRIGGER_HEAD.test(statement) || TRIGGER_END.test(statement.slice(0, -1))) {
          statements.push(statement);
          start = i + 1;
        }
      }
      i++;
    }
    this.#text = text.slice(start);
    this.#position = i - start;
    return statements;
  }

  /** What is left after the last `;` (blanks and comments of a complete dump). */
  rest(): string {
    return this.#text;
  }
}

/**
 * The identifier at the start of `text` (after blanks): `"…"`, `[…]`, `` `…` ``, `'…'` or a bare
 * word, unquoted, and where it ends; `undefined` when there is none.
 */
export function readIdentifier(text: string, from = 0): { name: string; end: number } | undefined {
  let i = from;
  while (i < text.length && /\s/.test(text[i])) i++;
  const c = text[i];
  const close = QUOTES[c];
  if (close !== undefined) {
    let name = "";
    let j = i + 1;
    for (;;) {
      const end = text.indexOf(close, j);
      if (end < 0) return undefined;
      name += text.slice(j, end);
      if (close !== "]" && text[end + 1] === close) {
        name += close;
        j = end + 2;
        continue;
      }
      return { name, end: end + 1 };
    }
  }
  const match = /^[A-Za-z0-9_$\u0080-\uffff]+/.exec(text.slice(i, i + 1024));
  return match ? { name: match[0], end: i + match[0].length } : undefined;
}

/** What a dump statement is, for the readers: the table it creates or inserts into. */
export type StatementKind =
  | { kind: "create-table"; table: string; virtual: boolean }
  | { kind: "insert"; table: string; valuesAt: number; columns?: string[] }
  | { kind: "other" };

const CREATE_TABLE =
  /^\s*CREATE\s+(?:(?:TEMP|TEMPORARY)\s+)?(VIRTUAL\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?/i;
const INSERT_INTO = /^\s*INSERT\s+(?:OR\s+\w+\s+)?INTO\s+/i;

/** Classifies one statement by its head (comments before it skipped). */
export function classify(statement: string): StatementKind {
  const body = skipComments(statement);
  const head = body.slice(0, 64);
  const offset = statement.length - body.length;
  const create = CREATE_TABLE.exec(head);
  if (create) {
    const id = readIdentifier(body, create[0].length);
    return id ? { kind: "create-table", table: id.name, virtual: !!create[1] } : { kind: "other" };
  }
  const insert = INSERT_INTO.exec(head);
  if (!insert) return { kind: "other" };
  const id = readIdentifier(body, insert[0].length);
  if (!id) return { kind: "other" };
  let i = id.end;
  while (/\s/.test(body[i] ?? "")) i++;
  let columns: string[] | undefined;
  if (body[i] === "(") {
    columns = [];
    i++;
    for (;;) {
      const column = readIdentifier(body, i);
      if (!column) return { kind: "other" };
      columns.push(column.name);
      i = column.end;
      while (/\s/.test(body[i] ?? "")) i++;
      if (body[i] === ",") i++;
      else if (body[i] === ")") {
        i++;
        break;
      } else return { kind: "other" };
    }
  }
  const values = /^\s*VALUES\s*/i.exec(body.slice(i, i + 32));
  if (!values) return { kind: "other" };
  return { kind: "insert", table: id.name, valuesAt: offset + i + values[0].length, columns };
}

/** `statement` from its first token on (blanks and comments before it left out). */
function skipComments(statement: string): string {
  let i = 0;
  for (;;) {
    while (i < statement.length && /\s/.test(statement[i])) i++;
    if (statement.startsWith("--", i)) {
      const end = statement.indexOf("\n", i);
      if (end < 0) return "";
      i = end + 1;
    } else if (statement.startsWith("/*", i)) {
      const end = statement.indexOf("*/", i + 2);
      if (end < 0) return "";
      i = end + 2;
    } else return statement.slice(i);
  }
}
