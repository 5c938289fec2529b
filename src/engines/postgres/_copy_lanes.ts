/**
 * Parallel table data for the dump, as `pg_dump -j` reads it: extra connections that each run
 * a `REPEATABLE READ READ ONLY` transaction on the dump's exported snapshot
 * (`SET TRANSACTION SNAPSHOT`), so every table is read as of the same moment as the catalogs.
 * The script stays one ordered stream: lanes copy the tables in script order, each into a spool
 * (`_spool.ts`), a few tables ahead of the writer, which takes the spools one after another.
 *
 * Like pg_dump, the lanes are connections of their own besides the dump's main one, which only
 * holds the snapshot meanwhile: a failure anywhere ends the lanes' connections at once, and the
 * main transaction is never left inside a COPY.
 */
import type postgres from "npm:postgres@3.4.9";
import type { TableData } from "./_model.ts";
import { type Connection, type ConnectionConfig, openConnection } from "./_connection.ts";
import { copyBlocks } from "./_copy.ts";
import { Spool, SpoolBudget, type SpoolLimits } from "./_spool.ts";

/** One table being copied (or copied) by a lane. */
export interface TableFetch {
  spool: Spool;
  /** Rows copied so far; final once the spool has ended. */
  rows: number;
}

/** Options of {@linkcode CopyOutLanes.open}. */
export interface CopyOutLanesOptions {
  /** Tables a lane may copy ahead of the one being written. Default 64. */
  ahead?: number;
  /** Spool limits (memory ahead, disk, per attached spool). Default: `DEFAULT_SPOOL_LIMITS`. */
  limits?: Partial<SpoolLimits>;
}

/** A connection inside a transaction on the shared snapshot. */
interface Lane {
  connection: Connection;
  tx: postgres.TransactionSql;
  /** Ends the lane's transaction. */
  release: () => void;
  /** Settles when the transaction has ended. */
  finished: Promise<unknown>;
}

const SNAPSHOT_ID = /^[0-9A-F-]+$/i;

/** Connections copying tables ahead of the writer; see the module comment. */
export class CopyOutLanes {
  readonly #lanes: Lane[];
  readonly #budget: SpoolBudget;
  readonly #ahead: number;
  #tables: TableData[] = [];
  readonly #fetches: TableFetch[] = [];
  #next = 0;
  /** Index of the table the writer takes next. */
  #writer = 0;
  #failure: unknown;
  #running: Promise<void>[] = [];
  #wake = new Set<() => void>();

  private constructor(lanes: Lane[], options: CopyOutLanesOptions) {
    this.#lanes = lanes;
    this.#budget = new SpoolBudget(options.limits);
    this.#ahead = Math.max(1, options.ahead ?? 64);
  }

  /**
   * Opens `count` lanes on `snapshot` (from `pg_export_snapshot()` in the dump's transaction,
   * which must stay open until this resolves). A lane that cannot connect or import the
   * snapshot is left out (a server near `max_connections` still gets a dump, on fewer lanes);
   * with no lane at all the result has `size` 0.
   */
  static async open(
    config: ConnectionConfig,
    snapshot: string,
    count: number,
    options: CopyOutLanesOptions = {},
  ): Promise<CopyOutLanes> {
    if (!SNAPSHOT_ID.test(snapshot)) throw new Error(`Unexpected snapshot id "${snapshot}"`);
    const opened = await Promise.allSettled(
      Array.from({ length: count }, () => openLane(config, snapshot)),
    );
    const lanes = opened.flatMap((r) => r.status === "fulfilled" ? [r.value] : []);
    return new CopyOutLanes(lanes, options);
  }

  /** Lanes open. */
  get size(): number {
    return this.#lanes.length;
  }

  /** The lanes' transactions, for catalog queries before the copying starts. */
  get transactions(): postgres.TransactionSql[] {
    return this.#lanes.map((lane) => lane.tx);
  }

  /** Starts copying `tables` in order, each lane taking the next table when it is free. */
  start(tables: TableData[]): void {
    this.#tables = tables;
    this.#running = this.#lanes.map((lane) => this.#run(lane));
  }

  /** Table `index` (taken in order, each once), once a lane has started it. */
  async take(index: number): Promise<TableFetch> {
    this.#writer = index;
    this.#notify();
    for (;;) {
      if (this.#failure !== undefined) throw this.#failure;
      const fetch = this.#fetches[index];
      if (fetch !== undefined) {
        fetch.spool.attach();
        return fetch;
      }
      await this.#changed();
    }
  }

  /** The writer is done with table `index`: its spool is released. */
  async done(index: number): Promise<void> {
    const fetch = this.#fetches[index];
    delete this.#fetches[index];
    this.#writer = index + 1;
    this.#notify();
    await fetch?.spool.close();
  }

  /**
   * Ends every lane: after the last table, their transactions end; after a failure their
   * connections are cut at once (a lane may be inside a COPY). Spools are released.
   */
  async close(): Promise<void> {
    const failed = this.#failure !== undefined || this.#next < this.#tables.length ||
      this.#fetches.some((f) => f !== undefined);
    this.#failure ??= new Error("The dump was stopped");
    this.#notify();
    await Promise.all(this.#fetches.map((f) => f?.spool.close()));
    for (const lane of this.#lanes) lane.release();
    await Promise.all(
      this.#lanes.map((lane) => lane.connection.sql.end({ timeout: failed ? 0 : 5 })),
    );
    await Promise.allSettled(this.#running);
    await Promise.allSettled(this.#lanes.map((lane) => lane.finished));
  }

  async #run(lane: Lane): Promise<void> {
    for (;;) {
      while (this.#next - this.#writer >= this.#ahead && this.#failure === undefined) {
        await this.#changed();
      }
      if (this.#failure !== undefined || this.#next >= this.#tables.length) return;
      const index = this.#next++;
      const fetch: TableFetch = { spool: new Spool(this.#budget), rows: 0 };
      this.#fetches[index] = fetch;
      this.#notify();
      try {
        fetch.rows = await copyBlocks(
          lane.tx,
          this.#tables[index],
          (block) => fetch.spool.push(block),
          () => lane.connection.resumeSockets(),
          { onRows: (rows) => fetch.rows = rows },
        );
        fetch.spool.end();
      } catch (error) {
        this.#failure ??= error;
        for (const other of this.#fetches) other?.spool.fail(this.#failure);
        this.#notify();
        return;
      }
    }
  }

  #changed(): Promise<void> {
    return new Promise((resolve) => this.#wake.add(resolve));
  }

  #notify(): void {
    const waiting = [...this.#wake];
    this.#wake.clear();
    for (const wake of waiting) wake();
  }
}

/** A new connection in a read-only transaction on `snapshot`, with the dump's settings. */
async function openLane(config: ConnectionConfig, snapshot: string): Promise<Lane> {
  const connection = openConnection(config);
  const release = Promise.withResolvers<void>();
  const ready = Promise.withResolvers<postgres.TransactionSql>();
  const finished = connection.sql.begin("ISOLATION LEVEL REPEATABLE READ READ ONLY", async (tx) => {
    await tx.unsafe(`SET TRANSACTION SNAPSHOT '${snapshot}'`);
    // As in the main transaction: names in the data (regclass values) come out qualified.
    await tx.unsafe("SELECT pg_catalog.set_config('search_path', '', true)");
    ready.resolve(tx);
    await release.promise;
  });
  finished.catch((error) => ready.reject(error));
  try {
    const tx = await ready.promise;
    return { connection, tx, release: () => release.resolve(), finished };
  } catch (error) {
    await connection.sql.end({ timeout: 0 });
    throw error;
  }
}
