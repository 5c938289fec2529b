import { DatabaseSync } from "node:sqlite";

/** Options of {@linkcode IntegrityChecker}. */
export interface IntegrityCheckerOptions {
  /** Page cache of the checking connection in KiB. Default 8192. */
  cacheKib?: number;
}

/**
 * Runs `PRAGMA integrity_check` on a thread of its own (node:sqlite runs a PRAGMA to completion on
 * the thread that calls it, and a restore must not stop the event loop for seconds). The thread
 * starts when the checker is made, so a restore makes it first and the thread's start-up overlaps
 * the load.
 *
 * The check is one full `PRAGMA integrity_check`: every b-tree walked once and every page
 * accounted for, every row checked against NOT NULL, CHECK and STRICT types, every index compared
 * with its table (which `quick_check` leaves out), UNIQUE, and each virtual table's own check
 * (FTS3/4/5 `integrity-check`, which compares the copied index with the documents, and R*Tree's
 * `rtreecheck`). Splitting it into `quick_check` plus `integrity_check(table)` on several threads
 * walks every b-tree and runs every module check twice: on this 2-vCPU machine that took 1.3–2.7×
 * the time of the one statement (restored 75 MB databases of one shape each, 2026-12-02; FTS5 twice
 * the FTS5 check), so the check is not split.
 */
export class IntegrityChecker {
  readonly #worker: Worker;
  readonly #cacheKib: number;

  constructor(options: IntegrityCheckerOptions = {}) {
    this.#cacheKib = options.cacheKib ?? 8192;
    this.#worker = new Worker(new URL("./_integrity_worker.ts", import.meta.url), {
      type: "module",
    });
  }

  /**
   * Checks the database file at `path` (closed by every writer). Returns the problems found (none:
   * the file is sound), without the line SQLite reports for every contentless FTS4 table (see
   * {@linkcode isUncheckableContentlessFts4}). A check that SQLite aborts (a page so damaged that
   * the walk cannot go on) is itself a problem.
   */
  async check(path: string): Promise<string[]> {
    let problems = await this.#run(path, "PRAGMA integrity_check");
    if (problems.length === 0) return [];
    if (problems.length === 1 && problems[0].startsWith("PRAGMA integrity_check failed:")) {
      // The index comparison stops at the first page it cannot read; the walk alone goes on and
      // tells which pages are damaged or unaccounted for.
      problems = [...problems, ...await this.#run(path, "PRAGMA quick_check")];
    }
    const db = new DatabaseSync(path, { readOnly: true, enableDoubleQuotedStringLiterals: true });
    try {
      return problems.filter((p) => !isUncheckableContentlessFts4(db, p));
    } finally {
      db.close();
    }
  }

  close(): void {
    this.#worker.terminate();
  }

  /** Runs `sql` on the thread; returns the lines that are not "ok", or the error as one line. */
  async #run(path: string, sql: string): Promise<string[]> {
    const reply = await new Promise<{ problems?: string[]; error?: string }>((resolve) => {
      this.#worker.onmessage = (event) => resolve(event.data);
      this.#worker.onerror = (event) => {
        event.preventDefault();
        resolve({ error: event.message });
      };
      this.#worker.postMessage({ path, cacheKib: this.#cacheKib, sql });
    });
    if (reply.error !== undefined) return [`${sql} failed: ${reply.error}`];
    return reply.problems!.filter((p) => p !== "ok");
  }
}

/** Checks the database file at `path` once (see {@linkcode IntegrityChecker}). */
export async function checkIntegrity(
  path: string,
  options: IntegrityCheckerOptions = {},
): Promise<string[]> {
  const checker = new IntegrityChecker(options);
  try {
    return await checker.check(path);
  } finally {
    checker.close();
  }
}

/**
 * SQLite (3.44 and later) cannot check the index of a contentless FTS4 table, which cannot be
 * scanned, and reports that as a problem even for an empty, healthy table. The line says nothing
 * about the file; any other problem still fails the restore.
 */
function isUncheckableContentlessFts4(db: DatabaseSync, problem: string): boolean {
  const table = /^unable to validate the inverted index for FTS4 table main\.(.+): SQL logic error$/
    .exec(problem)?.[1];
  if (table === undefined) return false;
  const sql = db.prepare("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?")
    .get(table)?.sql;
  return /\bUSING\s+fts4\s*\(.*\bcontent\s*=\s*(?:''|"")/is.test(String(sql ?? ""));
}
