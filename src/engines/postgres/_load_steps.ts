/**
 * The steps a restore runs on a connection: a batch of statements, one COPY block fed from the
 * script, and the error that names the statement the server rejected. Shared by the
 * one-transaction restore (`_restore.ts`) and the parallel load (`_fresh_load.ts`).
 */
import type postgres from "npm:postgres@3.4.9";
import type { Writable } from "node:stream";
import { IntegrityError, messageOf } from "../../core/errors.ts";
import type { ScriptSource } from "./_script_source.ts";
import type { ErrorSniffer } from "./_error_sniffer.ts";
import type { ScriptPlace, StatementPlace } from "./_script_reader.ts";

/** A session or a transaction: both run statements and COPY. */
export type Runner = postgres.Sql | postgres.TransactionSql;

const decoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** Where the statements of a batch come from, to name the one the server rejects. */
export interface BatchOrigin {
  /** Each statement's start in the batch (in UTF-8 bytes) and its place in the script. */
  places?: readonly StatementPlace[];
  /** The connection's sniffer: how many statements completed before the error. */
  sniffer?: ErrorSniffer;
}

/** Runs a batch of statements in one round trip, naming the failing one in the error. */
export async function runStatements(
  tx: Runner,
  text: string,
  origin: BatchOrigin = {},
): Promise<void> {
  origin.sniffer?.reset();
  try {
    await tx.unsafe(text).simple();
  } catch (error) {
    const place = failingPlace(text, error, origin);
    if (place) {
      const from = byteToCharIndex(text, place.offset);
      throw new ScriptError(error, firstLine(text.slice(from)), place);
    }
    // One statement (the parallel load runs them so) is named even without a position.
    const single = !text.trimEnd().slice(0, -1).includes(";\n");
    const named = failingStatement(text, error) || (single ? firstLine(text) : "");
    throw new ScriptError(error, named);
  }
}

/**
 * The place of the statement the server rejected: the one after those that completed (when the
 * sniffer saw this very error: behind TLS it sees nothing it can read), else the one the error's
 * position falls in, else the only one.
 */
export function failingPlace(
  text: string,
  error: unknown,
  origin: BatchOrigin,
): StatementPlace | undefined {
  const places = origin.places;
  if (!places?.length) return undefined;
  if (places.length === 1) return places[0];
  const seen = origin.sniffer?.first;
  if (seen && seen.message === (error as { message?: string }).message) {
    return places[Math.min(origin.sniffer!.completed, places.length - 1)];
  }
  const position = Number((error as { position?: string }).position ?? 0);
  if (position <= 0) return undefined;
  const offset = encoder.encode(text.slice(0, position - 1)).length;
  let found: StatementPlace | undefined;
  for (const p of places) if (p.offset <= offset) found = p;
  return found;
}

/** The index in `text` of the character that starts at UTF-8 byte `offset`. */
export function byteToCharIndex(text: string, offset: number): number {
  if (offset === 0) return 0;
  let bytes = 0;
  let i = 0;
  for (; i < text.length && bytes < offset; i++) {
    const c = text.charCodeAt(i);
    bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c < 0xdc00 ? (i++, 4) : 3;
  }
  return i;
}

/** A statement's first line, trimmed and shortened, for a message. */
export function firstLine(sql: string): string {
  const line = sql.trimStart().split("\n")[0].trim();
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}

/** Where a COPY block's data comes from: the next piece, or `undefined` after its `\.` line. */
export type CopyData = () => Promise<Uint8Array | undefined>;

/**
 * The data of the COPY block the script `source` is inside, piece by piece up to its end; a
 * script that ends inside the data, or holds anything else there, is a damaged backup.
 */
export function copyDataOf(source: ScriptSource, onEnd?: (rows: number) => void): CopyData {
  return async () => {
    const event = await source.next();
    if (event === undefined) {
      throw new IntegrityError(
        "Cannot restore: the SQL script ends inside COPY data (the backup is truncated)",
      );
    }
    if (event.type === "copyEnd") {
      onEnd?.(event.rows);
      return undefined;
    }
    if (event.type !== "data") throw new IntegrityError("Cannot restore: a COPY block is damaged");
    return event.bytes;
  };
}

