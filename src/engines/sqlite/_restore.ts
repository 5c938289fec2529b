import { DatabaseSync } from "node:sqlite";
import { basename, dirname, join } from "node:path";
import type { Compression, ExpectedContent, RestoreOptions, RestoreSummary } from "../engine.ts";
import { DatabaseError, IntegrityError, messageOf, RefusedError } from "../../core/errors.ts";
import { syncDirectory } from "../../storage/local.ts";
import { currentOwner, scratchFileName } from "../../core/scratch_names.ts";
import { decodeSql } from "./_decode.ts";
import { IntegrityChecker } from "./_integrity.ts";
import { readLimits } from "../read_limits.ts";
import { checkRestored } from "../restore_check.ts";
import { countRows, readSchema, readTables } from "./_schema.ts";

/**
 * Loads a compressed SQL script into a new database file beside `targetPath` (journaling off: the
 * file is thrown away on any failure), checks it with a full `PRAGMA integrity_check` (see
 * `_integrity.ts`) and against the sidecar's tables and row counts (`options.expected`), syncs it
 * to disk, and only then renames it over the target. On any error the target is untouched and
 * the temporary file is removed. The script is input, not code: only the statements our dumps
 * write run (`_allowlist.ts`), and the connection can neither attach nor load extensions.
 */
export async function restoreSqlite(
  targetPath: string,
  gzippedSql: AsyncIterable<Uint8Array>,
  options: RestoreOptions = {},
): Promise<RestoreSummary> {
  const targetExists = await fileExists(targetPath);
  if (targetExists && !options.replace) {
    throw new RefusedError(
      `Cannot restore into "${targetPath}": the database exists (use --force to replace it)`,
    );
  }
  const directory = dirname(targetPath);
  await Deno.mkdir(directory, { recursive: true });
  // named after its owner, so a later run can tell a killed restore's file from a live one's
  const temporary = join(
    directory,
    scratchFileName(basename(targetPath), "restore", currentOwner(new Date())),
  );
  let summary: RestoreSummary;
  // Made first: the checking thread starts while the script loads.
  const checker = new IntegrityChecker();
  try {
    summary = await load(temporary, gzippedSql, options);
    await check(checker, temporary);
    await syncFile(temporary);
    await replaceDatabaseFile(temporary, targetPath);
  } finally {
    checker.close();
    for (const suffix of ["", "-journal", "-wal", "-shm"]) {
      await Deno.remove(temporary + suffix).catch(() => {});
    }
  }
  return summary;
}

/**
 * The restore connection behaves like the stock `sqlite3` shell: double-quoted string literals
 * are accepted (old schemas use them in DEFAULT, CHECK and views; node:sqlite refuses them by
 * default), and `defensive` is off so a script can write the shadow tables of FTS and R*Tree
 * tables (our dumps copy their indexes that way) and declare a virtual table of an unknown module
 * the way `sqlite3 .dump` does (PRAGMA writable_schema). It cannot reach outside its file:
 * no extension loading (`load_extension()` is "not authorized", in triggers and views too) and
 * no attached database (`ATTACH` and `VACUUM INTO` fail with "too many attached databases"),
 * whatever got past the statement check.
 */
const RESTORE_CONNECTION = {
  defensive: false,
  enableDoubleQuotedStringLiterals: true,
  allowExtension: false,
  limits: { attach: 0 },
} as ConstructorParameters<typeof DatabaseSync>[1];

/**
 * Checks the loaded file at `path`. The load connection and the reader thread are gone by then, so
 * their memory is not held while the check runs.
 */
async function check(checker: IntegrityChecker, path: string): Promise<void> {
  const problems = await checker.check(path);
  if (problems.length > 0) {
    throw new IntegrityError(
      `Cannot restore: the restored database fails its integrity check (${
        problems.slice(0, 3).join("; ")
      })`,
    );
  }
}

/**
 * Writes the file's data to disk before it is renamed into place (journaling and syncs are off
 * while it loads), so that after a crash the target is the old database or the whole new one.
 * About 15–40 ms for 75 MB here.
 */
async function syncFile(path: string): Promise<void> {
  const file = await Deno.open(path, { read: true, write: true });
  try {
    await file.syncData();
  } finally {
    file.close();
  }
}

