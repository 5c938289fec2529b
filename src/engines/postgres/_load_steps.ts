/**
 * The steps a restore runs on a connection: a batch of statements, one COPY block fed from the
 * script, and the error that names the statement the server rejected. Shared by the
 * one-transaction restore (`_restore.ts`) and the parallel load (`_fresh_load.ts`).
 */
import type postgres from "postgres";
import type { Writable } from "node:stream";
import { IntegrityError, messageOf } from "../../core/errors.ts";
import type { ScriptSource } from "./_script_source.ts";
import type { ErrorSniffer } from "./_error_sniffer.ts";

/** A session or a transaction: both run statements and COPY. */
export type Runner = postgres.Sql | postgres.TransactionSql;

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Runs a batch of statements in one round trip, naming the failing one in the error. */
export async function runStatements(tx: Runner, text: string): Promise<void> {
  try {
    await tx.unsafe(text).simple();
  } catch (error) {
    // One statement (the parallel load runs them so) is named even without a position.
    const single = !text.trimEnd().slice(0, -1).includes(";\n");
    const named = failingStatement(text, error) ||
      (single ? text.trimStart().split("\n")[0].slice(0, 120) : "");
    throw new ScriptError(error, named);
  }
}

/** Where a COPY block's data comes from: the next piece, or `undefined` after its `\.` line. */
export type CopyData = () => Promise<Uint8Array | undefined>;

/**
 * The data of the COPY block the script `source` is inside, piece by piece up to its end; a
 * script that ends inside the data, or holds anything else there, is a damaged backup.
 */
export function copyDataOf(source: ScriptSource): CopyData {
  return async () => {
    const event = await source.next();
    if (event === undefined) {
      throw new IntegrityError(
        "Cannot restore: the SQL script ends inside COPY data (the backup is truncated)",
      );
    }
    if (event.type === "copyEnd") return undefined;
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
    throw new ScriptError(failure ?? error, sql.replace(/\s+/g, " ").slice(0, 120));
  }
}

/** A statement the server rejected, with the statement's beginning for the message. */
export class ScriptError extends Error {
  constructor(readonly original: unknown, readonly statement: string) {
    super(messageOf(original), { cause: original });
  }
}

/** The first line of the statement the error points at; empty when the server gave no position. */
function failingStatement(batch: string, error: unknown): string {
  const position = Number((error as { position?: string }).position ?? 0);
  if (position <= 0) return "";
  const before = batch.lastIndexOf(";\n", position - 1);
  return batch.slice(before < 0 ? 0 : before + 2).trimStart().split("\n")[0].slice(0, 120);
}

export function decodeScript(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new IntegrityError("Cannot restore: the SQL script is not valid UTF-8 (damaged backup)");
  }
}
