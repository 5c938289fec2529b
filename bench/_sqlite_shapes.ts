/**
 * SQLite databases of one table shape each, for the shape matrix (`shapes_bench.ts`): built with
 * `node:sqlite` from a seeded generator, so the same version and size always give the same rows.
 * Each shape fills the database until the file has grown by the bytes asked for (`PRAGMA
 * page_count` after every batch of about 1 MB), so sizes need no calibration; "large" is every shape in one file, each
 * with an equal share. Content is mostly random (names, codes, digits, random blobs): a dump
 * compresses 2-4×, like real data, and the blobs not at all.
 */

import { DatabaseSync, type SQLInputValue } from "node:sqlite";

/** One shape: its name on the command line, what it holds, and how to fill a database with it. */
export interface SqliteShape {
  name: string;
  title: string;
  /** Bumped when the shape's schema or content changes, so built databases are rebuilt. */
  version: number;
  /** Creates the shape's tables in `db` and fills them until the file holds `target` bytes. */
  fill(db: DatabaseSync, target: number): void;
}

/** A small seeded generator (mulberry32): the same seed gives the same database. */
class Random {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** A uniform 32-bit unsigned integer. */
  uint32(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** A float in [0, 1). */
  float(): number {
    return this.uint32() / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  /** `n` lowercase hex digits. */
  hex(n: number): string {
    let out = "";
    while (out.length < n) out += this.uint32().toString(16).padStart(8, "0");
    return out.slice(0, n);
  }
  /** `n` random (incompressible) bytes. */
  bytes(n: number): Uint8Array {
    const words = new Uint32Array(Math.ceil(n / 4));
    for (let i = 0; i < words.length; i++) words[i] = this.uint32();
    return new Uint8Array(words.buffer, 0, n);
  }
  /** An ISO-8601 UTC timestamp between 2017 and 2025. */
  time(): string {
    return new Date((1_500_000_000 + this.int(250_000_000)) * 1000).toISOString().slice(0, 19) +
      "Z";
  }
  /** `count` words of `vocabulary`, skewed towards its start like natural text. */
  words(vocabulary: readonly string[], count: number): string {
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      out.push(vocabulary[Math.floor(vocabulary.length * this.float() ** 2)]);
    }
    return out.join(" ");
  }
}

const FIRST = ["Alice", "Bob", "Carla", "David", "Emma", "Farid", "Grace", "Hiro", "Inès", "Jonas"]
  .concat(["Kenji", "Lena", "Mateo", "Nadia", "Oscar", "Priya", "Zoë", "Łukasz", "Søren", "Yuki"]);
const LAST = ["Smith", "García", "Nguyen", "Müller", "Rossi", "Kowalski", "Tanaka", "Dubois"]
  .concat(["Silva", "Jensen", "Okafor", "Novák", "Haddad", "Larsen", "Moreau", "Ivanova"]);
const CITIES = ["Berlin", "Lisbon", "Osaka", "Toronto", "Nairobi", "Lyon", "Kraków", "Austin"];
const DOMAINS = ["example.com", "mail.test", "corp.example", "shop.test", "inbox.example"];
const STATUSES = ["pending", "paid", "shipped", "delivered", "refunded"];
const KINDS = ["login", "logout", "view", "search", "checkout"];
const PATHS = ["products", "cart", "account", "search", "help"];
const MIMES = ["application/pdf", "image/jpeg", "image/png", "application/zip", "video/mp4"];

/** 4,000 pseudo-words made of syllables: the FTS5 vocabulary and the notes' words. */
export const VOCABULARY: readonly string[] = (() => {
  const syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "qui", "dor"]
    .concat(["an", "el", "is", "ob", "ur", "tra", "ple", "gon", "fer", "bas", "cle", "mun"]);
  const random = new Random(7);
  return Array.from({ length: 4000 }, () => {
    let word = "";
    for (let n = 2 + random.int(3); n > 0; n--) word += random.pick(syllables);
    return word;
  });
})();

/** Bytes in the database file now. */
function databaseBytes(db: DatabaseSync): number {
  const sql = "SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()";
  return Number((db.prepare(sql).get() as { n: number }).n);
}

/**
 * Runs `batch` (which inserts rows; `round` counts from 0) in one transaction at a time until
 * the database file holds `target` bytes.
 */
function fillUntil(db: DatabaseSync, target: number, batch: (round: number) => void): void {
  for (let round = 0; databaseBytes(db) < target; round++) {
    db.exec("BEGIN");
    batch(round);
    db.exec("COMMIT");
  }
}

/** A prepared INSERT of `columns` values into `table`. */
function inserter(db: DatabaseSync, table: string, columns: number) {
  const statement = db.prepare(
    `INSERT INTO ${table} VALUES (${Array(columns).fill("?").join(", ")})`,
  );
  return (...values: SQLInputValue[]) => statement.run(...values);
}