/** Runs the script against a fresh database at `path` and closes it. */
async function load(
  path: string,
  gzippedSql: AsyncIterable<Uint8Array>,
  options: RestoreOptions,
): Promise<RestoreSummary> {
  const db = new DatabaseSync(path, RESTORE_CONNECTION);
  const reader = new SqlReader(options);
  try {
    db.exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-8192;");
    let bytes = 0;
    const run = (sql: string) => execute(db, sql);
    for await (const chunk of gzippedSql) {
      await reader.write(chunk, run);
      bytes += chunk.length;
      options.onProgress?.(bytes);
    }
    const { rest, statements } = await reader.end(run);
    if (rest.replace(/--[^\n]*(\n|$)/g, "").trim() !== "") {
      throw new IntegrityError(
        "Cannot restore: the SQL script ends in the middle of a statement (the backup is truncated)",
      );
    }
    if (db.isTransaction) {
      throw new IntegrityError(
        "Cannot restore: the SQL script never commits (the backup is truncated)",
      );
    }
    if (options.expected && options.expected.compare !== false) {
      checkRestored(options.expected, restoredCounts(db, options.expected));
    }
    return { bytes, statements };
  } finally {
    reader.close();
    db.close();
  }
}

/**
 * Every table of the loaded file as `describe()` and the dump count them (shadow tables belong
 * to their virtual table; a declared-only one has none): `count(*)`, which SQLite answers from
 * the b-tree's page headers without decoding a row. A shadow table is counted too when the
 * sidecar lists it, as sidecars written before 2026-12-02 (`fa3ac07`) did.
 */
function restoredCounts(db: DatabaseSync, expected: ExpectedContent): Map<string, number> {
  const listed = new Set(expected.tables.map((t) => t.name));
  const counts = new Map<string, number>();
  for (const table of readTables(db, readSchema(db))) {
    if (table.shadowOf !== undefined && !listed.has(table.name)) continue;
    counts.set(table.name, table.strategy === "declare-only" ? 0 : countRows(db, table));
  }
  return counts;
}

/**
 * Bytes of compressed input handed to the reader thread and not yet taken by its gunzip. Small:
 * the reader keeps ahead of SQLite with a few MiB of SQL, and every MiB here becomes several of
 * SQL (measured: 8 MiB of input in flight raised the restore's peak RSS by about 70 MiB).
 */
const MAX_IN_FLIGHT = 1 << 20;
/**
 * Input is handed to the reader thread in pieces of at least this size: a file or a stream gives
 * 16–64 KiB chunks, and each piece posted is a message and an acknowledgement.
 */
const INPUT_PIECE_BYTES = 256 << 10;

