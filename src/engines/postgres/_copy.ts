/**
 * Table data as pg_dump writes it: `COPY ... FROM stdin;`, the rows exactly as the server's
 * `COPY ... TO STDOUT` text format renders them, and `\.`. Rows are counted while they pass
 * (each ends in a newline; newlines inside values are escaped by the format).
 */
import type postgres from "postgres";
import type { ChunkBuffer } from "../chunk_buffer.ts";
import type { TableData } from "./_model.ts";
import { itemComment } from "./_script.ts";

/** Rows and bytes one table's COPY block held. */
export interface CopyStats {
  rows: number;
  bytes: number;
}

const NEWLINE = 0x0a;

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
  const target = copyTarget(table);
  const start = out.total;
  await out.writeText(
    itemComment(
      { name: table.name, kind: "TABLE DATA", schema: table.schema, owner: table.owner },
      "Data for ",
    ) + `COPY ${target} FROM stdin;\n`,
  );
  const stream = await tx.unsafe(`COPY ${copySource(table)} TO STDOUT`).readable();
  let rows = 0;
  let reported = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      stream.on("data", (chunk: Uint8Array) => {
        let at = chunk.indexOf(NEWLINE);
        while (at !== -1) {
          rows++;
          at = chunk.indexOf(NEWLINE, at + 1);
        }
        if (onRows && rows - reported >= 10_000) {
          reported = rows;
          onRows(rows);
        }
        const pending = out.write(chunk);
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
  await out.writeText("\\.\n\n\n");
  onRows?.(rows);
  return { rows, bytes: out.total - start };
}
