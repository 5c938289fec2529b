/**
 * Loads one of our scripts into a PostgreSQL database, all-or-nothing: into an existing database
 * every statement, COPY block and `--clean` drop runs in one transaction on one connection, so on
 * any error the target is exactly as it was; with `--create` the script loads in parallel into
 * a new database renamed to the target only after it succeeded (`_fresh_load.ts`).
 */
import type postgres from "npm:postgres@3.4.9";
import { defaultJobs, type RestoreOptions, type RestoreSummary } from "../engine.ts";
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
import { databaseExists, type NewDatabase } from "./_databases.ts";
import { loadFresh, LoadLeftError } from "./_fresh_load.ts";
import { ScriptSource } from "./_script_source.ts";
import { ErrorSniffer } from "./_error_sniffer.ts";
import type { ScriptEvent, ScriptPlace } from "./_script_reader.ts";
import {
  CopiedRows,
  copyDataOf,
  copyIn,
  decodeScript,
  runStatements,
  ScriptError,
} from "./_load_steps.ts";
import { runWithOwnerFallback } from "./_owner_fallback.ts";
import { readLimits } from "../read_limits.ts";
import { checkRestored } from "../restore_check.ts";

/** Restores the gzip-compressed script `gzippedSql` into the database `config` names. */
export async function restorePostgres(
  config: ConnectionConfig,
  gzippedSql: AsyncIterable<Uint8Array>,
  options: RestoreOptions = {},
): Promise<RestoreSummary> {
  const where = `"${describeConfig(config)}"`;
  const exists = await databaseExists(config);
  const source = new ScriptSource(gzippedSql, {
    ...options,
    splitAfterData: !exists && options.create,
    limits: readLimits(options.expected),
  });
  let created = false;
  const sniffer = new ErrorSniffer();
  const connection = openConnection(config, { sniffer });
  try {
    let event = await source.next();
    const database: NewDatabase = { encoding: "UTF8" };
    while (event?.type === "encoding" || event?.type === "locale" || event?.type === "database") {
      if (event.type === "encoding") database.encoding = event.name;
      else if (event.type === "locale") database.locale = event.locale;
      else database.properties = event.properties;
      event = await source.next();
    }
    const checkComplete = () => {
      const end = source.end!;
      if (end.rest.trim() !== "" || end.inCopy || !end.complete) {
        throw new IntegrityError(
          `Cannot restore into ${where}: the SQL script is cut short (the backup is truncated; nothing was changed)`,
        );
      }
    };
    if (!exists) {
      if (!options.create) {
        throw new DatabaseNotFoundError(
          `Cannot restore into ${where}: the database does not exist (use --create to create it)`,
        );
      }
      created = true;
      const warnings = await loadFresh(config, database, event, source, checkComplete, {
        jobs: options.jobs ?? defaultJobs(),
        noOwner: options.noOwner,
        noPrivileges: options.noPrivileges,
        expected: options.expected,
      });
      return {
        bytes: source.bytesRead,
        statements: source.end?.statements ?? 0,
        ...(warnings.length > 0 ? { warnings } : {}),
      };
    }
    await checkConnection(connection);
    const first = event;
    const warnings: string[] = [];
    await connection.sql.begin(async (tx) => {
      if (!options.clean && !(await isEmptyDatabase(tx))) {
        throw new RefusedError(
          `Cannot restore into ${where}: the database is not empty (use --clean to replace the objects the backup contains, or restore into a new database with --to NAME --create)`,
        );
      }
      const copied = new CopiedRows();
      await runScript(tx, first, source, { ...options, sniffer, copied, warnings });
      checkComplete();
      // inside the transaction: a difference rolls everything back
      checkRestored(options.expected, copied.counts, {
        onlyLoaded: true,
        undone: "nothing was changed",
      });
    });
    return {
      bytes: source.bytesRead,
      statements: source.end?.statements ?? 0,
      ...(warnings.length > 0 ? { warnings } : {}),
    };
  } catch (error) {
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
  options: RestoreOptions & { sniffer: ErrorSniffer; copied: CopiedRows; warnings: string[] },
): Promise<void> {
  for (let event = first; event !== undefined; event = await source.next()) {
    switch (event.type) {
      case "statement":
        options.warnings.push(
          ...await runWithOwnerFallback(tx, decodeScript(event.sql), {
            places: event.places,
            sniffer: options.sniffer,
            inTransaction: true,
          }),
        );
        break;
      case "clean":
        if (options.clean) await runStatements(tx, event.sql);
        break;
      case "copy": {
        const copySql = event.sql;
        await copyIn(
          tx,
          copySql,
          copyDataOf(source, (rows) => options.copied.add(copySql, rows)),
          options.sniffer,
          event.place,
        );
        break;
      }
      case "data":
      case "copyEnd":
        throw new IntegrityError("Cannot restore: COPY data outside a COPY block");
    }
  }
}

function restoreError(error: unknown, where: string, created: boolean): Error {
  let undone = created ? "the database created for it was dropped again" : "nothing was changed";
  if (error instanceof LoadLeftError) {
    undone =
      `the target was not created, but the database loaded for it, "${error.database}", could not be dropped: ${
        oneLine(messageOf(error.dropError))
      }; drop it by hand, or let cleanup remove it`;
    error = error.original;
  }
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
      }${placeText(error.place, context)}: ${oneLine(messageOf(original))}${
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

/**
 * ` (statement 12, line 40)`: where the rejected statement is in the script (uncompressed: what
 * `gunzip -c` prints), and for a row that COPY rejected, that row's line.
 */
export function placeText(place: ScriptPlace | undefined, context?: string): string {
  if (!place) return "";
  const row = context?.match(/^COPY [^,]+, line (\d+)/)?.[1];
  const rowLine = row === undefined ? "" : `, row at line ${place.line + Number(row)}`;
  return ` (statement ${place.number}, line ${place.line}${rowLine} of the script)`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
