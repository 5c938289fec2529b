/**
 * `restore --create` into a database that does not exist yet, on several connections: the script
 * loads into a new database of its own (a unique name nobody uses), which is renamed to the
 * target only once everything succeeded; on any failure it is dropped and the target never
 * appears. Not being one transaction is what lets different tables load side by side, as
 * `pg_restore -j` does.
 *
 * The script is read once, in order. Each COPY block is handed to a lane (a connection) of its
 * own through a spool (`_spool.ts`): the reader goes on to the next block at once, and what a
 * lane has not loaded yet waits in memory, then in a temporary file. What runs beside other work
 * is deliberately narrow, each kind tied to the tables it locks:
 * - COPY into a table (in a transaction of its own);
 * - after the data, plain `CREATE [UNIQUE] INDEX ... ON table` and `ALTER TABLE ONLY table ADD
 *   CONSTRAINT ... PRIMARY KEY|UNIQUE`: they wait only for that table's own earlier steps, so
 *   the indexes of a loaded table build while other tables still load;
 * - `ALTER TABLE ONLY t ADD CONSTRAINT ... FOREIGN KEY ... REFERENCES r`: added `NOT VALID`
 *   (a moment's lock on both tables) and then validated (`VALIDATE CONSTRAINT` locks `t`
 *   against other schema changes only, and `r` not at all), after the steps on `t` and `r`;
 * - `setval` of a sequence, which no table step touches.
 * Steps on one table run in script order. Everything else (comments, triggers, grants, ...)
 * waits until every step before it has finished and runs alone, in script order, on the first
 * connection; `SET` statements run on every connection.
 */
import { currentDatabaseOwner, scratchDatabaseName } from "../../core/scratch_names.ts";
import { IntegrityError, messageOf } from "../../core/errors.ts";
import { collectGarbage, GC_EVERY_BYTES } from "../../core/collect_garbage.ts";
import {
  checkConnection,
  type Connection,
  type ConnectionConfig,
  openConnection,
  withDatabase,
} from "./_connection.ts";
import {
  applyDatabaseProperties,
  type ApplyPropertiesOptions,
  createDatabase,
  dropDatabase,
  type NewDatabase,
  renameDatabase,
} from "./_databases.ts";
import { ErrorSniffer } from "./_error_sniffer.ts";
import { runWithOwnerFallback } from "./_owner_fallback.ts";
import {
  CopiedRows,
  copyIn,
  decodeScript,
  firstLine,
  runStatements,
  ScriptError,
} from "./_load_steps.ts";
import type { ExpectedContent } from "../engine.ts";
import { checkRestored } from "../restore_check.ts";
import type { ScriptEvent, ScriptPlace, StatementPlace } from "./_script_reader.ts";
import type { ScriptSource } from "./_script_source.ts";
import { SESSION_SETTINGS } from "./_script.ts";
import { Spool, SpoolBudget, type SpoolLimits } from "./_spool.ts";

/** Options of {@linkcode loadFresh}; `noOwner` / `noPrivileges` apply to the database's own. */
export interface FreshLoadOptions extends ApplyPropertiesOptions {
  /** Connections loading at once. Default 2. */
  jobs?: number;
  /** Limits of the spools that hold COPY data read ahead. Default `DEFAULT_SPOOL_LIMITS`. */
  limits?: Partial<SpoolLimits>;
  /**
   * The sidecar's tables and rows: the rows the COPY blocks loaded are compared with them
   * before the rename (`restore_check.ts`). Default: not compared.
   */
  expected?: ExpectedContent;
}

/**
 * Commits of the load need not wait for the disk: a server crash before the rename can only
 * lose part of a database nobody uses yet (`bm_load_…`, left as by any interrupted
 * load), and the rename's own commit, synchronous on another connection, flushes the log up to
 * itself, so every commit before it too.
 */
const LOAD_SETTINGS = "SET synchronous_commit = off;\n";

