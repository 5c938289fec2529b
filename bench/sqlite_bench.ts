/**
 * SQLite backup benchmark: `deno task bench [--size-mb N] [--quick]`.
 *
 * What is measured, and why:
 * - **create**: wall time of `backup-manager create` (a fresh `deno run` subprocess, so start-up
 *   is included, as a user or cron would pay it) against the obvious alternative, `sqlite3 DB .dump
 *   | gzip -6`. Target: ours ≤ 0.55 × reference.
 * - **restore**: wall time of `backup-manager restore <id> --to NEW.db --force` (a new path, so no
 *   "pre-restore" safety backup is taken and the work matches the reference) against
 *   `gunzip -c ref.sql.gz | sqlite3 NEW.db`. Target: ours ≤ 0.5 × reference.
 * - **peak RSS** (`/usr/bin/time -f %M`) of our create and restore on a small and a large
 *   database: memory must not grow with the database (large/small within 10 %) and must stay
 *   under 300 MiB, since backups run next to the application they protect.
 *
 * The databases are built once in `bench/.work/` (reused while their size and generator version
 * match) with the sqlite3 CLI: customers, orders (with a 40-byte random BLOB) and JSON-ish events,
 * four indexes, WAL mode, mostly random content so a dump compresses about 3×, like real data
 * and unlike a synthetic table of repeated strings. Times are medians of several runs after one
 * warm-up read of the database; the page cache cannot be dropped here, so both sides read warm.
 * The benchmark always exits 0; a missed target is printed as FAIL.
 */

import { loadavg } from "node:os";
import {
  benchCreate,
  CLI,
  type CreateResult,
  fileSize,
  MIB,
  mib,
  ours,
  printRss,
  printTable,
  remove,
  type Run,
  run,
  seconds,
  shell,
  sizeArgs,
  WORK,
} from "./_measure.ts";

/** Bumped when the generated schema or content changes, so old databases are rebuilt. */
const GENERATOR_VERSION = 3;
/** Database bytes per "unit" (1 customer, 4 orders, 3 events), measured with this generator. */
const BYTES_PER_UNIT = 1250;
const SIZE_TOLERANCE = 0.1;
const TARGET = { create: 0.55, restore: 0.5 };

interface Options {
  smallMiB: number;
  largeMiB: number;
  reps: number;
  largeReps: number;
}

// ---------------------------------------------------------------- options

function parseOptions(): Options {
  const { quick, largeMiB } = sizeArgs();
  return {
    smallMiB: quick ? 30 : 100,
    largeMiB,
    reps: quick ? 1 : 2,
    largeReps: quick ? 1 : 3,
  };
}

/** Reads the database once so that every timed run starts from the same (warm) page cache. */
export async function warmUp(db: string): Promise<void> {
  await shell(`cat '${db}' > /dev/null`);
}

export function removeDatabase(path: string): Promise<void> {
  return remove(path, `${path}-wal`, `${path}-shm`, `${path}-journal`);
}

// ---------------------------------------------------------------- database generation

/** SQL picking one of `words` at random (fixed-width slots in one string literal: no join). */
function pick(words: string[]): string {
  const width = Math.max(...words.map((w) => w.length)) + 1;
  const slots = words.map((w) => w.padEnd(width)).join("");
  return `trim(substr('${slots}', 1 + ${width} * (abs(random()) % ${words.length}), ${width}))`;
}

/** SQL for a random ISO-8601 UTC timestamp between 2017 and 2025. */
const RANDOM_TIME = `strftime('%Y-%m-%dT%H:%M:%SZ', 1500000000 + abs(random()) % 250000000, ` +
  `'unixepoch')`;

const FIRST = [
  "Alice",
  "Bob",
  "Carla",
  "David",
  "Emma",
  "Farid",
  "Grace",
  "Hiro",
  "Ines",
  "Jonas",
  "Kenji",
  "Lena",
  "Mateo",
  "Nadia",
  "Oscar",
  "Priya",
];
const LAST = [
  "Smith",
  "Garcia",
  "Nguyen",
  "Müller",
  "Rossi",
  "Kowalski",
  "Tanaka",
  "Dubois",
  "Silva",
  "Jensen",
  "Okafor",
  "Novak",
  "Haddad",
  "Larsen",
  "Moreau",
  "Ivanova",
];

function seq(n: number): string {
  return `WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ${n})`;
}

