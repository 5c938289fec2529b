/**
 * Loads one of our scripts into a PostgreSQL database, all-or-nothing: every statement, COPY
 * block and `--clean` drop runs in one transaction on one connection, so on any error the
 * target is exactly as it was (and a database made by `--create` is dropped again).
 */
import type postgres from "postgres";
import type { Writable } from "node:stream";
import type { RestoreOptions, RestoreSummary } from "../engine.ts";
import {
  DatabaseError,
  DatabaseNotFoundError,
  IntegrityError,
  messageOf,
  RefusedError,
} from "../../core/errors.ts";
import {
  checkConnection,
  type ConnectionConfig,
  describeConfig,
  openConnection,
} from "./_connection.ts";
import { isEmptyDatabase } from "./_describe.ts";
import { createDatabase, databaseExists, dropDatabase } from "./_databases.ts";
import { ScriptSource } from "./_script_source.ts";
import { ErrorSniffer } from "./_error_sniffer.ts";
import type { ScriptEvent } from "./_script_reader.ts";

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Restores the gzip-compressed script `gzippedSql` into the database `config` names. */
export async function restorePostgres(
  config: ConnectionConfig,
  gzippedSql: AsyncIterable<Uint8Array>,
  options: RestoreOptions = {},
): Promise<RestoreSummary> {
  const where = `"${describeConfig(config)}"`;
  const source = new ScriptSource(gzippedSql, options);
  let created = false;
  const sniffer = new ErrorSniffer();
  const connection = openConnection(config, { sniffer });
  try {
    let event = await source.next();
    let encoding = "UTF8";
    while (event?.type === "encoding") {
      encoding = event.name;
      event = await source.next();
    }
    if (!(await databaseExists(config))) {
      if (!options.create) {
        throw new DatabaseNotFoundError(
          `Cannot restore into ${where}: the database does not exist (use --create to create it)`,
        );
      }
      await createDatabase(config, encoding);
      created = true;
    }
    await checkConnection(connection);
    const first = event;
    await connection.sql.begin(async (tx) => {
      if (!options.clean && !created && !(await isEmptyDatabase(tx))) {
        throw new RefusedError(
          `Cannot restore into ${where}: the database is not empty (use --clean to replace the objects the backup contains, or restore into a new database with --to NAME --create)`,
        );
      }
      await runScript(tx, first, source, { ...options, sniffer });
      const end = source.end!;
      if (end.rest.trim() !== "" || end.inCopy || !end.complete) {
        throw new IntegrityError(
          `Cannot restore into ${where}: the SQL script is cut short (the backup is truncated; nothing was changed)`,
        );
      }
    });
    return { bytes: source.bytesRead, statements: source.end?.statements ?? 0 };
  } catch (error) {
    if (created) await dropDatabase(config).catch(() => {});
    throw restoreError(error, where, created);
  } finally {
    source.close();
    await connection.end();
  }
}

async function runScript(
  tx: postgres.TransactionSql,
  first: ScriptEvent | undefined,
  source: ScriptSource,
  options: RestoreOptions & { sniffer: ErrorSniffer },
): Promise<void> {
  for (let event = first; event !== undefined; event = await source.next()) {
    switch (event.type) {
      case "statement":
        await runStatements(tx, decodeScript(event.sql));
        break;
      case "clean":
        if (options.clean) await runStatements(tx, event.sql);
        break;
      case "copy":
        await copyIn(tx, event.sql, source, options.sniffer);
        break;
      case "data":
      case "copyEnd":
        throw new IntegrityError("Cannot restore: COPY data outside a COPY block");
    }
  }
}

/** Runs a batch of statements in one round trip, naming the failing one in the error. */
async function runStatements(tx: postgres.TransactionSql, text: string): Promise<void> {
  try {
    await tx.unsafe(text).simple();
  } catch (error) {
    throw new ScriptError(error, failingStatement(text, error));
  }
}

/**
 * Feeds one COPY block's data to `COPY ... FROM STDIN`. postgres.js drops an error that arrives
 * after the end of the data and then never reports the COPY finished; so once the driver has
 * sent the end of the data, a query is queued right behind it: it fails at once if the COPY
 * failed, and the wait cannot hang.
 */
async function copyIn(
  tx: postgres.TransactionSql,
  sql: string,
  source: ScriptSource,
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
    for (;;) {
      const event = await source.next();
      if (event === undefined) {
        throw new IntegrityError(
          "Cannot restore: the SQL script ends inside COPY data (the backup is truncated)",
        );
      }
      if (event.type === "copyEnd") break;
      if (event.type !== "data") {
        throw new IntegrityError("Cannot restore: a COPY block is damaged");
      }
      if (failure) break;
      if (!writable.write(event.bytes)) {
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
class ScriptError extends Error {
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

function decodeScript(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new IntegrityError("Cannot restore: the SQL script is not valid UTF-8 (damaged backup)");
  }
}

function restoreError(error: unknown, where: string, created: boolean): Error {
  const undone = created ? "the database created for it was dropped again" : "nothing was changed";
  if (error instanceof ScriptError) {
    const original = error.original as { code?: string };
    if (original instanceof IntegrityError) return original;
    const sqlState = original?.code && /^[0-9A-Z]{5}$/.test(original.code)
      ? ` [${original.code}]`
      : "";
    const context = (original as { where?: string })?.where;
    return new DatabaseError(
      `Cannot restore into ${where}: PostgreSQL rejected ${
        error.statement ? `"${error.statement}"` : "the script"
      }: ${oneLine(messageOf(original))}${
        context ? ` (${oneLine(context)})` : ""
      }${sqlState} (${undone})`,
      { cause: original },
    );
  }
  if (error instanceof DatabaseError || error instanceof RefusedError) return error;
  if (error instanceof Error && error.name !== "Error") return error;
  return new DatabaseError(
    `Cannot restore into ${where}: ${oneLine(messageOf(error))} (${undone})`,
    { cause: error },
  );
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