function fillPlain(db: DatabaseSync, target: number): void {
  const random = new Random(1);
  db.exec(`
CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL,
  city TEXT, balance REAL NOT NULL, created_at TEXT NOT NULL, notes TEXT);
CREATE TABLE orders(id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),
  total REAL NOT NULL, status TEXT NOT NULL, ordered_at TEXT NOT NULL, token BLOB NOT NULL);
CREATE TABLE events(id INTEGER PRIMARY KEY, kind TEXT NOT NULL, created_at TEXT NOT NULL,
  payload TEXT NOT NULL);
CREATE INDEX customers_email ON customers(email);
CREATE INDEX orders_customer ON orders(customer_id);
CREATE INDEX orders_date ON orders(ordered_at);
CREATE INDEX events_kind_time ON events(kind, created_at);`);
  const [customer, order, event] = [
    inserter(db, "customers", 7),
    inserter(db, "orders", 6),
    inserter(db, "events", 4),
  ];
  let units = 0;
  fillUntil(db, target, () => {
    for (let n = 0; n < 1000; n++) {
      const id = ++units;
      const first = random.pick(FIRST);
      customer(
        id,
        `${first} ${random.pick(LAST)}`,
        `${first.toLowerCase()}.${random.hex(6)}@${random.pick(DOMAINS)}`,
        random.int(20) === 0 ? null : random.pick(CITIES),
        random.int(10_000_000) / 100,
        random.time(),
        random.int(3) === 0 ? null : `ref ${random.hex(8)} prefers ${random.pick(PATHS)}`,
      );
      for (let k = 0; k < 4; k++) {
        order(
          id * 4 + k,
          1 + random.int(id),
          random.int(5_000_000) / 100,
          random.pick(STATUSES),
          random.time(),
          random.bytes(40),
        );
      }
      for (let k = 0; k < 3; k++) {
        const ip = `10.${random.int(256)}.${random.int(256)}.${random.int(256)}`;
        event(
          id * 3 + k,
          random.pick(KINDS),
          random.time(),
          `{"user":${1 + random.int(id)},"ip":"${ip}","path":"/${random.pick(PATHS)}/` +
            `${random.int(100_000)}","session":"${random.hex(24)}","ms":${random.int(5000)}}`,
        );
      }
    }
  });
}

/** 2,500 SKUs × 30 days per warehouse, in key order; about 375k rows per 100 MiB. */
function fillComposite(db: DatabaseSync, target: number): void {
  const random = new Random(2);
  db.exec(`
CREATE TABLE stock(warehouse INTEGER NOT NULL, sku TEXT NOT NULL, day TEXT NOT NULL,
  qty INTEGER NOT NULL, price REAL NOT NULL, note TEXT,
  PRIMARY KEY (warehouse, sku, day)) WITHOUT ROWID;
CREATE INDEX stock_sku_day ON stock(sku, day);`);
  const insert = inserter(db, "stock", 6);
  let i = 0;
  fillUntil(db, target, () => {
    for (let n = 0; n < 4000; n++, i++) {
      const day = new Date(Date.UTC(2025, 0, 1 + (i % 30))).toISOString().slice(0, 10);
      insert(
        1 + Math.floor(i / 75_000),
        `SKU-${String(Math.floor(i / 30) % 2500).padStart(6, "0")}`,
        day,
        random.int(1000),
        random.int(100_000) / 100,
        random.int(10) === 0 ? null : random.words(VOCABULARY, 15 + random.int(20)),
      );
    }
  });
}

/** Half the rows all zeros; `raw` has no type (no REAL affinity), so it keeps -0.0. */
function fillZeros(db: DatabaseSync, target: number): void {
  const random = new Random(3);
  db.exec(`
CREATE TABLE readings(id INTEGER PRIMARY KEY, sensor INTEGER NOT NULL, taken_at TEXT NOT NULL,
  value REAL NOT NULL, low REAL, high REAL, delta REAL, raw);
CREATE INDEX readings_sensor_time ON readings(sensor, taken_at);`);
  const insert = inserter(db, "readings", 8);
  let id = 0;
  fillUntil(db, target, () => {
    for (let n = 0; n < 10_000; n++) {
      const [sensor, time] = [random.int(500), random.time()];
      if (random.int(2) === 0) {
        insert(++id, sensor, time, 0.0, 0.0, 0.0, 0.0, random.int(8) === 0 ? -0.0 : 0.0);
      } else {
        const value = (random.float() - 0.5) * 2000;
        const low = value - random.float() * 10;
        insert(++id, sensor, time, value, low, value + random.float() * 10, value - low, value);
      }
    }
  });
}

