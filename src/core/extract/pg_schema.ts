/**
 * The tables of a PostgreSQL backup as its `CREATE TABLE` statements declare them. Our dump
 * writes them as pg_dump does (`_schema_tables.ts`): `CREATE TABLE schema.name (` then one column
 * per line, `name type [COLLATE …] [DEFAULT …] [NOT NULL] [GENERATED …]`, with keywords in
 * capitals and types as `format_type()` renders them with an empty `search_path`; then `)` and
 * `INHERITS (…)` for an inheritance child, whose inherited columns are the parents'. Parsing
 * them costs nothing on a server; a typed table (`OF type`) gets no columns.
 */
import type { Column, TableColumns } from "./columns.ts";

/** Collects `CREATE TABLE` statements from the lines of a dump's schema. */
export class PostgresSchema {
  readonly #tables = new Map<string, { columns?: Column[]; parents: string[] }>();
  #statement: string[] | undefined;
  #scan = new StatementEnd();

  /** Feeds one line (without its `\n`). */
  line(line: string): void {
    if (this.#statement === undefined) {
      if (!/^CREATE (?:UNLOGGED |FOREIGN )?TABLE /.test(line)) return;
      this.#statement = [];
      this.#scan = new StatementEnd();
    }
    this.#statement.push(line);
    if (!this.#scan.ends(line + "\n")) return;
    const parsed = parseCreateTable(this.#statement.join("\n"));
    this.#statement = undefined;
    if (parsed) this.#tables.set(parsed.name, { columns: parsed.columns, parents: parsed.parents });
  }

  /** The tables seen, inherited columns first (as PostgreSQL orders them). */
  tables(): TableColumns {
    const result: TableColumns = new Map();
    const resolve = (name: string, depth: number): Column[] | undefined => {
      const table = this.#tables.get(name);
      if (!table?.columns || depth > 100) return undefined;
      const columns: Column[] = [];
      for (const parent of table.parents) {
        for (const column of resolve(parent, depth + 1) ?? []) {
          if (!columns.some((c) => c.name === column.name)) columns.push(column);
        }
      }
      for (const column of table.columns) {
        if (!columns.some((c) => c.name === column.name)) columns.push(column);
      }
      return columns;
    };
    for (const name of this.#tables.keys()) {
      const columns = resolve(name, 0);
      if (columns) result.set(name, columns);
    }
    return result;
  }
}

/** Tells where a statement ends: a `;` outside quotes and parentheses. */
class StatementEnd {
  #depth = 0;
  #quote: string | undefined;

  ends(text: string): boolean {
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (this.#quote !== undefined) {
        if (c === this.#quote) this.#quote = undefined; // a doubled quote reopens at once
        continue;
      }
      if (c === "'" || c === '"') this.#quote = c;
      else if (c === "(") this.#depth++;
      else if (c === ")") this.#depth--;
      else if (c === ";" && this.#depth === 0) return true;
    }
    return false;
  }
}

/** A parsed `CREATE TABLE`: its `schema.name`, columns (absent: not listed) and parents. */
export interface CreatedTable {
  name: string;
  columns?: Column[];
  parents: string[];
}

/** Parses one `CREATE TABLE` statement as our dump writes it; `undefined` if it is not one. */
export function parseCreateTable(statement: string): CreatedTable | undefined {
  const head = /^CREATE (?:UNLOGGED |FOREIGN )?TABLE /.exec(statement);
  if (!head) return undefined;
  const name = readQualifiedName(statement, head[0].length);
  if (!name) return undefined;
  let i = skipBlanks(statement, name.end);
  if (statement[i] !== "(") return { name: name.name, parents: [] }; // OF type, PARTITION OF
  const close = matchingParen(statement, i);
  const columns = splitTopLevel(statement.slice(i + 1, close)).map(parseColumn)
    .filter((c): c is Column => c !== undefined);
  i = skipBlanks(statement, close + 1);
  const parents: string[] = [];
  if (statement.startsWith("INHERITS", i)) {
    i = skipBlanks(statement, i + "INHERITS".length);
    const end = matchingParen(statement, i);
    for (const part of splitTopLevel(statement.slice(i + 1, end))) {
      const parent = readQualifiedName(part, 0);
      if (parent) parents.push(parent.name);
    }
  }
  return { name: name.name, columns, parents };
}

const CONSTRAINT_HEAD = /^(?:CONSTRAINT|CHECK|UNIQUE|PRIMARY KEY|FOREIGN KEY|EXCLUDE|LIKE)\b/;
/** Keywords that end a column's type (the dump writes keywords in capitals, types in lower case). */
const AFTER_TYPE = new Set([
  "COLLATE",
  "DEFAULT",
  "NOT",
  "NULL",
  "GENERATED",
  "CONSTRAINT",
  "CHECK",
  "OPTIONS",
  "REFERENCES",
  "UNIQUE",
  "PRIMARY",
  "COMPRESSION",
  "STORAGE",
]);

function parseColumn(element: string): Column | undefined {
  const text = element.trim();
  if (text === "" || CONSTRAINT_HEAD.test(text)) return undefined;
  const name = readIdentifier(text, 0);
  if (!name) return undefined;
  let i = name.end;
  let type = "";
  let depth = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      const end = closingQuote(text, i);
      type += text.slice(i, end);
      i = end;
      continue;
    }
    if (c === "(") depth++;
    if (c === ")") depth--;
    if (depth === 0 && /[A-Z]/.test(c) && /\s/.test(text[i - 1] ?? " ")) {
      const word = /^[A-Z]+/.exec(text.slice(i, i + 16))?.[0] ?? "";
      if (AFTER_TYPE.has(word) && !/[A-Za-z0-9_$]/.test(text[i + word.length] ?? "")) break;
    }
    type += c;
    i++;
  }
  return { name: name.name, type: type.trim() };
}

/** `a.b` / `"a"."b"` from `from`: unquoted and joined as `a.b`, and where it ends. */
export function readQualifiedName(
  text: string,
  from: number,
): { name: string; end: number; schema: string; table: string } | undefined {
  const first = readIdentifier(text, skipBlanks(text, from));
  if (!first) return undefined;
  if (text[first.end] !== ".") {
    return { name: `public.${first.name}`, end: first.end, schema: "public", table: first.name };
  }
  const second = readIdentifier(text, first.end + 1);
  if (!second) return undefined;
  return {
    name: `${first.name}.${second.name}`,
    end: second.end,
    schema: first.name,
    table: second.name,
  };
}

/** A PostgreSQL identifier at `from`: `"…"` (doubled quotes) or a bare word; unquoted. */
export function readIdentifier(
  text: string,
  from: number,
): { name: string; end: number } | undefined {
  if (text[from] === '"') {
    const end = closingQuote(text, from);
    return { name: text.slice(from + 1, end - 1).replaceAll('""', '"'), end };
  }
  const match = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/.exec(
    text.slice(from, from + 256),
  );
  return match ? { name: match[0], end: from + match[0].length } : undefined;
}

/** The index after the quote that closes the one at `from` (`""` inside is kept). */
function closingQuote(text: string, from: number): number {
  let i = from + 1;
  for (;;) {
    const end = text.indexOf('"', i);
    if (end < 0) return text.length;
    if (text[end + 1] === '"') {
      i = end + 2;
      continue;
    }
    return end + 1;
  }
}

function skipBlanks(text: string, from: number): number {
  let i = from;
  while (i < text.length && /\s/.test(text[i])) i++;
  return i;
}

/** The index of the `)` that closes the `(` at `open`, quotes skipped. */
function matchingParen(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      i = end < 0 ? text.length : end;
    } else if (c === "(") depth++;
    else if (c === ")" && --depth === 0) return i;
  }
  return text.length;
}

/** Splits at commas outside parentheses and quotes. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      i = end < 0 ? text.length : end;
    } else if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}
