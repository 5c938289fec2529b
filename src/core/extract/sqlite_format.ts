/**
 * Rows of a SQLite table written as `sql` (INSERT statements that put them back exactly), `csv`
 * or `jsonl`. Values come as `node:sqlite` reads them with big integers on: `bigint` (INTEGER),
 * `number` (REAL), `string` (TEXT), `Uint8Array` (BLOB), `null`.
 */
import { Buffer } from "node:buffer";
import { base64, csvLine } from "./csv.ts";
import type { TextOut } from "./text_out.ts";

/** A stored SQLite value; text that is not valid UTF-8 comes as {@linkcode InvalidText}. */
export type SqliteValue = null | bigint | number | string | Uint8Array | InvalidText;

/**
 * TEXT whose bytes are not valid UTF-8: `sql` writes its bytes exactly (`CAST(X'…' AS TEXT)`),
 * csv and jsonl the text with U+FFFD for each invalid sequence.
 */
export class InvalidText {
  constructor(readonly bytes: Uint8Array) {}

  toString(): string {
    return new TextDecoder().decode(this.bytes);
  }
}

/** The output formats of `extract`. */
export type ExtractFormat = "sql" | "csv" | "jsonl";

/** Writes rows of one table in one format. */
export interface SqliteRowWriter {
  /** Called once, before the first row, with the columns rows hold (in order). */
  begin(columns: readonly string[]): Promise<void> | undefined;
  row(values: readonly SqliteValue[]): Promise<void> | undefined;
}

/**
 * A writer of `format` for table `table` into `out`. `sql` writes one `INSERT INTO "t"(…)
 * VALUES(…);` per row, values as exact literals; `csv` a header line then the rows; `jsonl` one
 * object per row (see {@linkcode jsonValue}). `columns` named `rowid` that the table does not
 * have (the rowids our dump keeps) are written by `sql` only.
 */
export function sqliteRowWriter(
  format: ExtractFormat,
  table: string,
  tableColumns: readonly string[],
  out: TextOut,
): SqliteRowWriter {
  let keep: number[] = [];
  let names: string[] = [];
  let prefix = "";
  return {
    begin(columns) {
      keep = columns.map((_, i) => i).filter((i) =>
        format === "sql" || tableColumns.includes(columns[i]) ||
        !/^(?:rowid|_rowid_|oid)$/i.test(columns[i])
      );
      names = keep.map((i) => columns[i]);
      if (format === "sql") {
        prefix = `INSERT INTO ${quoteIdentifier(table)}(${
          names.map(quoteIdentifier).join(",")
        }) VALUES(`;
        return undefined;
      }
      return format === "csv" ? out.write(csvLine(names)) : undefined;
    },
    row(values) {
      if (format === "sql") {
        return out.write(prefix + keep.map((i) => sqlLiteral(values[i])).join(",") + ");\n");
      }
      if (format === "csv") return out.write(csvLine(keep.map((i) => csvText(values[i]))));
      const object: Record<string, unknown> = {};
      keep.forEach((i, k) => object[names[k]] = jsonValue(values[i]));
      return out.write(JSON.stringify(object) + "\n");
    },
  };
}

/** Quotes an identifier for SQLite. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * `value` as an SQL literal SQLite reads back to the identical value: integers in decimal,
 * REALs in the shortest form that round-trips (always with a `.` or exponent, so they stay REAL;
 * `-0.0`; `9.0e+999` for infinity), blobs in hex, text quoted, or in hex through a CAST when it
 * holds NUL or CR (which the `sqlite3` shell would cut or drop).
 */
export function sqlLiteral(value: SqliteValue): string {
  if (value === null) return "NULL";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return realLiteral(value);
  if (value instanceof InvalidText) return `CAST(X'${hex(value.bytes)}' AS TEXT)`;
  if (typeof value === "string") {
    if (/[\0\r]/.test(value)) return `CAST(X'${hex(new TextEncoder().encode(value))}' AS TEXT)`;
    return `'${value.replaceAll("'", "''")}'`;
  }
  return `X'${hex(value)}'`;
}

function realLiteral(value: number): string {
  if (Object.is(value, -0)) return "-0.0";
  if (value === Infinity) return "9.0e+999";
  if (value === -Infinity) return "-9.0e+999";
  const text = String(value);
  return /[.e]/.test(text) ? text : `${text}.0`;
}

/** csv: integers and REALs as numbers (`Infinity`, `-0.0` spelled so), text as is, blobs base64. */
function csvText(value: SqliteValue): string | null {
  if (value === null) return null;
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    return Object.is(value, -0) ? "-0.0" : String(value);
  }
  if (typeof value === "string") return value;
  if (value instanceof InvalidText) return value.toString();
  return base64(value);
}

/**
 * jsonl: INTEGER a number, or a string when beyond ±(2^53 − 1) (JSON readers lose such
 * integers); REAL a number, `"Infinity"` / `"-Infinity"` as strings (JSON has none); TEXT a
 * string; BLOB a base64 string; NULL `null`.
 */
export function jsonValue(value: SqliteValue): unknown {
  if (value === null || typeof value === "string") return value;
  if (typeof value === "bigint") {
    return value >= -MAX_SAFE && value <= MAX_SAFE ? Number(value) : value.toString();
  }
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (value instanceof InvalidText) return value.toString();
  return base64(value);
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")
    .toUpperCase();
}
