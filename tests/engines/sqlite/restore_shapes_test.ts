/**
 * The table shapes of the restore benchmark, small: each restores exactly through our restore and
 * through the stock shell, and a restore that stops half-way leaves nothing behind.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { SqliteEngine } from "../../../src/engines/sqlite/sqlite_engine.ts";
import { compareDatabases } from "../../helpers/sqlite_compare.ts";

const engine = new SqliteEngine();
const decoder = new TextDecoder();

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "backup-manager-shapes-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Dumps `database` and returns the gzipped SQL. */
async function dumpGzipped(database: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  await engine.dump(database, (chunk) => {
    chunks.push(chunk.slice());
    return Promise.resolve();
  });
  const sql = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    sql.set(chunk, offset);
    offset += chunk.length;
  }
  return gzipSync(sql);
}

async function* pieces(bytes: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

/** Creates `path` filled by `fill`, in one transaction. */
function createDatabase(path: string, fill: (db: DatabaseSync) => void): void {
  const db = new DatabaseSync(path);
  try {
    db.exec("BEGIN");
    fill(db);
    db.exec("COMMIT");
  } finally {
    db.close();
  }
}

/** A deterministic pseudo-random generator (mulberry32). */
function random(seed: number): () => number {
  return () => {
    let t = (seed = (seed + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SHAPES: { name: string; fill: (db: DatabaseSync) => void }[] = [
  {
    name: "rowid tables with indexes",
    fill(db) {
      const r = random(1);
      db.exec(`CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL, city TEXT);
        CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER NOT NULL, total REAL,
          token BLOB);
        CREATE INDEX customers_email ON customers (email);
        CREATE INDEX orders_customer ON orders (customer, total);`);
      const customer = db.prepare("INSERT INTO customers VALUES (?, ?, ?)");
      const order = db.prepare("INSERT INTO orders VALUES (?, ?, ?, ?)");
      for (let i = 1; i <= 3000; i++) {
        customer.run(i, `c${Math.floor(r() * 1e9)}@example.com`, r() < 0.1 ? null : "Lyon");
        order.run(i, 1 + Math.floor(r() * i), Math.round(r() * 1e6) / 100, new Uint8Array(24));
      }
    },
  },
  {
    name: "WITHOUT ROWID with a composite key",
    fill(db) {
      db.exec(`CREATE TABLE stock (warehouse INTEGER, sku TEXT, day TEXT, qty INTEGER,
        PRIMARY KEY (warehouse, sku, day)) WITHOUT ROWID;
        CREATE INDEX stock_day ON stock (day);`);
      const insert = db.prepare("INSERT INTO stock VALUES (?, ?, ?, ?)");
      for (let i = 0; i < 5000; i++) {
        insert.run(i % 7, `SKU-${i % 311}`, `2025-01-${String(1 + (i % 28)).padStart(2, "0")}`, i);
      }
    },
  },
  {
    name: "REAL columns, half the rows zeros, some -0.0",
    fill(db) {
      db.exec(`CREATE TABLE readings (id INTEGER PRIMARY KEY, value REAL NOT NULL, raw);
        CREATE INDEX readings_value ON readings (value);`);
      const insert = db.prepare("INSERT INTO readings VALUES (?, ?, ?)");
      for (let i = 1; i <= 6000; i++) {
        if (i % 2) insert.run(i, 0.0, i % 8 === 1 ? -0 : 0.0);
        else insert.run(i, (i - 3000) / 7, (i - 3000) / 7);
      }
    },
  },
  {
    name: "150 columns",
    fill(db) {
      const columns = Array.from({ length: 149 }, (_, i) => `c${i}`);
      db.exec(`CREATE TABLE wide (id INTEGER PRIMARY KEY, ${columns.join(", ")})`);
      const insert = db.prepare(`INSERT INTO wide VALUES (${Array(150).fill("?").join(", ")})`);
      for (let i = 1; i <= 400; i++) {
        insert.run(i, ...columns.map((_, k) => k % 10 === 0 ? null : k % 3 ? `v${i * k}` : i * k));
      }
    },
  },
  {
    name: "blobs of 200 KB to 2 MB",
    fill(db) {
      db.exec("CREATE TABLE files (id INTEGER PRIMARY KEY, name TEXT, content BLOB NOT NULL)");
      const r = random(5);
      const insert = db.prepare("INSERT INTO files VALUES (?, ?, ?)");
      for (let i = 1; i <= 5; i++) {
        const content = new Uint8Array(200_000 + Math.floor(r() * 1_800_000));
        for (let k = 0; k < content.length; k += 97) content[k] = Math.floor(r() * 256);
        insert.run(i, `file ${i}`, content);
      }
    },
  },
  {
    name: "1,500 small tables",
    fill(db) {
      for (let t = 1; t <= 1500; t++) {
        db.exec(`CREATE TABLE t${t} (id INTEGER PRIMARY KEY, code TEXT NOT NULL, amount REAL);
          ${t % 3 === 0 ? `CREATE INDEX t${t}_code ON t${t} (code);` : ""}
          INSERT INTO t${t} VALUES (1, 'a${t}', ${t / 4}), (2, 'b${t}', NULL);`);
      }
    },
  },
  {
    name: "FTS5 documents",
    fill(db) {
      db.exec("CREATE VIRTUAL TABLE docs USING fts5 (title, body)");
      const words = ["kalo", "mine", "rusa", "tivo", "zepa", "quidor", "anel", "isob"];
      const insert = db.prepare("INSERT INTO docs (rowid, title, body) VALUES (?, ?, ?)");
      for (let i = 1; i <= 3000; i++) {
        const body = Array.from({ length: 40 }, (_, k) => words[(i * k + k) % 8]).join(" ");
        insert.run(i, `doc ${i}`, body);
      }
    },
  },
];

for (const shape of SHAPES) {
  Deno.test(`a database of ${shape.name} restores exactly, through our restore and the stock shell`, async () => {
    await withTempDir(async (dir) => {
      const original = join(dir, "original.db");
      createDatabase(original, shape.fill);
      const gz = await dumpGzipped(original);
      await engine.restore(join(dir, "ours.db"), pieces(gz, 65_536));
      assert.deepEqual(compareDatabases(original, join(dir, "ours.db")), []);
      await Deno.writeFile(join(dir, "dump.sql.gz"), gz);
      const output = await new Deno.Command("sh", {
        args: ["-c", 'gunzip -c "$1" | sqlite3 "$2"', "sh", join(dir, "dump.sql.gz"), "stock.db"],
        cwd: dir,
        stderr: "piped",
      }).output();
      assert.equal(decoder.decode(output.stderr), "");
      assert.deepEqual(compareDatabases(original, join(dir, "stock.db")), []);
    });
  });
}

Deno.test("a restore whose input fails half-way leaves neither the target nor a temporary file", async () => {
  await withTempDir(async (dir) => {
    const original = join(dir, "original.db");
    createDatabase(original, SHAPES[0].fill);
    const gz = await dumpGzipped(original);
    async function* failing(): AsyncIterable<Uint8Array> {
      yield gz.subarray(0, gz.length >> 1);
      throw new Error("connection reset");
    }
    await Deno.mkdir(join(dir, "target"));
    await assert.rejects(() => engine.restore(join(dir, "target", "app.db"), failing()), {
      message: "connection reset",
    });
    assert.deepEqual([...Deno.readDirSync(join(dir, "target"))], []);
  });
});
