/**
 * `extract`: the rows of one table of a backup, without restoring the database ("someone deleted
 * some users": put those rows back). The backup is read once, streaming, checked against its
 * SHA-256 by the end (a mismatch fails the extract after the rows were read; with an output file
 * nothing is left), decrypted when encrypted. Memory stays flat whatever the backup's size: one
 * statement (SQLite) or one line (PostgreSQL) at a time, a `WHERE` evaluated in a temporary
 * SQLite file or a scratch PostgreSQL database holding that table alone.
 */
import type { BackupMeta } from "../backup_file.ts";
import type { ServiceContext } from "../context.ts";
import { BackupManagerError, ExitCode } from "../errors.ts";
import { closest } from "../../config/_suggest.ts";
import { backupMeta, backupText } from "./backup_sql.ts";
import { readQualifiedName } from "./pg_schema.ts";
import { extractSqliteRows } from "./sqlite_rows.ts";
import { extractPostgresRows } from "./pg_rows.ts";
import { type ExtractFormat, type SqliteRowWriter, sqliteRowWriter } from "./sqlite_format.ts";
import { type PgRowWriter, pgRowWriter } from "./pg_format.ts";
import { TextOut, type TextSink } from "./text_out.ts";

export type { ExtractFormat } from "./sqlite_format.ts";

/** The table asked for is not in the backup (exit 3, as a backup or database not found). */
export class TableNotFoundError extends BackupManagerError {
  override readonly exitCode: number = ExitCode.NotFound;
}

/** Options of {@linkcode extractTable}. */
export interface ExtractOptions {
  /** The table: SQLite its name; PostgreSQL `schema.name` (`name` alone: in `public`). */
  table: string;
  /** An SQL condition the engine evaluates on the table's rows. Default: every row. */
  where?: string;
  /** Default `sql`. */
  format?: ExtractFormat;
  /** Receives the output text. */
  sink: TextSink;
  /** `PG*` variables for the scratch database of a PostgreSQL `where`. Default none. */
  env?: Record<string, string | undefined>;
  /** Directory of the temporary database of a SQLite `where`. Default the system's. */
  tempDir?: string;
}

/** What an extract wrote. */
export interface ExtractResult {
  backup: string;
  /** The table as the backup names it. */
  table: string;
  rows: number;
}

/** Writes the rows of one table of backup `query` to `options.sink`. */
export async function extractTable(
  context: ServiceContext,
  query: string,
  options: ExtractOptions,
): Promise<ExtractResult> {
  const meta = await backupMeta(context, query, "extract from");
  const table = tableOf(meta, options.table);
  const format = options.format ?? "sql";
  const out = new TextOut(options.sink);
  let rows = 0;
  let found: boolean;
  if (meta.engine === "sqlite") {
    // byte for byte: a literal may hold text that is not UTF-8 (see `extractSqliteRows`)
    const text = backupText(context, meta, "extract from", "bytes");
    found = await extractSqliteRows(text, table, (columns) => {
      const writer = sqliteRowWriter(format, table, columns, out);
      return counting(writer, () => rows++);
    }, { where: options.where, tempDir: options.tempDir, backup: meta.id });
  } else {
    const text = backupText(context, meta, "extract from");
    found = await extractPostgresRows(text, table, (types) => {
      const writer = pgRowWriter(format, types, out);
      return countingLines(writer, () => rows++);
    }, {
      where: options.where,
      engine: context.engine,
      location: context.database,
      env: options.env ?? {},
      backup: meta.id,
    });
  }
  if (!found) {
    throw new TableNotFoundError(
      `Cannot extract table "${table}" from backup "${meta.id}": its data is not in the backup ` +
        "(a schema-only backup, or a virtual table whose rows live in its shadow tables)",
    );
  }
  await out.flush();
  return { backup: meta.id, table, rows };
}

/**
 * The backup's name of the table `name` means: as the sidecar lists it, or for PostgreSQL a
 * bare name in `public` and quoted names (`"Odd s"."t x"`) unquoted. Otherwise a one-line
 * {@linkcode TableNotFoundError} with the nearest names.
 */
export function tableOf(meta: BackupMeta, name: string): string {
  const names = meta.tables.map((t) => t.name);
  if (names.includes(name)) return name;
  if (meta.engine === "postgres") {
    const parsed = readQualifiedName(name, 0);
    if (parsed && parsed.end === name.length && names.includes(parsed.name)) return parsed.name;
    if (names.includes(`public.${name}`)) return `public.${name}`;
  }
  const near = closest(name, names) ??
    closest(name, names.map((n) => n.slice(n.indexOf(".") + 1)));
  const suggestion = near ? `did you mean "${names.find((n) => n.endsWith(near)) ?? near}"?` : "";
  const listed = names.slice(0, 8).map((n) => `"${n}"`).join(", ") +
    (names.length > 8 ? `, … (${names.length} tables)` : "");
  throw new TableNotFoundError(
    `Cannot extract table "${name}" from backup "${meta.id}": the backup has no such table (${
      suggestion || `it holds ${listed || "no tables"}`
    })`,
  );
}

function counting(writer: SqliteRowWriter, count: () => void): SqliteRowWriter {
  return {
    begin: (columns) => writer.begin(columns),
    row: (values) => {
      count();
      return writer.row(values);
    },
  };
}

function countingLines(writer: PgRowWriter, count: () => void): PgRowWriter {
  return {
    begin: (header) => writer.begin(header),
    line: (line) => {
      count();
      return writer.line(line);
    },
    end: () => writer.end(),
  };
}