/** The whole generator script for `units` customers (and 4 orders, 3 events per customer). */
function generatorSql(units: number): string {
  const first = `substr('${FIRST.map((w) => w.padEnd(6)).join("")}', 1 + 6 * f, 6)`;
  const last = `substr('${LAST.map((w) => w.padEnd(9)).join("")}', 1 + 9 * l, 9)`;
  const domains = ["example.com", "mail.test", "corp.example", "shop.test", "inbox.example"];
  const cities = ["Berlin", "Lisbon", "Osaka", "Toronto", "Nairobi", "Lyon", "Krakow", "Austin"];
  return `
PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;
PRAGMA user_version = ${GENERATOR_VERSION};
CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL,
  city TEXT, balance REAL NOT NULL, created_at TEXT NOT NULL, notes TEXT);
CREATE TABLE orders(id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),
  total REAL NOT NULL, status TEXT NOT NULL, ordered_at TEXT NOT NULL, token BLOB NOT NULL);
CREATE TABLE events(id INTEGER PRIMARY KEY, kind TEXT NOT NULL, created_at TEXT NOT NULL,
  payload TEXT NOT NULL);
BEGIN;
${
    seq(units)
  }, r(i, f, l) AS MATERIALIZED (SELECT i, abs(random()) % 16, abs(random()) % 16 FROM seq)
INSERT INTO customers SELECT i,
  trim(${first}) || ' ' || trim(${last}),
  lower(trim(${first})) || '.' || lower(hex(randomblob(3))) || '@' || ${pick(domains)},
  CASE WHEN abs(random()) % 20 = 0 THEN NULL ELSE ${pick(cities)} END,
  (abs(random()) % 10000000) / 100.0,
  ${RANDOM_TIME},
  CASE WHEN abs(random()) % 3 = 0 THEN NULL
    ELSE 'ref ' || hex(randomblob(4)) || ' prefers ' || ${pick(["email", "phone", "post"])} END
FROM r;
${seq(units * 4)}
INSERT INTO orders SELECT i, 1 + abs(random()) % ${units}, (abs(random()) % 5000000) / 100.0,
  ${pick(["pending", "paid", "shipped", "delivered", "refunded"])}, ${RANDOM_TIME}, randomblob(40)
FROM seq;
${seq(units * 3)}
INSERT INTO events SELECT i, ${pick(["login", "logout", "view", "search", "checkout"])},
  ${RANDOM_TIME},
  '{"user":' || (1 + abs(random()) % ${units}) || ',"ip":"10.' || (abs(random()) % 256) || '.' ||
  (abs(random()) % 256) || '.' || (abs(random()) % 256) || '","path":"/' ||
  ${pick(["products", "cart", "account", "search", "help"])} || '/' || (abs(random()) % 100000) ||
  '","session":"' || lower(hex(randomblob(12))) || '","ms":' || (abs(random()) % 5000) ||
  ',"ok":' || CASE WHEN abs(random()) % 10 = 0 THEN 'false' ELSE 'true' END || '}'
FROM seq;
COMMIT;
CREATE INDEX customers_email ON customers(email);
CREATE INDEX orders_customer ON orders(customer_id);
CREATE INDEX orders_date ON orders(ordered_at);
CREATE INDEX events_kind_time ON events(kind, created_at);
PRAGMA journal_mode = WAL;
`;
}

/** True if `path` exists, was made by this generator version and is within tolerance of size. */
async function isReusable(path: string, targetMiB: number): Promise<boolean> {
  try {
    const size = await fileSize(path);
    if (Math.abs(size / (targetMiB * MIB) - 1) > SIZE_TOLERANCE) return false;
    const { stdout } = await run("sqlite3", [path, "PRAGMA user_version; PRAGMA journal_mode;"]);
    return stdout.trim() === `${GENERATOR_VERSION}\nwal`;
  } catch {
    return false;
  }
}

/** Builds (or reuses) a database of about `targetMiB`; returns its path. */
export async function ensureDatabase(name: string, targetMiB: number): Promise<string> {
  const path = `${WORK}${name}.db`;
  if (await isReusable(path, targetMiB)) {
    console.log(`reusing ${path} (${mib(await fileSize(path))})`);
    return path;
  }
  const partial = `${path}.partial`;
  await removeDatabase(path);
  await removeDatabase(partial);
  const units = Math.round(targetMiB * MIB / BYTES_PER_UNIT);
  const { seconds } = await run("sqlite3", [partial], generatorSql(units));
  await Deno.rename(partial, path);
  console.log(`built ${path} (${mib(await fileSize(path))}) in ${seconds.toFixed(1)} s`);
  return path;
}

