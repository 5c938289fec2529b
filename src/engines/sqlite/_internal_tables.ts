/**
 * The rows of SQLite's own tables that a dump carries: `sqlite_sequence` (AUTOINCREMENT
 * counters) and the planner's statistics (`sqlite_stat1`, `sqlite_stat4`, an old `sqlite_stat3`),
 * as they are, rowids included.
 */
import type { DatabaseSync } from "node:sqlite";
import type { ChunkBuffer } from "../chunk_buffer.ts";
import { commaJoined, literalExpression, quoteIdentifier } from "./_sql.ts";
import type { SchemaEntry } from "./_schema.ts";

/** Options of {@linkcode writeInternalTables}. */
export interface InternalTablesOptions {
  /** UTF-8 databases hand rendered SQL over as bytes; UTF-16 ones as strings. */
  utf8: boolean;
  /**
   * The tables a dump of some tables keeps: only the rows about them are written (a statistics
   * sample holds values of the table it describes, which `--exclude-table` keeps out of the
   * backup). Default: all rows.
   */
  kept?: Set<string>;
}

/** Bytes of SQL per INSERT statement (these tables are small). */
const STATEMENT_BYTES = 256 << 10;

/**
 * Writes the rows of `sqlite_sequence` and of the statistics tables that `schema` (the source's)
 * has, each after the statements that prepare it on the restored side.
 */
export async function writeInternalTables(
  db: DatabaseSync,
  out: ChunkBuffer,
  schema: SchemaEntry[],
  options: InternalTablesOptions,
): Promise<void> {
  const has = (name: string) => schema.some((e) => e.type === "table" && e.name === name);
  if (has("sqlite_sequence")) {
    await out.writeText("DELETE FROM sqlite_sequence;\n");
    await writeRows(db, out, "sqlite_sequence", "name", options);
  }
  await writeStatistics(db, out, schema, options);
}

/**
 * The planner's statistics. `ANALYZE sqlite_schema` creates the tables this build of SQLite keeps
 * (and gathers nothing: system tables are never analysed), as `sqlite3 .dump` does; a build
 * without STAT4 (the stock shell) refuses to create `sqlite_stat4` unless the schema is writable,
 * and then keeps it as the plain table it is. ANALYZE makes `sqlite_stat1` (and with STAT4
 * `sqlite_stat4`) even where the source has none: such a table is dropped again.
 */
async function writeStatistics(
  db: DatabaseSync,
  out: ChunkBuffer,
  schema: SchemaEntry[],
  options: InternalTablesOptions,
): Promise<void> {
  const tables = schema.filter((e) => e.type === "table" && /^sqlite_stat\d$/.test(e.name));
  if (tables.length === 0) return;
  await out.writeText("ANALYZE sqlite_schema;\n");
  for (const made of ["sqlite_stat1", "sqlite_stat4"]) {
    if (!tables.some((t) => t.name === made)) {
      await out.writeText(`DROP TABLE IF EXISTS ${made};\n`);
    }
  }
  for (const table of tables) {
    const prefix = "CREATE TABLE ";
    if (table.name !== "sqlite_stat1" && table.sql?.startsWith(prefix)) {
      await out.writeText(
        "PRAGMA writable_schema=ON;\n" +
          `CREATE TABLE IF NOT EXISTS ${table.sql.slice(prefix.length)};\n` +
          "PRAGMA writable_schema=OFF;\n",
      );
    }
    await out.writeText(`DELETE FROM ${table.name};\n`);
    await writeRows(db, out, table.name, "tbl", options);
  }
}

/** Writes every row of `table` (only those whose `key` names a kept table) with its rowid. */
async function writeRows(
  db: DatabaseSync,
  out: ChunkBuffer,
  table: string,
  key: string,
  options: InternalTablesOptions,
): Promise<void> {
  const q = quoteIdentifier;
  const columns = db.prepare(`SELECT name FROM pragma_table_info(?, 'main')`).all(table)
    .map((r) => String(r.name));
  const row = commaJoined(["quote(rowid)", ...columns.map((c) => literalExpression(q(c)))]);
  const where = options.kept ? ` WHERE ${q(key)} IN (SELECT value FROM json_each(?))` : "";
  const statement = db.prepare(
    `SELECT ${options.utf8 ? `CAST(${row} AS BLOB)` : row} AS b ` +
      `FROM ${q(table)}${where} ORDER BY rowid`,
  );
  const rows = options.kept
    ? statement.iterate(JSON.stringify([...options.kept]))
    : statement.iterate();
  let statementStart = -1;
  for (const { b } of rows) {
    if (statementStart >= 0 && out.total - statementStart < STATEMENT_BYTES) {
      await out.writeText("),(");
    } else {
      if (statementStart >= 0) await out.writeText(");\n");
      statementStart = out.total;
      await out.writeText(`INSERT INTO ${q(table)}(rowid,${columns.map(q).join(",")}) VALUES(`);
    }
    await (typeof b === "string" ? out.writeText(b) : out.write(b as Uint8Array));
  }
  if (statementStart >= 0) await out.writeText(");\n");
}
