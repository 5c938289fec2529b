/**
 * An application writing continuously, for the under-load drills: small transfer transactions at
 * a steady rate against a SQLite file or a PostgreSQL database, each moving an amount between two
 * of 100 accounts, logging it, and counting it, so any consistent snapshot satisfies
 * `sum(balance) = 100000` and `counter.n = count(log)`. Every transaction's start time and
 * latency are kept; on SIGTERM the writer prints them as JSON on stdout and exits.
 *
 *   deno run -A tests/helpers/load_writer.ts sqlite PATH [RATE]
 *   deno run -A tests/helpers/load_writer.ts postgres URL [RATE]
 *
 * {@linkcode prepareLoadSchema} makes the tables first (the writer never does).
 */
import { DatabaseSync } from "node:sqlite";
import postgres from "postgres";

/** The schema and the starting rows: 100 accounts of 1000. */
export const LOAD_SCHEMA = `
  CREATE TABLE accounts (id integer PRIMARY KEY, balance integer NOT NULL);
  CREATE TABLE log (id integer PRIMARY KEY, account integer NOT NULL, amount integer NOT NULL);
  CREATE TABLE counter (id integer PRIMARY KEY, n integer NOT NULL);
  INSERT INTO counter VALUES (1, 0);`;

/** What a stopped writer prints. */
export interface WriterReport {
  /** `[due time (epoch ms), latency from then to its commit (ms)]` per committed transaction. */
  samples: [number, number][];
  errors: number;
}

/** The invariant's query: a row `{ total, n, logged }` where total = 100000 and n = logged. */
export const INVARIANT_SQL =
  "SELECT (SELECT sum(balance) FROM accounts) AS total, (SELECT n FROM counter) AS n, " +
  "(SELECT count(*) FROM log) AS logged";

/** The 100 accounts' insert (both engines). */
export const ACCOUNTS_SQL = "INSERT INTO accounts (id, balance) " +
  "SELECT i, 1000 FROM (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c " +
  "WHERE i < 100) SELECT i FROM c) s";

async function main(): Promise<void> {
  const [engine, where, rateText] = Deno.args;
  const rate = Number(rateText ?? 250);
  let stopping = false;
  Deno.addSignalListener("SIGTERM", () => stopping = true);
  const samples: [number, number][] = [];
  let errors = 0;
  const transfer = engine === "sqlite" ? sqliteTransfer(where) : postgresTransfer(where);
  const interval = 1000 / rate;
  const started = performance.now();
  for (let i = 0; !stopping; i++) {
    const wait = started + i * interval - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const a = 1 + (i * 7919) % 100;
    const b = 1 + (i * 104729 + 13) % 100;
    // latency from the moment it was due, not from when it could start: a writer blocked for a
    // second delays every transaction due in that second (no coordinated omission)
    const due = started + i * interval;
    try {
      await transfer.run(a, b === a ? 1 + (a % 100) : b, 1 + (i % 50));
      samples.push([performance.timeOrigin + due, performance.now() - due]);
    } catch (error) {
      errors++;
      console.error(String(error));
    }
  }
  await transfer.close();
  console.log(JSON.stringify({ samples, errors } satisfies WriterReport));
}

interface Transfer {
  run(from: number, to: number, amount: number): Promise<void>;
  close(): Promise<void>;
}

function sqliteTransfer(path: string): Transfer {
  const db = new DatabaseSync(path);
  // a blocked writer waits (as an application with a busy timeout does) instead of failing
  db.exec("PRAGMA busy_timeout = 60000");
  // no fsync per commit: what is measured is the backup's effect, not this disk's fsync cost
  // (with FULL, a rollback-journal commit costs several fsyncs and 250/s queue up on their own)
  db.exec("PRAGMA synchronous = OFF");
  const debit = db.prepare("UPDATE accounts SET balance = balance - ? WHERE id = ?");
  const credit = db.prepare("UPDATE accounts SET balance = balance + ? WHERE id = ?");
  const log = db.prepare("INSERT INTO log (account, amount) VALUES (?, ?)");
  const count = db.prepare("UPDATE counter SET n = n + 1 WHERE id = 1");
  return {
    run: (from, to, amount) => {
      db.exec("BEGIN IMMEDIATE");
      try {
        debit.run(amount, from);
        credit.run(amount, to);
        log.run(from, amount);
        count.run();
        db.exec("COMMIT");
      } catch (error) {
        db.exec("ROLLBACK");
        throw error;
      }
      return Promise.resolve();
    },
    close: () => Promise.resolve(db.close()),
  };
}

function postgresTransfer(url: string): Transfer {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  return {
    run: async (from, to, amount) => {
      await sql.begin(async (tx) => {
        await tx`UPDATE accounts SET balance = balance - ${amount} WHERE id = ${from}`;
        await tx`UPDATE accounts SET balance = balance + ${amount} WHERE id = ${to}`;
        await tx`INSERT INTO log (id, account, amount)
                 VALUES ((SELECT coalesce(max(id), 0) + 1 FROM log), ${from}, ${amount})`;
        await tx`UPDATE counter SET n = n + 1 WHERE id = 1`;
      });
    },
    close: () => sql.end(),
  };
}

if (import.meta.main) await main();
