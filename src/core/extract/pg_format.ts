/**
 * Rows of a PostgreSQL table, as lines of `COPY … TO STDOUT` text format, written as `sql` (a
 * `COPY … FROM stdin;` block that puts them back exactly: the lines as the server wrote them),
 * `csv` or `jsonl` (fields unescaped, typed by the column's declared type).
 */
import { Buffer } from "node:buffer";
import { base64, csvLine } from "./csv.ts";
import type { ExtractFormat } from "./sqlite_format.ts";
import type { TextOut } from "./text_out.ts";

/** A `COPY target (columns) FROM stdin;` line: its target as written and the column names. */
export interface CopyHeader {
  /** The target as the dump wrote it: `public.users`, `"Odd s"."t x"`. */
  target: string;
  /** `schema.name`, unquoted. */
  name: string;
  /** The column list as written (`(a, "B")`), or empty for a table without columns. */
  columnList: string;
  columns: string[];
}

/** Writes rows of one table in one format. */
export interface PgRowWriter {
  begin(header: CopyHeader): Promise<void> | undefined;
  /** One row: a line of COPY text format, without its `\n`. */
  line(line: string): Promise<void> | undefined;
  end(): Promise<void> | undefined;
}

/** A writer of `format` into `out`; `types` are the columns' declared types by name. */
export function pgRowWriter(
  format: ExtractFormat,
  types: ReadonlyMap<string, string>,
  out: TextOut,
): PgRowWriter {
  let columns: string[] = [];
  let kinds: JsonKind[] = [];
  return {
    begin(header) {
      columns = header.columns;
      kinds = columns.map((c) => jsonKind(types.get(c) ?? "text"));
      if (format === "sql") {
        return out.write(`COPY ${header.target}${header.columnList} FROM stdin;\n`);
      }
      return format === "csv" ? out.write(csvLine(columns)) : undefined;
    },
    line(line) {
      if (format === "sql") return out.write(line + "\n");
      const fields = copyFields(line);
      if (format === "csv") return out.write(csvLine(fields));
      const object: Record<string, unknown> = {};
      fields.forEach((field, i) => object[columns[i]] = jsonField(field, kinds[i]));
      return out.write(JSON.stringify(object) + "\n");
    },
    end() {
      return format === "sql" ? out.write("\\.\n") : undefined;
    },
  };
}

/** The fields of one COPY text line, unescaped; `\N` is `null`. */
export function copyFields(line: string): (string | null)[] {
  return line.split("\t").map((field) => field === "\\N" ? null : unescapeCopy(field));
}

const SIMPLE_ESCAPES: Record<string, string> = {
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
};

/**
 * Undoes COPY text format's escapes (`\\`, `\t`, `\n`, …, `\123` octal, `\x7f` hex; any other
 * escaped character stands for itself). Octal and hex escapes give one byte each, read as a
 * character code (the server writes them only for ASCII control characters).
 */
export function unescapeCopy(field: string): string {
  if (!field.includes("\\")) return field;
  return field.replace(/\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|([\s\S]))/g, (_, oct, hex, c) => {
    if (oct !== undefined) return String.fromCharCode(parseInt(oct, 8) & 0xff);
    if (hex !== undefined) return String.fromCharCode(parseInt(hex, 16));
    return SIMPLE_ESCAPES[c] ?? c;
  });
}

/** How jsonl writes a column's values. */
type JsonKind = "integer" | "float" | "boolean" | "json" | "bytea" | "text";

function jsonKind(type: string): JsonKind {
  if (type.endsWith("]")) return "text"; // arrays: their literal, e.g. {1,2}
  if (/^(?:smallint|integer|bigint|oid)$/.test(type)) return "integer";
  if (/^(?:real|double precision)$/.test(type)) return "float";
  if (type === "boolean") return "boolean";
  if (type === "json" || type === "jsonb") return "json";
  if (type === "bytea") return "bytea";
  return "text";
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * jsonl: smallint, integer, bigint and oid a number (a bigint beyond ±(2^53 − 1) a string),
 * real and double precision a number (`NaN`, `Infinity`, `-Infinity` strings), boolean
 * `true`/`false`, json and jsonb the JSON value itself, bytea base64, everything else (numeric,
 * dates and times, arrays, enums, …) its text as the server writes it; NULL `null`.
 */
export function jsonField(field: string | null, kind: JsonKind): unknown {
  if (field === null) return null;
  switch (kind) {
    case "integer": {
      const value = BigInt(field);
      return value >= -MAX_SAFE && value <= MAX_SAFE ? Number(value) : field;
    }
    case "float": {
      const value = Number(field);
      return Number.isFinite(value) ? value : field;
    }
    case "boolean":
      return field === "t";
    case "json":
      return JSON.parse(field);
    case "bytea":
      return field.startsWith("\\x") ? base64(Buffer.from(field.slice(2), "hex")) : field;
    default:
      return field;
  }
}

/** Parses a `COPY target (a, b) FROM stdin;` line of a dump; `undefined` when it is not one. */
export function parseCopyHeader(line: string): CopyHeader | undefined {
  const match = /^COPY (.+?)( \((.*)\))? FROM stdin;$/.exec(line);
  if (!match) return undefined;
  const target = match[1];
  const name = unquoteQualified(target);
  if (name === undefined) return undefined;
  const columns = match[3] === undefined ? [] : splitIdentifiers(match[3]);
  return { target, name, columnList: match[2] ?? "", columns };
}

/** `"a b".c` → `a b.c`; a bare name is in `public`. */
function unquoteQualified(text: string): string | undefined {
  const parts = splitIdentifiers(text, ".");
  if (parts.length === 1) return `public.${parts[0]}`;
  return parts.length === 2 ? `${parts[0]}.${parts[1]}` : undefined;
}

/** Splits `a, "b,c", d` (or with `.`) into unquoted identifiers. */
function splitIdentifiers(text: string, separator = ","): string[] {
  const names: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (text[i] === " ") i++;
    let name = "";
    if (text[i] === '"') {
      i++;
      for (;;) {
        const end = text.indexOf('"', i);
        if (end < 0) return names;
        name += text.slice(i, end);
        if (text[end + 1] === '"') {
          name += '"';
          i = end + 2;
          continue;
        }
        i = end + 1;
        break;
      }
    } else {
      const end = text.indexOf(separator, i);
      name = text.slice(i, end < 0 ? text.length : end).trim();
      i = end < 0 ? text.length : end;
    }
    names.push(name);
    while (text[i] === " ") i++;
    if (text[i] === separator) i++;
  }
  return names;
}