const IDENT = String.raw`(?:"(?:[^"]|"")*"|[^\s."(]+)`;
const TABLE = String.raw`(${IDENT}(?:\.${IDENT})?)`;
const INDEX = new RegExp(
  String.raw`^CREATE\s+(?:UNIQUE\s+)?INDEX\s+${IDENT}\s+ON\s+(?!ONLY\s)${TABLE}\s`,
  "i",
);
const KEY = new RegExp(
  String
    .raw`^ALTER\s+TABLE\s+ONLY\s+${TABLE}\s+ADD\s+CONSTRAINT\s+${IDENT}\s+(?:PRIMARY\s+KEY|UNIQUE)\s`,
  "i",
);
const COLUMNS = String.raw`\(\s*${IDENT}(?:\s*,\s*${IDENT})*\s*\)`;
const FOREIGN_KEY = new RegExp(
  String.raw`^ALTER\s+TABLE\s+ONLY\s+${TABLE}\s+ADD\s+CONSTRAINT\s+(${IDENT})\s+FOREIGN\s+KEY\s*` +
    String.raw`${COLUMNS}\s*REFERENCES\s+${TABLE}\s*\(`,
  "i",
);
const COPY = new RegExp(String.raw`^COPY\s+${TABLE}[\s(]`, "i");
const SETVAL =
  /^SELECT\s+pg_catalog\.setval\(\s*'(?:[^']|'')*'\s*,\s*-?\d+\s*,\s*(?:true|false)\s*\);\s*$/i;
