/**
 * `restore --create` into a database that does not exist yet, on several connections: the script
 * loads into a new database of its own (a unique name nobody uses), which is renamed to the
 * target only once everything succeeded; on any failure it is dropped and the target never
 * appears. Not being one transaction is what lets the index and key builds of different tables,
 * the slowest part of a restore after the data, run side by side (as `pg_restore -j` does).
 *
 * What runs in parallel is deliberately narrow: after the data, a run of consecutive statements
 * of one kind — plain `CREATE [UNIQUE] INDEX ... ON table`, or `ALTER TABLE ONLY table ADD
 * CONSTRAINT ... PRIMARY KEY|UNIQUE` — on distinct tables. Each of those locks one table, so
 * they cannot deadlock, and everything that might depend on them (foreign keys, comments, index
 * attachments, triggers, ...) waits until the whole run has finished. Everything else runs in
 * script order on one connection; `SET` statements run on every connection.
 */
import { IntegrityError } from "../../core/errors.ts";
import {
  checkConnection,
  type Connection,
  type ConnectionConfig,
  openConnection,
  withDatabase,
} from "./_connection.ts";
import { createDatabase, dropDatabase, type NewDatabase, renameDatabase } from "./_databases.ts";
import { ErrorSniffer } from "./_error_sniffer.ts";
import { copyIn, decodeScript, runStatements } from "./_load_steps.ts";
import type { ScriptEvent } from "./_script_reader.ts";
import type { ScriptSource } from "./_script_source.ts";
import { SESSION_SETTINGS } from "./_script.ts";

/**
 * Connections loading at once. 2 on a 2-core server: each index build is one busy backend,
 * and a third only queues for the same cores.
 */
const LANES = 2;

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
const SETTING = /^(?:SET\s|SELECT\s+pg_catalog\.set_config\()/i;

/** A statement that may run beside others of its kind, and the table it locks. */
export function parallelKind(sql: string): { kind: "index" | "key"; table: string } | undefined {
  const index = INDEX.exec(sql);
  if (index) return { kind: "index", table: index[1] };
  const key = KEY.exec(sql);
  if (key) return { kind: "key", table: key[1] };
  return undefined;
}

/** One connection and the statements queued on it, run one at a time. */
class Lane {
  readonly connection: Connection;
  readonly sniffer = new ErrorSniffer();
  #tail: Promise<void> = Promise.resolve();

  constructor(config: ConnectionConfig) {
    this.connection = openConnection(config, { sniffer: this.sniffer });
  }

  /** Queues `step` behind what is queued; a failure stops the lane and {@linkcode idle} rejects. */
  queue(step: () => Promise<void>): Promise<void> {
    this.#tail = this.#tail.then(step);
    return this.#tail;
  }

  /** Resolves when everything queued has run; rejects with the first failure. */
  idle(): Promise<void> {
    return this.#tail;
  }
}

/**
 * Loads the script from `first` on into a new database, then renames it to `target`. Throws
 * after dropping the new database if anything fails; the target is never touched.
 */
export async function loadFresh(
  target: ConnectionConfig,
  database: NewDatabase,
  first: ScriptEvent | undefined,
  source: ScriptSource,
  checkComplete: () => void,
): Promise<void> {
  const load = withDatabase(
    target,
    `backup_manager_load_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`,
  );
  await createDatabase(load, database);
  const lanes: Lane[] = [];
  try {
    for (let i = 0; i < LANES; i++) lanes.push(new Lane(load));
    for (const lane of lanes) {
      await checkConnection(lane.connection);
      await runStatements(lane.connection.sql, SESSION_SETTINGS);
    }
    await run(lanes, first, source);
    await Promise.all(lanes.map((lane) => lane.idle()));
    checkComplete();
    await Promise.all(lanes.map((lane) => lane.connection.end()));
    await renameDatabase(load, target.database);
  } catch (error) {
    // Settle every lane before dropping: a statement still running holds the database open.
    await Promise.allSettled(lanes.map((lane) => lane.idle()));
    await Promise.allSettled(lanes.map((lane) => lane.connection.end()));
    await dropDatabase(load).catch(() => {});
    throw error;
  }
}

async function run(
  lanes: Lane[],
  first: ScriptEvent | undefined,
  source: ScriptSource,
): Promise<void> {
  const main = lanes[0];
  /** The kind of the parallel run in progress, and which lane took each of its tables. */
  let group: { kind: string; tables: Map<string, Lane> } | undefined;
  let next = 0;
  let failure: unknown;
  const barrier = async () => {
    group = undefined;
    await Promise.all(lanes.map((lane) => lane.idle()));
  };
  for (let event = first; event !== undefined; event = await source.next()) {
    if (failure) throw failure;
    switch (event.type) {
      case "statement": {
        const sql = decodeScript(event.sql);
        const parallel = parallelKind(sql);
        if (parallel === undefined) {
          await barrier();
          if (SETTING.test(sql)) {
            await Promise.all(lanes.map((lane) => runStatements(lane.connection.sql, sql)));
          } else await runStatements(main.connection.sql, sql);
          break;
        }
        if (group?.kind !== parallel.kind) {
          await barrier();
          group = { kind: parallel.kind, tables: new Map() };
        }
        let lane = group.tables.get(parallel.table);
        if (lane === undefined) {
          lane = lanes[next++ % lanes.length];
          group.tables.set(parallel.table, lane);
        }
        lane.queue(() => runStatements(lane.connection.sql, sql)).catch((error) => {
          failure ??= error;
        });
        break;
      }
      case "clean":
        break; // a new database has nothing to drop
      case "copy": {
        const copy = event;
        await barrier();
        // In a transaction of its own: outside one, a COPY the server rejects leaves no aborted
        // transaction behind for copyIn's probe query to fail on, and the error would be lost.
        // The COPY's own error wins over the driver's complaint when the rollback finds the
        // COPY still open (a script cut short inside its data).
        let copyError: unknown;
        await main.connection.sql.begin((tx) =>
          copyIn(tx, copy.sql, source, main.sniffer).catch((error) => {
            throw copyError = error;
          })
        ).catch((error) => {
          throw copyError ?? error;
        });
        break;
      }
      default:
        throw new IntegrityError("Cannot restore: COPY data outside a COPY block");
    }
  }
  await barrier();
  if (failure) throw failure;
}