// ---------------------------------------------------------------- measurements

/** Row counts and a few aggregates: a cheap check that a restore produced the same data. */
async function fingerprint(db: string): Promise<string> {
  const { stdout } = await run("sqlite3", [
    db,
    `SELECT (SELECT count(*) FROM customers), (SELECT total(balance) FROM customers),
       (SELECT count(*) FROM orders), (SELECT sum(length(token)) FROM orders),
       (SELECT count(*) FROM events), (SELECT sum(length(payload)) FROM events);`,
  ]);
  return stdout.trim();
}

export async function checkRestored(
  source: string,
  restored: string,
  label: string,
): Promise<void> {
  const [want, got] = await Promise.all([fingerprint(source), fingerprint(restored)]);
  console.log(
    want === got
      ? `${label}: row counts and aggregates match the source`
      : `FAIL: ${label} differs from the source: ${got} vs ${want}`,
  );
}

async function benchRestore(
  db: string,
  dir: string,
  created: CreateResult,
  reps: number,
  withRef: boolean,
): Promise<{ ours: Run[]; reference: Run[] }> {
  const target = `${dir}/restored.db`;
  const refTarget = `${dir}/ref-restored.db`;
  const oursRuns: Run[] = [];
  const refRuns: Run[] = [];
  await warmUp(`${dir}/${created.id}.sql.gz`);
  for (let i = 0; i < reps; i++) {
    await removeDatabase(target);
    oursRuns.push(await ours(["restore", created.id, "--to", target, "--dir", dir, "--force"]));
    if (withRef) {
      await removeDatabase(refTarget);
      refRuns.push(await shell(`gunzip -c '${created.refDump}' | sqlite3 '${refTarget}'`));
    }
  }
  await checkRestored(db, target, "our restore");
  return { ours: oursRuns, reference: refRuns };
}

// ---------------------------------------------------------------- report

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const options = parseOptions();
  await Deno.mkdir(WORK, { recursive: true });
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  const smallDb = await ensureDatabase("small", options.smallMiB);
  const largeDb = await ensureDatabase("large", options.largeMiB);
  const startup = await run(Deno.execPath(), ["run", "-A", CLI, "--version"]);

  const smallDir = `${WORK}backups-small`;
  const largeDir = `${WORK}backups-large`;
  const smallCreate = await benchCreate(
    smallDb,
    smallDir,
    options.reps,
    null,
    () => warmUp(smallDb),
  );
  const smallRestore = await benchRestore(smallDb, smallDir, smallCreate, options.reps, false);
  const largeCreate = await benchCreate(
    largeDb,
    largeDir,
    options.largeReps,
    (refDump) => `sqlite3 '${largeDb}' .dump | gzip -6 > '${refDump}'`,
    () => warmUp(largeDb),
  );
  const largeRestore = await benchRestore(largeDb, largeDir, largeCreate, options.largeReps, true);

  const oursGz = await fileSize(`${largeDir}/${largeCreate.id}.sql.gz`);
  const refGz = await fileSize(largeCreate.refDump);
  const internalMs = JSON.parse(largeCreate.ours.at(-1)!.stdout).durationMs;
  console.log();
  console.log(
    `databases: small ${mib(await fileSize(smallDb))}, large ${
      mib(await fileSize(largeDb))
    } (WAL mode; median of ${options.largeReps} run(s) on large)`,
  );
  console.log(
    `large compressed: ours ${mib(oursGz)}, reference .dump|gzip -6 ${mib(refGz)} ` +
      `(db/ours ${(await fileSize(largeDb) / oursGz).toFixed(2)}×)`,
  );
  console.log(
    `CLI start-up (--version): ${startup.seconds.toFixed(2)} s; last large create reports ` +
      `${(internalMs / 1000).toFixed(2)} s of its own`,
  );
  console.log();
  printTable([
    { operation: "create (large)", ...largeCreate, target: TARGET.create },
    { operation: "restore (large)", ...largeRestore, target: TARGET.restore },
  ]);
  console.log();
  printRss("create", smallCreate.ours, largeCreate.ours);
  printRss("restore", smallRestore.ours, largeRestore.ours);
  console.log(
    `small (ours only): create ${seconds(smallCreate.ours).toFixed(2)} s, restore ` +
      `${seconds(smallRestore.ours).toFixed(2)} s`,
  );
  console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  await remove(smallDir, largeDir, `${WORK}rss.txt`);
}

if (import.meta.main) await main();