const SETTING = /^(?:SET\s|SELECT\s+pg_catalog\.set_config\()/i;

/** A statement that may run beside others of its kind, and the table it locks. */
export function parallelKind(sql: string): { kind: "index" | "key"; table: string } | undefined {
  const index = INDEX.exec(sql);
  if (index) return { kind: "index", table: index[1] };
  const key = KEY.exec(sql);
  if (key) return { kind: "key", table: key[1] };
  return undefined;
}

/**
 * A single foreign key statement as the dump writes it, on a table that is not partitioned
 * (`ONLY`): its table, name and referenced table, and whether it is to be validated after it
 * is added `NOT VALID` (a key that was not valid in the source stays so).
 */
export function foreignKeyOf(
  sql: string,
): { table: string; name: string; references: string; validate: boolean } | undefined {
  const match = FOREIGN_KEY.exec(sql);
  if (!match || !/;\s*$/.test(sql) || sql.trimEnd().slice(0, -1).includes(";")) return undefined;
  return {
    table: match[1],
    name: match[2],
    references: match[3],
    validate: !/\sNOT\s+VALID\s*;\s*$/i.test(sql),
  };
}

/**
 * A failed load whose database could not be dropped afterwards: the restore's error says so and
 * names it, instead of claiming it was dropped (the next run's sweep, or `cleanup`, removes it).
 */
export class LoadLeftError extends Error {
  constructor(readonly original: unknown, readonly database: string, readonly dropError: unknown) {
    super(`Cannot drop the load database "${database}": ${messageOf(dropError)}`, {
      cause: original,
    });
    this.name = "LoadLeftError";
  }
}

/** One connection, with the sniffer that reads its server errors off the wire. */
class Lane {
  readonly connection: Connection;
  readonly sniffer = new ErrorSniffer();

  constructor(config: ConnectionConfig) {
    this.connection = openConnection(config, { sniffer: this.sniffer });
  }
}

/** Runs steps on free lanes, each after the steps it depends on; see the module comment. */
class Scheduler {
  readonly lanes: Lane[];
  readonly #free: Lane[];
  readonly #waiting: ((lane: Lane) => void)[] = [];
  readonly #running = new Set<Promise<void>>();
  /** Per table, the last step that touches it. */
  readonly #chains = new Map<string, Promise<void>>();
  failure: unknown;

  constructor(lanes: Lane[]) {
    this.lanes = lanes;
    this.#free = [...lanes];
  }

  /**
   * Starts `step` on the next free lane once the steps on `after` (tables) have finished; later
   * steps on the tables in `owns` wait for it. Its failure stops the load (see `barrier`).
   */
  spawn(after: string[], owns: string[], step: (lane: Lane) => Promise<void>): void {
    const before = after.map((table) => this.#chains.get(table));
    const task = (async () => {
      await Promise.all(before);
      if (this.failure !== undefined) throw this.failure;
      const lane = await this.#acquire();
      try {
        if (this.failure !== undefined) throw this.failure;
        await step(lane);
      } finally {
        this.#release(lane);
      }
    })();
    this.#running.add(task);
    task.then(() => this.#running.delete(task), (error) => {
      this.failure ??= error;
      this.#running.delete(task);
    });
    for (const table of owns) this.#chains.set(table, task);
  }

  /** Lanes taken or waited for by started COPY steps that have no lane yet. */
  get backlog(): number {
    return this.#waiting.length;
  }

  /** Waits for every step started so far; throws the first failure. */
  async barrier(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
    this.#chains.clear();
    if (this.failure !== undefined) throw this.failure;
  }

  /** Resolves when a step has finished (for a reader that waits for room). */
  async settled(): Promise<void> {
    if (this.#running.size > 0) {
      await Promise.race([...this.#running].map((t) => t.catch(() => {})));
    }
  }

  #acquire(): Promise<Lane> {
    const lane = this.#free.shift();
    if (lane) return Promise.resolve(lane);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(lane: Lane): void {
    const next = this.#waiting.shift();
    if (next) next(lane);
    else this.#free.push(lane);
  }
}

/**
 * Loads the script from `first` on into a new database, gives it the source database's
 * properties (`database.properties`), then renames it to `target`. Throws after dropping the new
 * database if anything fails; the target is never touched. Returns the warnings of properties
 * left out (settings of roles this server lacks).
 */
export async function loadFresh(
  target: ConnectionConfig,
  database: NewDatabase,
  first: ScriptEvent | undefined,
  source: ScriptSource,
  checkComplete: () => void,
  options: FreshLoadOptions = {},
): Promise<string[]> {
  // named after its owner: a later run drops it if this one is killed (see _scratch.ts)
  const load = withDatabase(target, scratchDatabaseName("load", currentDatabaseOwner(new Date())));
  await createDatabase(load, database);
  const lanes: Lane[] = [];
  const spools = new Set<Spool>();
  let scheduler: Scheduler | undefined;
  try {
    const jobs = Math.max(1, Math.floor(options.jobs ?? 2));
    for (let i = 0; i < jobs; i++) lanes.push(new Lane(load));
    await Promise.all(lanes.map(async (lane) => {
      await checkConnection(lane.connection);
      await runStatements(lane.connection.sql, SESSION_SETTINGS + LOAD_SETTINGS);
    }));
    scheduler = new Scheduler(lanes);
    const copied = new CopiedRows();
    const warnings: string[] = [];
    await run(scheduler, first, source, new SpoolBudget(options.limits), spools, copied, warnings);
    checkComplete();
    checkRestored(options.expected, copied.counts, {
      onlyLoaded: true,
      undone: "the database loaded for it was dropped, the target is as it was",
    });
    warnings.push(
      ...database.properties
        ? await applyDatabaseProperties(
          lanes[0].connection.sql,
          load.database,
          database.properties,
          options,
        )
        : [],
    );
    await Promise.all(lanes.map((lane) => lane.connection.end()));
    await renameDatabase(load, target.database);
    return warnings;
  } catch (error) {
    // Stop the lanes, and cut their connections: one may be inside a COPY whose data never
    // comes (its rollback would wait behind it). Every step settles before the drop.
    if (scheduler) scheduler.failure ??= error;
    for (const spool of spools) spool.fail(error);
    await Promise.allSettled(lanes.map((lane) => lane.connection.sql.end({ timeout: 0 })));
    await scheduler?.barrier().catch(() => {});
    const dropError = await dropDatabase(load).then(() => undefined, (e: unknown) => e ?? "");
    if (dropError !== undefined) throw new LoadLeftError(error, load.database, dropError);
    throw error;
  } finally {
    await Promise.all([...spools].map((spool) => spool.close()));
  }
}

async function run(
  scheduler: Scheduler,
  first: ScriptEvent | undefined,
  source: ScriptSource,
  budget: SpoolBudget,
  spools: Set<Spool>,
  copied: CopiedRows,
  warnings: string[],
): Promise<void> {
  const main = scheduler.lanes[0];
  for (let event = first; event !== undefined; event = await source.next()) {
    if (scheduler.failure !== undefined) throw scheduler.failure;
    switch (event.type) {
      case "statement": {
        const sql = decodeScript(event.sql);
        const places = event.places;
        if (!parallelStatement(scheduler, sql, places)) {
          await scheduler.barrier();
          if (onlySettings(sql)) {
            await Promise.all(
              scheduler.lanes.map((lane) => runStatements(lane.connection.sql, sql, { places })),
            );
          } else {
            warnings.push(
              ...await runWithOwnerFallback(main.connection.sql, sql, {
                places,
                sniffer: main.sniffer,
              }),
            );
          }
        }
        break;
      }
      case "clean":
        break; // a new database has nothing to drop
      case "copy": {
        // A few blocks may wait for a lane; beyond that, the reader waits too.
        while (scheduler.backlog >= scheduler.lanes.length && scheduler.failure === undefined) {
          await scheduler.settled();
        }
        const table = COPY.exec(event.sql)?.[1];
        const spool = new Spool(budget);
        spools.add(spool);
        const sql = event.sql;
        const place = event.place;
        const tables = table === undefined ? [] : [table];
        scheduler.spawn(tables, tables, (lane) => copyFromSpool(lane, sql, spool, place));
        await fill(spool, source, (rows) => copied.add(sql, rows));
        break;
      }
      default:
        throw new IntegrityError("Cannot restore: COPY data outside a COPY block");
    }
  }
  await scheduler.barrier();
}

/**
 * Whether a batch holds only `SET`s (one a line, as the dump writes them), which every lane
 * runs. A script with nothing to drop for `--clean` has its header's settings batched with
 * the statements after them: those run once, on the first lane (the lanes started with the
 * same settings), or two lanes granting on one catalog row fail "tuple concurrently updated".
 */
export function onlySettings(sql: string): boolean {
  const lines = sql.split("\n").filter((line) => line.trim() !== "");
  return lines.length > 0 && lines.every((line) => SETTING.test(line.trimStart()));
}

/**
 * Starts `sql` beside other steps if it is of a kind that may run so (see the module comment);
 * returns whether it did.
 */
function parallelStatement(
  scheduler: Scheduler,
  sql: string,
  places: StatementPlace[] | undefined,
): boolean {
  const local = parallelKind(sql);
  if (local) {
    scheduler.spawn(
      [local.table],
      [local.table],
      (lane) => runStatements(lane.connection.sql, sql, { places }),
    );
    return true;
  }
  const key = foreignKeyOf(sql);
  if (key) {
    scheduler.spawn([key.table, key.references], [key.table], async (lane) => {
      if (!key.validate) return await runStatements(lane.connection.sql, sql, { places });
      await runStatements(lane.connection.sql, sql.trimEnd().replace(/;$/, " NOT VALID;"), {
        places,
      });
      // Named as the statement of the script it stands for, should the rows not match.
      await runStatements(
        lane.connection.sql,
        `ALTER TABLE ONLY ${key.table} VALIDATE CONSTRAINT ${key.name};`,
      ).catch((error) => {
        throw new ScriptError(
          error instanceof ScriptError ? error.original : error,
          firstLine(sql),
          places?.[0],
        );
      });
    });
    return true;
  }
  if (SETVAL.test(sql)) {
    scheduler.spawn([], [], (lane) => runStatements(lane.connection.sql, sql, { places }));
    return true;
  }
  return false;
}

/**
 * COPY data handed to the lanes between two collections of this thread's garbage (the reader's
 * pieces and the driver's copies of them, freed late by V8; see `collectGarbage`). Each costs
 * tens of milliseconds here; every 64 MiB kept a 1 GB restore's peak within about 10 % of a 150 MB
 * one's.
 */
const COLLECT_EVERY = 4 * GC_EVERY_BYTES;
let sinceCollection = 0;

/** Hands the data of the COPY block the script is in to `spool`, up to its end. */
async function fill(
  spool: Spool,
  source: ScriptSource,
  onEnd: (rows: number) => void,
): Promise<void> {
  for (;;) {
    const event = await source.next();
    if (event === undefined) {
      const error = new IntegrityError(
        "Cannot restore: the SQL script ends inside COPY data (the backup is truncated)",
      );
      spool.fail(error);
      throw error;
    }
    if (event.type === "copyEnd") {
      onEnd(event.rows);
      return spool.end();
    }
    if (event.type !== "data") {
      const error = new IntegrityError("Cannot restore: a COPY block is damaged");
      spool.fail(error);
      throw error;
    }
    const pending = spool.push(event.bytes);
    if (pending) await pending;
    sinceCollection += event.bytes.length;
    if (sinceCollection >= COLLECT_EVERY) {
      sinceCollection = 0;
      collectGarbage();
    }
  }
}

/**
 * One COPY block from its spool, in a transaction of its own: outside one, a COPY the server
 * rejects leaves no aborted transaction behind for copyIn's probe query to fail on, and the
 * error would be lost. The COPY's own error wins over the driver's complaint when the rollback
 * finds the COPY still open (a script cut short inside its data).
 */
async function copyFromSpool(
  lane: Lane,
  sql: string,
  spool: Spool,
  place?: ScriptPlace,
): Promise<void> {
  let copyError: unknown;
  try {
    await lane.connection.sql.begin((tx) =>
      copyIn(tx, sql, () => spool.next(), lane.sniffer, place).catch((error) => {
        throw copyError = error;
      })
    ).catch((error) => {
      throw copyError ?? error;
    });
  } finally {
    await spool.close();
  }
}
