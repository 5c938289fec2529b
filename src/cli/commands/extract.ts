import type { Command } from "npm:commander@15.1.0";
import { resolve } from "node:path";
import { type CommandDeps, contextFor, withIdentityOption, withLocationOptions } from "../deps.ts";
import { type ExtractFormat, extractTable } from "../../core/extract/extract.ts";
import { writeFileWhole } from "../../core/extract/output_file.ts";
import { UsageError } from "../../core/errors.ts";
import { parseFormat } from "../settings.ts";
import { inSeriesOf, withSeriesOption } from "../series.ts";

const HELP = `
Writes the rows of one table of a backup, without restoring the database: to put back rows
someone deleted. The backup is read once, streaming (memory stays flat whatever its size),
checked against its SHA-256 (a damaged backup fails, and leaves no --output file), decrypted
with --identity when encrypted.

--table: SQLite the table's name; PostgreSQL schema.name (a bare name is in "public"; quoted
names such as '"Odd s"."t x"' work too). --where: an SQL condition on the table's columns,
evaluated by the engine (SQLite: the table alone in a temporary database file; PostgreSQL: a
scratch database on the server holding that table alone, dropped after).

Formats: sql (default) puts the rows back: INSERT statements for SQLite (sqlite3 app.db < rows.sql),
a COPY block for PostgreSQL (psql -f rows.sql); csv (RFC 4180, a header line, NULL an empty field,
the empty string ""); jsonl (one JSON object per row; see the README for the types).

Examples:
  $ backup-manager extract full_20261123T101500123Z --table users --where "id IN (7, 9)" > rows.sql
  $ sqlite3 data/app.db < rows.sql
  $ backup-manager extract 1123T10 --table public.orders --format csv --output orders.csv
  $ backup-manager extract 1123T10 --table users --format jsonl --identity key.txt`;

/** Typed arguments of `extract`. */
export interface ExtractArgs {
  id: string;
  table: string;
  where?: string;
  format: ExtractFormat;
  /** `--output FILE`; absent: stdout. */
  output?: string;
  database?: string;
  dir?: string;
  identity?: string;
  /** `--series NAME`: with several databases, the series that holds the id (default: found). */
  series?: string;
}

/** Checks and types the raw options of `extract`. */
export function parseExtractArgs(id: string, raw: Record<string, unknown>): ExtractArgs {
  const table = raw.table as string | undefined;
  if (!table) throw new UsageError("Cannot extract: give the table with --table NAME");
  const where = raw.where as string | undefined;
  if (where !== undefined && where.trim() === "") {
    throw new UsageError("Cannot extract: --where is empty (leave it out for every row)");
  }
  return {
    id,
    table,
    where,
    format: parseFormat(raw.format as string | undefined, ["sql", "csv", "jsonl"] as const, "sql"),
    output: raw.output as string | undefined,
    database: raw.database as string | undefined,
    dir: raw.dir as string | undefined,
    identity: raw.identity as string | undefined,
    series: raw.series as string | undefined,
  };
}

/** Extracts one table's rows to stdout or `--output`, from the series that holds the id. */
export async function runExtract(args: ExtractArgs, deps: CommandDeps): Promise<number> {
  return await inSeriesOf(args, deps, args.id, (d) => extractOne(args, d));
}

async function extractOne(args: ExtractArgs, deps: CommandDeps): Promise<number> {
  const context = contextFor(args, deps);
  const options = {
    table: args.table,
    where: args.where,
    format: args.format,
    env: deps.io.env,
    tempDir: deps.io.env.TMPDIR || undefined,
  };
  if (args.output === undefined) {
    await extractTable(context, args.id, {
      ...options,
      sink: (text) => Promise.resolve(deps.io.stdout(text)),
    });
    return 0;
  }
  const path = resolve(deps.io.cwd ?? ".", args.output);
  const result = await writeFileWhole(
    path,
    (sink) => extractTable(context, args.id, { ...options, sink }),
  );
  deps.io.stderr(
    `Extracted ${result.rows} row(s) of "${result.table}" from "${result.backup}" to "${args.output}"\n`,
  );
  return 0;
}

/** Registers `extract`. */
export function registerExtract(program: Command, deps: CommandDeps): void {
  const command = program.command("extract")
    .description("write the rows of one table of a backup as SQL, CSV or JSON lines")
    .argument("<id>", "backup id, or any unique part of one")
    .option("--table <name>", "the table (PostgreSQL: schema.name, default schema public)")
    .option("--where <sql>", "only the rows this SQL condition selects")
    .option("--format <format>", "sql, csv or jsonl", "sql")
    .option("--output <file>", "write to this file (mode 0600, whole or not at all)");
  withSeriesOption(withLocationOptions(withIdentityOption(command)), "look in")
    .addHelpText("after", HELP)
    .action(async (id, raw) => {
      deps.setExitCode(await runExtract(parseExtractArgs(id, raw), deps));
    });
}