/** `wide_records`: an id and 149 columns of five kinds, one value in ten NULL. */
function fillWide(db: DatabaseSync, target: number): void {
  const random = new Random(4);
  const kinds: [string, () => SQLInputValue][] = [
    ["INTEGER", () => random.int(1_000_000)],
    ["TEXT", () => random.pick(VOCABULARY) + " " + random.pick(VOCABULARY)],
    ["REAL", () => random.int(10_000_000) / 100],
    ["TEXT", () => `${random.pick(CITIES).slice(0, 3).toUpperCase()}-${random.int(10_000)}`],
    ["INTEGER", () => random.int(2)],
  ];
  const columns = Array.from({ length: 149 }, (_, i) => ({
    name: `c${String(i + 1).padStart(3, "0")}`,
    kind: kinds[i % kinds.length],
  }));
  const definitions = columns.map((c) => `${c.name} ${c.kind[0]}`).join(", ");
  db.exec(`CREATE TABLE wide_records(id INTEGER PRIMARY KEY, ${definitions})`);
  const insert = inserter(db, "wide_records", 150);
  let id = 0;
  fillUntil(db, target, () => {
    for (let n = 0; n < 500; n++) {
      insert(++id, ...columns.map((c) => random.int(10) === 0 ? null : c.kind[1]()));
    }
  });
}

/** `files`: random, incompressible contents of 200 KB to 2 MB. */
function fillBlobs(db: DatabaseSync, target: number): void {
  const random = new Random(5);
  db.exec(`CREATE TABLE files(id INTEGER PRIMARY KEY, name TEXT NOT NULL, mime TEXT NOT NULL,
    created_at TEXT NOT NULL, content BLOB NOT NULL)`);
  const insert = inserter(db, "files", 5);
  let id = 0;
  fillUntil(db, target, () => {
    const size = 200_000 + random.int(1_800_001);
    insert(
      ++id,
      `upload-${id}-${random.hex(8)}.bin`,
      random.pick(MIMES),
      random.time(),
      random.bytes(size),
    );
  });
}

/** 1,200 tables `t0001`…, filled round-robin (10 rows each per round); every third indexed. */
function fillManyTables(db: DatabaseSync, target: number): void {
  const random = new Random(6);
  const names = Array.from({ length: 1200 }, (_, i) => `t${String(i + 1).padStart(4, "0")}`);
  db.exec(
    names.map((t, i) =>
      `CREATE TABLE ${t}(id INTEGER PRIMARY KEY, code TEXT NOT NULL, amount REAL, note TEXT, ` +
      `created_at TEXT NOT NULL);` + (i % 3 === 2 ? `CREATE INDEX ${t}_code ON ${t}(code);` : "")
    ).join("\n"),
  );
  const inserts = names.map((t) => inserter(db, t, 5));
  fillUntil(db, target, (round) => {
    for (const insert of inserts) {
      for (let n = 1; n <= 10; n++) {
        insert(
          round * 10 + n,
          `${random.pick(STATUSES)}-${random.hex(6)}`,
          random.int(2) ? random.int(1_000_000) / 100 : null,
          random.words(VOCABULARY, 3 + random.int(10)),
          random.time(),
        );
      }
    }
  });
}

/** `docs`: an FTS5 table, titles and 40-100-word bodies; about 100k documents per 100 MiB. */
function fillFts5(db: DatabaseSync, target: number): void {
  const random = new Random(8);
  db.exec(`CREATE VIRTUAL TABLE docs USING fts5(title, body)`);
  const insert = db.prepare("INSERT INTO docs(rowid, title, body) VALUES (?, ?, ?)");
  let id = 0;
  fillUntil(db, target, () => {
    for (let n = 0; n < 500; n++) {
      insert.run(
        ++id,
        random.words(VOCABULARY, 3 + random.int(5)),
        random.words(VOCABULARY, 40 + random.int(60)),
      );
    }
  });
}

/** Every SQLite shape, in the order the matrix measures them ("large" comes last). */
export const SQLITE_SHAPES: readonly SqliteShape[] = [
  { name: "plain", title: "rowid tables, 4 indexes", version: 1, fill: fillPlain },
  { name: "composite", title: "WITHOUT ROWID, composite key", version: 1, fill: fillComposite },
  { name: "zeros", title: "REAL, half 0.0, some -0.0", version: 1, fill: fillZeros },
  { name: "wide", title: "150 columns", version: 1, fill: fillWide },
  { name: "blobs", title: "blobs 200 KB-2 MB", version: 1, fill: fillBlobs },
  { name: "many_tables", title: "1,200 small tables", version: 1, fill: fillManyTables },
  { name: "fts5", title: "FTS5 documents", version: 1, fill: fillFts5 },
];

