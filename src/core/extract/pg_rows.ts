/**
 * The rows of one table of a PostgreSQL dump: its `COPY … FROM stdin;` block, found by its
 * header, passed through line by line. With a `WHERE` condition the block is loaded into a
 * scratch database holding only that table (its columns and types: no constraint, no reference
 * to other tables; a type the scratch lacks, such as an enum of the source, becomes `text`)
 * and the server selects the rows: `COPY (SELECT … WHERE …) TO STDOUT`.
 */
import { once } from "node:events";
import type { Writable } from "node:stream";
import { PostgresSchema, readQualifiedName } from "./pg_schema.ts";
import { type CopyHeader, parseCopyHeader, type PgRowWriter } from "./pg_format.ts";
import type { Column } from "./columns.ts";
import { textLines } from "./backup_sql.ts";
import { UsageError } from "../errors.ts";
import type { Engine, ScratchDatabase } from "../../engines/engine.ts";
import {
  type Connection,
  openConnection,
  parseLocation,
  withDatabase,
} from "../../engines/postgres/postgres_engine.ts";

/** Options of {@linkcode extractPostgresRows}. */
export interface PostgresRowsOptions {
  where?: string;
  /** The engine whose scratch database `where` uses, and the location it belongs to. */
  engine: Engine;
  location: string;
  /** `PG*` variables for the scratch connection (as the engine has them). */
  env: Record<string, string | undefined>;
  backup: string;
}

/** What the writer is told before the rows: the header and the columns' declared types. */
export type PgWriterFactory = (types: ReadonlyMap<string, string>) => PgRowWriter;

/**
 * Reads the dump's lines and writes the rows of `table` (`schema.name`). Returns whether the
 * table's block was found. Reads to the end either way (the caller's checksum check).
 */
export async function extractPostgresRows(
  sql: AsyncIterable<string>,
  table: string,
  writerFor: PgWriterFactory,
  options: PostgresRowsOptions,
): Promise<boolean> {
  const schema = new PostgresSchema();
  let inData = false;
  let block: "ours" | "other" | undefined;
  let writer: PgRowWriter | undefined;
  let load: ScratchLoad | undefined;
  let found = false;
  try {
    for await (const line of textLines(sql)) {
      if (block !== undefined) {
        if (line === "\\.") {
          if (block === "ours") await (load ? load.end() : writer!.end());
          block = undefined;
        } else if (block === "ours") await (load ? load.line(line) : writer!.line(line));
        continue;
      }
      const header = line.startsWith("COPY ") ? parseCopyHeader(line) : undefined;
      if (!header) {
        if (!inData) schema.line(line);
        continue;
      }
      inData = true;
      if (header.name !== table || found) {
        block = "other";
        continue;
      }
      found = true;
      block = "ours";
      const columns = schema.tables().get(table) ?? [];
      writer = writerFor(new Map(columns.map((c) => [c.name, c.type])));
      if (options.where === undefined) await writer.begin(header);
      else load = await ScratchLoad.open(header, columns, options);
    }
    if (load && writer) await load.select(writer);
    return found;
  } finally {
    await load?.close();
  }
}

/** One table in a scratch database, for `--where`. */
class ScratchLoad {
  readonly #scratch: ScratchDatabase;
  readonly #connection: Connection;
  readonly #header: CopyHeader;
  readonly #where: string;
  #copy: Writable | undefined;
  #pending: string[] = [];
  #pendingLength = 0;

  private constructor(
    scratch: ScratchDatabase,
    connection: Connection,
    header: CopyHeader,
    where: string,
  ) {
    this.#scratch = scratch;
    this.#connection = connection;
    this.#header = header;
    this.#where = where;
  }

  static async open(
    header: CopyHeader,
    columns: Column[],
    options: PostgresRowsOptions,
  ): Promise<ScratchLoad> {
    const scratch = await options.engine.createScratch();
    let connection: Connection | undefined;
    try {
      const config = withDatabase(parseLocation(options.location, options.env), scratch.location);
      connection = openConnection(config);
      const load = new ScratchLoad(scratch, connection, header, options.where!);
      await load.#create(columns, options.backup);
      return load;
    } catch (error) {
      await connection?.end();
      await scratch.drop();
      throw error;
    }
  }

  async #create(columns: Column[], backup: string): Promise<void> {
    const sql = this.#connection.sql;
    const schema = quoteIdent(readQualifiedName(this.#header.target, 0)?.schema ?? "public");
    const definitions: string[] = [];
    const byName = new Map(columns.map((c) => [c.name, c.type]));
    for (const name of this.#header.columns) {
      const type = byName.get(name) ?? "text";
      const [{ known }] = await sql`SELECT pg_catalog.to_regtype(${type}) IS NOT NULL AS known`;
      definitions.push(`${quoteIdent(name)} ${known ? type : "text"}`);
    }
    await sql.unsafe(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await sql.unsafe(`CREATE TABLE ${this.#header.target} (${definitions.join(", ")})`);
    try {
      await sql.unsafe(`SELECT 1 FROM ${this.#header.target} WHERE (${this.#where}) LIMIT 0`);
    } catch (error) {
      throw new UsageError(
        `Cannot extract from backup "${backup}": --where is not a condition PostgreSQL can ` +
          `evaluate on table "${this.#header.name}" (${
            error instanceof Error ? error.message : error
          })`,
      );
    }
    this.#copy = await sql.unsafe(
      `COPY ${this.#header.target}${this.#header.columnList} FROM STDIN`,
    ).writable();
  }

  async line(line: string): Promise<void> {
    this.#pending.push(line, "\n");
    this.#pendingLength += line.length + 1;
    if (this.#pendingLength >= 256 * 1024) await this.#flush();
  }

  async #flush(): Promise<void> {
    const text = this.#pending.join("");
    this.#pending = [];
    this.#pendingLength = 0;
    if (text.length > 0 && !this.#copy!.write(text)) await once(this.#copy!, "drain");
  }

  async end(): Promise<void> {
    await this.#flush();
    const copy = this.#copy!;
    const finished = once(copy, "finish");
    copy.end();
    await finished;
  }

  /** Selects the rows and hands them to `writer`, after the whole backup was read. */
  async select(writer: PgRowWriter): Promise<void> {
    const h = this.#header;
    const list = h.columnList === "" ? "*" : h.columnList.slice(2, -1);
    const stream = await this.#connection.sql.unsafe(
      `COPY (SELECT ${list} FROM ${h.target} WHERE (${this.#where})) TO STDOUT`,
    ).readable();
    await writer.begin(h);
    try {
      const decoder = new TextDecoder();
      let rest = "";
      for await (const chunk of stream as AsyncIterable<Uint8Array>) {
        const text = rest + decoder.decode(chunk, { stream: true });
        const lines = text.split("\n");
        rest = lines.pop()!;
        for (const line of lines) await writer.line(line);
      }
      if (rest.length > 0) await writer.line(rest);
    } finally {
      this.#connection.resumeSockets(); // postgres.js#499: the next query would hang
    }
    await writer.end();
  }

  async close(): Promise<void> {
    try {
      await this.#connection.end();
    } finally {
      await this.#scratch.drop();
    }
  }
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
