/**
 * Table data as pg_dump writes it: `COPY ... FROM stdin;`, the rows exactly as the server's
 * `COPY ... TO STDOUT` text format renders them, and `\.`. Rows are counted while they pass
 * (each ends in a newline; newlines inside values are escaped by the format).
 */
import type postgres from "npm:postgres@3.4.9";
import type { ChunkBuffer } from "../chunk_buffer.ts";
import type { TableData } from "./_model.ts";
import { itemComment } from "./_script.ts";

/** Rows and bytes one table's COPY block held. */
export interface CopyStats {
  rows: number;
  bytes: number;
}

const NEWLINE = 0x0a;
/** The first block of a table's rows in {@linkcode copyBlocks}; later ones grow to the full size. */
const FIRST_BLOCK_BYTES = 8 * 1024;

/** `"s"."t" (a, b)`, or `"s"."t"` for a table without columns (pg_dump writes no list then). */
export function copyTarget(table: TableData): string {
  return table.columns.length === 0
    ? table.qualifiedName
    : `${table.qualifiedName} (${table.columns.join(", ")})`;
}

/**
 * What `COPY ... TO STDOUT` reads: the table, or for an extension's configuration table only the
 * rows its filter selects (the extension's own rows come back with `CREATE EXTENSION`).
 */
function copySource(table: TableData): string {
  if (table.where === undefined) return copyTarget(table);
  const columns = table.columns.length === 0 ? "*" : table.columns.join(", ");
  return `(SELECT ${columns} FROM ${table.qualifiedName} ${table.where})`;
}

/** The comment and `COPY ... FROM stdin;` line that open a table's block in the script. */
export function copyHeader(table: TableData & { owner?: string }): string {
  return itemComment(
    { name: table.name, kind: "TABLE DATA", schema: table.schema, owner: table.owner },
    "Data for ",
  ) + `COPY ${copyTarget(table)} FROM stdin;\n`;
}

/** What closes a table's block: the `\.` line and pg_dump's blank lines. */
export const COPY_TRAILER = "\\.\n\n\n";

/**
 * Streams one table's rows into `out` as a COPY block. `afterStream` runs when the server's
 * stream has ended (the postgres.js socket workaround); `onRows` reports progress now and then.
 */
export async function copyTableOut(
  tx: postgres.TransactionSql | postgres.Sql,
  table: TableData & { owner?: string },
  out: ChunkBuffer,
  afterStream: () => void,
  onRows?: (rows: number) => void,
): Promise<CopyStats> {
  const start = out.total;
  await out.writeText(copyHeader(table));
  let reported = 0;
  const rows = await copyRows(tx, table, (chunk, rows) => {
    if (onRows && rows - reported >= 10_000) {
      reported = rows;
      onRows(rows);
    }
    return out.write(chunk);
  }, afterStream);
  await out.writeText(COPY_TRAILER);
  onRows?.(rows);
  return { rows, bytes: out.total - start };
}

/**
 * Runs `COPY ... TO STDOUT` for `table` and hands the rows to `onData` as they arrive (views of
 * the driver's buffers: copy what you keep), with the rows counted so far; a promise returned
 * pauses the stream until it settles. Resolves with the number of rows.
 */
export async function copyRows(
  tx: postgres.TransactionSql | postgres.Sql,
  table: TableData,
  onData: (chunk: Uint8Array, rows: number) => Promise<void> | undefined,
  afterStream: () => void,
): Promise<number> {
  const stream = await tx.unsafe(`COPY ${copySource(table)} TO STDOUT`).readable();
  let rows = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      stream.on("data", (chunk: Uint8Array) => {
        rows += countRows(chunk);
        const pending = onData(chunk, rows);
        if (pending) {
          stream.pause();
          pending.then(() => stream.resume(), (error) => {
            stream.destroy();
            reject(error);
          });
        }
      });
      stream.once("end", resolve);
      stream.once("error", reject);
    });
  } finally {
    afterStream();
  }
  return rows;
}

/**
 * Options of {@linkcode copyBlocks}.
 */
export interface CopyBlocksOptions {
  /** Bytes per block handed on. Default 256 KiB. */
  blockBytes?: number;
  /** Called with the rows copied so far, after each block. */
  onRows?: (rows: number) => void;
}

/**
 * Like {@linkcode copyRows}, but the rows are gathered into blocks of their own (`blockBytes`,
 * or one row when a row is larger), which `onBlock` may keep: a queue of blocks costs one entry
 * per few hundred KiB instead of one per row.
 */
export async function copyBlocks(
  tx: postgres.TransactionSql | postgres.Sql,
  table: TableData,
  onBlock: (block: Uint8Array) => Promise<void> | undefined,
  afterStream: () => void,
  options: CopyBlocksOptions = {},
): Promise<number> {
  const size = options.blockBytes ?? 256 * 1024;
  // Blocks start small and grow: most tables of a schema-heavy database hold a few rows, and a
  // quarter MiB each for 500 of them was 130 MB of memory the collector freed late.
  let block = new Uint8Array(Math.min(size, FIRST_BLOCK_BYTES));
  let length = 0;
  const hand = (bytes: Uint8Array, rows: number) => {
    const pending = onBlock(bytes);
    options.onRows?.(rows);
    return pending;
  };
  const rows = await copyRows(tx, table, (chunk, rows) => {
    if (length + chunk.length <= block.length) {
      block.set(chunk, length);
      length += chunk.length;
      return undefined;
    }
    if (length + chunk.length <= size) {
      const grown = new Uint8Array(
        Math.min(size, Math.max(2 * block.length, length + chunk.length)),
      );
      grown.set(block.subarray(0, length));
      grown.set(chunk, length);
      block = grown;
      length += chunk.length;
      return undefined;
    }
    let pending: Promise<void> | undefined;
    if (length > 0) {
      pending = hand(block.subarray(0, length), rows);
      block = new Uint8Array(size);
      length = 0;
    }
    if (chunk.length > size) {
      const own = new Uint8Array(chunk); // a copy: the driver reuses its buffers
      if (pending) return pending.then(() => hand(own, rows));
      return hand(own, rows);
    }
    block.set(chunk, 0);
    length = chunk.length;
    return pending;
  }, afterStream);
  // The last block, cut to size when that frees much: a spool may hold it a while.
  if (length > 0) {
    await hand(
      length < block.length / 2 ? block.slice(0, length) : block.subarray(0, length),
      rows,
    );
  }
  return rows;
}

/**
 * Rows in a piece of COPY output. The server sends "CopyData messages (always one per row)"
 * (protocol docs, COPY operations) and postgres.js hands on one message per `data` event, so a
 * piece ending in a newline is one row (newlines inside values are escaped by the format);
 * anything else is counted newline by newline.
 */
function countRows(chunk: Uint8Array): number {
  if (chunk[chunk.length - 1] === NEWLINE) return 1;
  let rows = 0;
  for (
    let at = indexOf.call(chunk, NEWLINE);
    at !== -1;
    at = indexOf.call(chunk, NEWLINE, at + 1)
  ) {
    rows++;
  }
  return rows;
}

/** The typed array's own search: the node `Buffer` one is several times slower in Deno. */
const indexOf = Uint8Array.prototype.indexOf;