/** Every shape in one database, one after the other, each with an equal share of `target`. */
export const SQLITE_LARGE: SqliteShape = {
  name: "large",
  title: "all shapes, mixed",
  version: SQLITE_SHAPES.reduce((sum, s) => sum + s.version, 0),
  fill(db, target) {
    const share = target / SQLITE_SHAPES.length;
    for (const shape of SQLITE_SHAPES) shape.fill(db, databaseBytes(db) + share);
  },
};

/** A built database: where it is, its size, and the seconds its build took (0: reused). */
export interface BuiltDatabase {
  path: string;
  bytes: number;
  buildSeconds: number;
}

/**
 * The database of `shape` at about `miB` in `dir` (`sqlite-NAME-vVERSION-SIZEmb.db`), built when
 * missing: into a `.partial` file renamed into place when done, so a database that exists is
 * complete; other versions of the same size are removed. WAL mode, like an application's.
 */
export function ensureSqliteShape(shape: SqliteShape, dir: string, miB: number): BuiltDatabase {
  const base = `sqlite-${shape.name}-v`;
  const path = `${dir}${base}${shape.version}-${miB}mb.db`;
  try {
    return { path, bytes: Deno.statSync(path).size, buildSeconds: 0 };
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  Deno.mkdirSync(dir, { recursive: true });
  for (const entry of Deno.readDirSync(dir)) {
    const stale = entry.name.startsWith(base) && entry.name.includes(`-${miB}mb.db`);
    if (stale) Deno.removeSync(dir + entry.name);
  }
  const start = performance.now();
  const partial = `${path}.partial`;
  const db = new DatabaseSync(partial);
  try {
    db.exec("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144");
    shape.fill(db, databaseBytes(db) + miB * 1024 * 1024);
    db.exec("PRAGMA journal_mode = WAL");
  } finally {
    db.close();
  }
  Deno.renameSync(partial, path);
  const buildSeconds = (performance.now() - start) / 1000;
  return { path, bytes: Deno.statSync(path).size, buildSeconds };
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** The suffixes of FTS5's (and FTS4's) shadow tables. */
const SHADOW = ["data", "idx", "content", "docsize", "config", "segments", "segdir", "stat"];

/** Row count and content measures of one table, or of the whole schema (key "objects"). */
export type Fingerprint = Map<string, string>;

/**
 * Per table: the row count, the total length of every column's values and the number of
 * negative zeros (which `.dump` loses); plus the count of schema objects by type. FTS5 shadow
 * tables are left out (a restore may rebuild the index with another layout): the virtual
 * table's own rows stand for them, and with `checkFts`, FTS5's `integrity-check` must pass.
 */
export function sqliteFingerprint(path: string, checkFts = false): Fingerprint {
  const db = new DatabaseSync(path);
  try {
    db.function("negzero", (x) => Object.is(x, -0) ? 1 : 0);
    const result: Fingerprint = new Map();
    const objects = db.prepare(
      "SELECT type, count(*) AS n FROM sqlite_schema GROUP BY type ORDER BY type",
    ).all() as { type: string; n: number }[];
    result.set("objects", objects.map((o) => `${o.type} ${o.n}`).join(", "));
    const tables = db.prepare(
      "SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    ).all() as { name: string; sql: string }[];
    const virtual = tables.filter((t) => /^CREATE VIRTUAL TABLE/i.test(t.sql));
    const fts = virtual.filter((t) => /USING\s+fts5/i.test(t.sql)).map((t) => t.name);
    const shadow = new Set(
      virtual.flatMap((v) => SHADOW.map((suffix) => `${v.name}_${suffix}`)),
    );
    for (const { name } of tables.filter((t) => !shadow.has(t.name))) {
      const quoted = quote(name);
      const columns = (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(name) as {
        name: string;
      }[]).map((c) => quote(c.name));
      const lengths = columns.map((c) => `total(length(${c}))`).join(" + ");
      const zeros = columns.map((c) =>
        `total(CASE WHEN typeof(${c}) = 'real' AND ${c} = 0 THEN negzero(${c}) END)`
      ).join(" + ");
      const row = db.prepare(
        `SELECT count(*) AS n, ${lengths} AS len, ${zeros} AS z FROM ${quoted}`,
      )
        .get() as { n: number; len: number; z: number };
      result.set(name, `${row.n} rows, length ${row.len}, -0.0 × ${row.z}`);
    }
    if (checkFts) {
      for (const v of fts) {
        db.exec(`INSERT INTO ${quote(v)}(${quote(v)}) VALUES ('integrity-check')`);
      }
    }
    return result;
  } finally {
    db.close();
  }
}