/**
 * Feeds one COPY block's data to `COPY ... FROM STDIN`. postgres.js drops an error that arrives
 * after the end of the data and then never reports the COPY finished; so once the driver has
 * sent the end of the data, a query is queued right behind it: it fails at once if the COPY
 * failed, and the wait cannot hang. `data` is read to its end unless the server fails first.
 */
export async function copyIn(
  tx: Runner,
  sql: string,
  data: CopyData,
  sniffer: ErrorSniffer,
  place?: ScriptPlace,
) {
  sniffer.reset();
  const writable = await tx.unsafe(sql).writable() as Writable & {
    _final(callback: (error?: Error | null) => void): void;
  };
  let failure: unknown;
  const failed = new Promise<never>((_, reject) =>
    writable.once("error", (error) => reject(failure = error))
  );
  failed.catch(() => {});
  const dataSent = Promise.withResolvers<void>();
  const final = writable._final.bind(writable);
  writable._final = (callback) => {
    final(callback);
    dataSent.resolve();
  };
  try {
    for (let bytes = await data(); bytes !== undefined; bytes = await data()) {
      if (failure) break;
      if (!writable.write(bytes)) {
        await Promise.race([new Promise((resolve) => writable.once("drain", resolve)), failed]);
      }
    }
    if (failure) throw failure;
    const finished = new Promise<void>((resolve) => writable.once("finish", resolve));
    writable.end();
    await Promise.race([dataSent.promise, failed]);
    const probe = tx`SELECT 1`.then(() => {}, (error) => {
      const lost = sniffer.first;
      throw (error as { code?: string }).code === "25P02" && lost
        ? Object.assign(new Error(lost.message), lost)
        : error;
    });
    await Promise.race([Promise.all([finished, probe]), failed]);
  } catch (error) {
    throw new ScriptError(failure ?? error, firstLine(sql.replace(/\s+/g, " ")), place);
  }
}

/**
 * A statement the server rejected, with the statement's beginning and, when known, its place in
 * the script for the message.
 */
export class ScriptError extends Error {
  constructor(
    readonly original: unknown,
    readonly statement: string,
    readonly place?: ScriptPlace,
  ) {
    super(messageOf(original), { cause: original });
  }
}

/** The first line of the statement the error points at; empty when the server gave no position. */
function failingStatement(batch: string, error: unknown): string {
  const position = Number((error as { position?: string }).position ?? 0);
  if (position <= 0) return "";
  const before = batch.lastIndexOf(";\n", position - 1);
  return firstLine(batch.slice(before < 0 ? 0 : before + 2));
}

/**
 * The table a `COPY ... FROM stdin;` statement loads, named as the sidecar names tables
 * (`schema.name`, unquoted); undefined for a statement that is not one.
 */
export function copyTableName(sql: string): string | undefined {
  const match = COPY_TARGET.exec(sql);
  if (!match) return undefined;
  const unquote = (part: string) =>
    part.startsWith('"') ? part.slice(1, -1).replaceAll('""', '"') : part;
  return match[2] === undefined ? unquote(match[1]) : `${unquote(match[1])}.${unquote(match[2])}`;
}

const IDENTIFIER = String.raw`("(?:[^"]|"")*"|[^\s."(]+)`;
const COPY_TARGET = new RegExp(String.raw`^\s*COPY\s+${IDENTIFIER}(?:\.${IDENTIFIER})?[\s(]`, "i");

/** Rows each table got from the script's COPY blocks, for `checkRestored` (`restore_check.ts`). */
export class CopiedRows {
  readonly counts = new Map<string, number>();

  /** Adds the `rows` of a COPY block that `copySql` opened. */
  add(copySql: string, rows: number): void {
    const table = copyTableName(copySql) ?? copySql;
    this.counts.set(table, (this.counts.get(table) ?? 0) + rows);
  }
}

export function decodeScript(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new IntegrityError("Cannot restore: the SQL script is not valid UTF-8 (damaged backup)");
  }
}