/** The main-thread side of `_restore_worker.ts`. */
class SqlReader {
  readonly #worker = new Worker(new URL("./_restore_worker.ts", import.meta.url), {
    type: "module",
  });
  /**
   * Statement groups received and not yet run, kept as UTF-8 and decoded only when run (a JS
   * string of non-Latin-1 text takes two bytes a character). The reader stops when this holds
   * more than its share (see `_restore_worker.ts`), so it stays small whatever the compression
   * ratio.
   */
  #sql: Uint8Array[] = [];
  #inFlight = 0;
  /** Input gathered and not yet posted (see INPUT_PIECE_BYTES). */
  #piece: Uint8Array<ArrayBuffer> | undefined;
  #pieceBytes = 0;
  #wake: (() => void) | undefined;
  #failure: Error | undefined;
  #result: { rest: string; statements: number } | undefined;

  constructor(options: { compression?: Compression; expected?: RestoreOptions["expected"] }) {
    this.#worker.postMessage({ limits: readLimits(options.expected) });
    if (options.compression !== undefined) {
      this.#worker.postMessage({ compression: options.compression });
    }
    this.#worker.onmessage = (event) => {
      const m = event.data as {
        sql?: Uint8Array;
        ack?: number;
        error?: string;
        done?: boolean;
        rest?: string;
        statements?: number;
      };
      if (m.sql !== undefined) this.#sql.push(m.sql);
      if (m.ack) this.#inFlight -= m.ack;
      if (m.error) this.#failure = new IntegrityError(`Cannot restore: ${m.error}`);
      if (m.done) this.#result = { rest: m.rest ?? "", statements: m.statements ?? 0 };
      this.#wake?.();
    };
    this.#worker.onerror = (event) => {
      event.preventDefault();
      this.#failure = new DatabaseError(`Cannot restore: the reader failed: ${event.message}`);
      this.#wake?.();
    };
  }

  /** Hands `chunk` over; runs every statement group that is ready; waits when too much is queued. */
  async write(chunk: Uint8Array, run: (sql: string) => void): Promise<void> {
    if (this.#pieceBytes + chunk.length > INPUT_PIECE_BYTES) this.#post();
    if (chunk.length >= INPUT_PIECE_BYTES) {
      // a copy with its own buffer: a node Buffer's slice() is a view, and sending would detach
      // the whole buffer it views
      this.#send(new Uint8Array(chunk));
    } else {
      this.#piece ??= new Uint8Array(INPUT_PIECE_BYTES);
      this.#piece.set(chunk, this.#pieceBytes);
      this.#pieceBytes += chunk.length;
      if (this.#pieceBytes < INPUT_PIECE_BYTES) return;
      this.#post();
    }
    await this.#drain(run, () => this.#inFlight <= MAX_IN_FLIGHT);
  }

  /** Ends the input; runs what is left; returns the unterminated tail and the statement count. */
  async end(run: (sql: string) => void): Promise<{ rest: string; statements: number }> {
    this.#post();
    this.#worker.postMessage({ end: true });
    await this.#drain(run, () => this.#result !== undefined);
    return this.#result!;
  }

  close(): void {
    this.#worker.terminate();
  }

  /** Posts the input gathered so far as one piece. */
  #post(): void {
    if (this.#piece === undefined || this.#pieceBytes === 0) return;
    const piece = this.#pieceBytes === this.#piece.length
      ? this.#piece
      : this.#piece.slice(0, this.#pieceBytes);
    this.#piece = undefined;
    this.#pieceBytes = 0;
    this.#send(piece);
  }

  /** Hands `piece` to the reader thread; its buffer moves there. */
  #send(piece: Uint8Array<ArrayBuffer>): void {
    this.#inFlight += piece.length;
    this.#worker.postMessage({ chunk: piece }, [piece.buffer]);
  }

  async #drain(run: (sql: string) => void, done: () => boolean): Promise<void> {
    for (;;) {
      if (this.#failure) throw this.#failure;
      const next = this.#sql.shift();
      if (next !== undefined) {
        run(decodeSql(next));
        this.#worker.postMessage({ consumed: next.length });
        continue;
      }
      if (done()) return;
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = undefined;
    }
  }
}

function execute(db: DatabaseSync, sql: string): void {
  try {
    db.exec(sql);
  } catch (error) {
    throw new DatabaseError(`Cannot restore: SQLite rejected the script: ${messageOf(error)}`, {
      cause: error,
    });
  }
}

/**
 * Prepares the old target to be replaced: leaves WAL mode (folding the WAL into the main file),
 * which SQLite allows only when no other connection has the database open. An idle connection
 * elsewhere does not block a checkpoint, so the mode switch is the check that no process would
 * keep writing to the replaced (unlinked) file. The restored file carries its own journal mode.
 */
/**
 * Renames the checked database file `temporary` over `targetPath`: an existing target is first
 * checkpointed and left by its WAL (refused while another process has it open), its mode kept;
 * the directory is synced. Shared by the restore of a backup and of a moment (`restore --at`).
 */
export async function replaceDatabaseFile(temporary: string, targetPath: string): Promise<void> {
  const targetExists = await fileExists(targetPath);
  if (targetExists) await releaseTarget(targetPath);
  const mode = targetExists ? (await Deno.stat(targetPath)).mode : null;
  if (mode !== null) await Deno.chmod(temporary, mode & 0o7777);
  await Deno.rename(temporary, targetPath);
  await syncDirectory(dirname(targetPath));
}

async function releaseTarget(targetPath: string): Promise<void> {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(targetPath);
  } catch (error) {
    throw new DatabaseError(
      `Cannot replace "${targetPath}": ${
        messageOf(error)
      } (stop the application using it and retry)`,
      { cause: error },
    );
  }
  try {
    const mode = String(Object.values(db.prepare("PRAGMA journal_mode").get() ?? {})[0]);
    if (mode.toLowerCase() === "wal") {
      db.exec("PRAGMA journal_mode=DELETE"); // checkpoints first; fails while others have it open
    }
  } catch (error) {
    throw new RefusedError(
      `Cannot replace "${targetPath}": another process has it open (stop the application and retry)`,
      { cause: error },
    );
  } finally {
    db.close();
  }
  for (const suffix of ["-wal", "-shm", "-journal"]) {
    await Deno.remove(targetPath + suffix).catch(() => {});
  }
}

async function fileExists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
