import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { Buffer } from "node:buffer";
import { SqliteEngine } from "../../../src/engines/sqlite/sqlite_engine.ts";
import type { DumpOptions } from "../../../src/engines/engine.ts";
import { UsageError } from "../../../src/core/errors.ts";
import { gzipSync } from "node:zlib";

const engine = new SqliteEngine();

/** Dumps with `options` and restores with our engine; returns the restored schema names. */
async function filtered(options: DumpOptions): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "backup-manager-filter-" });
  try {
    const source = join(dir, "src.db");
    const db = new DatabaseSync(source);
    db.exec(`
      CREATE TABLE orders (id INTEGER PRIMARY KEY AUTOINCREMENT, total REAL);
      CREATE INDEX orders_total ON orders (total);
      CREATE TABLE order_items (order_id INTEGER, sku TEXT);
      CREATE TABLE audit_log (line TEXT);
      CREATE TRIGGER audit AFTER INSERT ON orders BEGIN INSERT INTO audit_log VALUES ('x'); END;
      CREATE VIRTUAL TABLE notes USING fts5 (body);
      CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 10;
      INSERT INTO orders (total) VALUES (5), (50);
      INSERT INTO notes (body) VALUES ('alpha');
    `);
    db.close();
    const target = join(dir, "dst.db");
    const chunks: Uint8Array[] = [];
    await engine.dump(source, (chunk) => {
      chunks.push(chunk.slice());
      return Promise.resolve();
    }, options);
    const gzipped = gzipSync(Buffer.concat(chunks));
    await engine.restore(
      target,
      (async function* () {
        yield new Uint8Array(gzipped);
      })(),
    );
    const restored = new DatabaseSync(target);
    try {
      return restored.prepare(
        "SELECT name FROM sqlite_schema WHERE name NOT LIKE 'notes_%' ORDER BY name",
      ).all().map((r) => String(r.name));
    } finally {
      restored.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("--table and --exclude-table choose tables; indexes and triggers follow them", async () => {
  const cases: [DumpOptions, string[]][] = [
    [{}, [
      "audit",
      "audit_log",
      "big_orders",
      "notes",
      "order_items",
      "orders",
      "orders_total",
      "sqlite_sequence",
    ]],
    [{ tables: ["orders"] }, ["audit", "orders", "orders_total", "sqlite_sequence"]],
    [{ tables: ["order*"] }, ["audit", "order_items", "orders", "orders_total", "sqlite_sequence"]],
    [{ tables: ["main.notes"] }, ["notes"]],
    [{ excludeTables: ["audit_log", "notes"] }, [
      "audit",
      "big_orders",
      "order_items",
      "orders",
      "orders_total",
      "sqlite_sequence",
    ]],
  ];
  for (const [options, expected] of cases) {
    assert.deepEqual(await filtered(options), expected, JSON.stringify(options));
  }
});

Deno.test("an include pattern that matches no table is a usage error", async () => {
  await assert.rejects(
    filtered({ tables: ["orders", "nosuch*"] }),
    (error) =>
      error instanceof UsageError && /No table matches --table nosuch\*/.test(error.message),
  );
});
