/**
 * The quick-start demo: on a fresh clone there is no user database, so this makes a sample one in
 * its own folder (`demo/app.db`, never `./data/app.db`) and runs create, list, verify with a
 * restore test, and status on it, exactly as a user would from the command line.
 */
import { DatabaseSync } from "node:sqlite";
import { run } from "../src/cli/main.ts";
import { processIo } from "../src/cli/io.ts";
import { systemClock } from "../src/core/context.ts";

const DEMO_DIR = "demo";
const DATABASE = `${DEMO_DIR}/app.db`;
const BACKUPS = `${DEMO_DIR}/backups`;

/** Builds a small shop database with the kinds of objects real applications have. */
export function createSampleDatabase(path: string, customers = 2_000): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(`
      PRAGMA journal_mode=WAL;
      PRAGMA user_version=3;
      CREATE TABLE schema_migrations(version TEXT PRIMARY KEY);
      INSERT INTO schema_migrations VALUES ('20261001120000'), ('20261101090000');
      CREATE TABLE customers(
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        email TEXT UNIQUE,
        balance REAL NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
      );
      CREATE TABLE products(sku TEXT PRIMARY KEY, title TEXT NOT NULL, price_cents INTEGER) WITHOUT ROWID;
      CREATE TABLE orders(
        id INTEGER PRIMARY KEY,
        customer_id INTEGER NOT NULL REFERENCES customers(id),
        sku TEXT REFERENCES products(sku),
        quantity INTEGER NOT NULL,
        total_cents INTEGER GENERATED ALWAYS AS (quantity * 100) STORED,
        receipt BLOB
      );
      CREATE INDEX orders_by_customer ON orders(customer_id);
      CREATE VIEW customer_totals AS
        SELECT c.id, c.name, sum(o.total_cents) AS spent FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.id;
      CREATE VIRTUAL TABLE product_search USING fts5(sku, title);
      CREATE TRIGGER products_indexed AFTER INSERT ON products BEGIN
        INSERT INTO product_search(sku, title) VALUES (new.sku, new.title);
      END;
    `);
    const names = [
      "Ada",
      "Grace",
      "Linus",
      "Margaret",
      "Ken",
      "Barbara",
      "Dennis",
      "Frances",
      "Zoë",
      "Jürgen",
    ];
    db.exec("BEGIN");
    const addCustomer = db.prepare(
      "INSERT INTO customers(name, email, balance, created_at) VALUES (?, ?, ?, ?)",
    );
    for (let i = 1; i <= customers; i++) {
      const name = `${names[i % names.length]} ${String.fromCharCode(65 + (i % 26))}.`;
      addCustomer.run(
        name,
        `user${i}@example.com`,
        Math.round(Math.random() * 1e6) / 100,
        new Date(Date.UTC(2025, 0, 1) + i * 3_600_000).toISOString(),
      );
    }
    const addProduct = db.prepare("INSERT INTO products VALUES (?, ?, ?)");
    for (let i = 1; i <= 200; i++) {
      addProduct.run(`SKU-${i}`, `Product ${i} ${names[i % names.length]}'s choice`, 100 + i * 7);
    }
    const addOrder = db.prepare(
      "INSERT INTO orders(customer_id, sku, quantity, receipt) VALUES (?, ?, ?, ?)",
    );
    for (let i = 1; i <= customers * 3; i++) {
      addOrder.run(
        1 + (i % customers),
        `SKU-${1 + (i % 200)}`,
        1 + (i % 5),
        crypto.getRandomValues(new Uint8Array(16)),
      );
    }
    db.exec("COMMIT");
  } finally {
    db.close();
  }
}

async function step(title: string, argv: string[]): Promise<void> {
  console.log(`\n$ backup-manager ${argv.join(" ")}    # ${title}`);
  const code = await run(argv, processIo(), systemClock);
  if (code !== 0) {
    console.error(`demo: "${argv[0]}" exited with ${code}`);
    Deno.exit(code);
  }
}

if (import.meta.main) {
  await Deno.mkdir(DEMO_DIR, { recursive: true });
  try {
    await Deno.stat(DATABASE);
    console.log(`Using the sample database ${DATABASE} (delete ${DEMO_DIR}/ to start over)`);
  } catch {
    createSampleDatabase(DATABASE);
    console.log(
      `Created a sample database ${DATABASE} (customers, products, orders, FTS5, view, trigger)`,
    );
  }
  const where = ["--database", DATABASE, "--dir", BACKUPS];
  await step("take a backup", ["create", ...where, "--description", "demo backup"]);
  await step("see what exists", ["list", "--dir", BACKUPS]);
  await step("prove it restores", ["verify", "--all", "--restore-test", ...where]);
  await step("health at a glance", ["status", ...where]);
  console.log(`\nYour own database: deno task backup:create --database PATH (see README.md)`);
}
