/**
 * The schema reader against pg_dump: the fixture database's schema, read by `readSchemaPlan` and
 * written as a script (header, pre-data, COPY data, post-data), must load with
 * `psql -v ON_ERROR_STOP=1 --single-transaction` into an empty database and give back the same
 * `pg_dump --schema-only` statements, sequence values and materialized-view states.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { listTables, readMigrationVersion } from "../../../src/engines/postgres/_schema_info.ts";
import { startCluster } from "../../helpers/pg_cluster.ts";
import { loadScript, readPlan, scriptOf, withConnection } from "../../helpers/pg_plan_script.ts";
import { schemaOf } from "../../helpers/pg_schema_dump.ts";
import {
  createDatabase,
  dropDatabase,
  psql,
  psqlFile,
  uniqueName,
} from "../../helpers/pg_tools.ts";

const FIXTURE = fileURLToPath(new URL("../../fixtures/postgres/schema.sql", import.meta.url));

const ROLES = ["bm_owner", "bm_reader", "bm Writer"];

async function createRoles(url: string): Promise<void> {
  for (const role of ROLES) {
    const q = `"${role.replaceAll('"', '""')}"`;
    await psql(
      url,
      `DO $$ BEGIN CREATE ROLE ${q}; EXCEPTION WHEN duplicate_object THEN NULL; END $$;`,
    );
  }
}

/** Compares statement multisets, reporting only what differs (readable on failure). */
function assertSameStatements(actual: string[], expected: string[]): void {
  const count = (list: string[]) => {
    const m = new Map<string, number>();
    for (const s of list) m.set(s, (m.get(s) ?? 0) + 1);
    return m;
  };
  const a = count(actual), e = count(expected);
  const missing = [...e].filter(([s, n]) => (a.get(s) ?? 0) < n).map(([s]) => s);
  const extra = [...a].filter(([s, n]) => (e.get(s) ?? 0) < n).map(([s]) => s);
  assert.deepEqual({ missing, extra }, { missing: [], extra: [] });
}

async function sequenceValues(url: string): Promise<string> {
  return await psql(
    url,
    `SELECT schemaname, sequencename, last_value FROM pg_sequences ORDER BY 1, 2`,
  );
}

async function matviewStates(url: string): Promise<string> {
  return await psql(
    url,
    `SELECT c.relname, c.relispopulated FROM pg_class c WHERE c.relkind = 'm' ORDER BY 1`,
  );
}

Deno.test("readSchemaPlan()", async (t) => {
  const cluster = await startCluster();
  try {
    await createRoles(cluster.url);
    const src = await createDatabase(cluster.url, uniqueName("schema_src"));
    await psqlFile(src, FIXTURE);
    const withTarget = async (fn: (url: string) => Promise<void>) => {
      const name = uniqueName("schema_dst");
      const url = await createDatabase(cluster.url, name);
      try {
        await fn(url);
      } finally {
        await dropDatabase(cluster.url, name);
      }
    };

    await t.step("rebuilds every object kind so pg_dump sees the same schema", async () => {
      const plan = await readPlan(src);
      await withTarget(async (dst) => {
        await loadScript(dst, await scriptOf(src, plan));
        assertSameStatements(await schemaOf(dst), await schemaOf(src));
        assert.equal(await sequenceValues(dst), await sequenceValues(src));
        assert.equal(await matviewStates(dst), await matviewStates(src));
      });
    });

    await t.step("copies no generated column and no partitioned parent", async () => {
      const plan = await readPlan(src);
      const customers = plan.data.find((t) => t.qualifiedName === "app.customers");
      assert.ok(customers);
      assert.ok(!customers.columns.includes("total"));
      assert.ok(customers.columns.includes("id"));
      assert.ok(!plan.data.some((t) => t.qualifiedName === "app.events"));
      assert.ok(plan.data.some((t) => t.qualifiedName === "app.events_2024_click"));
    });

    await t.step("leaves out the constructor functions of range types", async () => {
      const plan = await readPlan(src);
      const functions = plan.preData.filter((i) => i.kind === "FUNCTION").map((i) => i.name);
      assert.ok(!functions.some((f) => /^(floatrange|floatmultirange|textranges?)\(/.test(f)));
    });

    await t.step("names an identity column's sequence without repeating its type", async () => {
      const plan = await readPlan(src);
      const table = plan.preData.find((i) => i.kind === "TABLE" && i.name === "customers");
      assert.match(
        table?.sql ?? "",
        /id bigint NOT NULL GENERATED ALWAYS AS IDENTITY \(SEQUENCE NAME app\.customers_id_seq START WITH 10 INCREMENT BY 2 /,
      );
    });

    await t.step("attaches a partition's index that sorts before its parent's", async () => {
      const plan = await readPlan(src);
      assert.ok(
        plan.postData.some((i) =>
          i.sql === "ALTER INDEX app.events_kind ATTACH PARTITION app.events_2024_kind_idx;\n"
        ),
      );
    });

    await t.step("sets free-standing sequences to their value and called flag", async () => {
      const plan = await readPlan(src);
      const setvals = plan.postData.filter((i) => i.kind === "SEQUENCE SET").map((i) => i.sql);
      assert.ok(
        setvals.some((s) => /^SELECT pg_catalog\.setval\('app\.counter', \d+, true\);/.test(s)),
      );
      assert.ok(setvals.includes("SELECT pg_catalog.setval('app.scratch_seq', 42, false);\n"));
    });

    await t.step("lists the tables a dump copies with exact row counts", async () => {
      const tables = await withConnection(src, (sql) => listTables(sql));
      const rows = new Map(tables.map((t) => [t.qualifiedName, t.rows]));
      assert.equal(rows.get("app.customers"), 2);
      assert.equal(rows.get('"Odd Schema"."Weird ""Table"""'), 0);
      assert.ok(!rows.has("app.events"));
      const filtered = await withConnection(src, (sql) => listTables(sql, { tables: ["app.or*"] }));
      assert.deepEqual(filtered.map((t) => t.qualifiedName), ["app.orders"]);
    });

    await t.step("reads the migration version inside the dump's transaction", async () => {
      // A table of a known name whose columns do not fit is skipped without breaking the snapshot.
      await psql(src, 'CREATE TABLE "Odd Schema".alembic_version (wrong_column integer);');
      try {
        const version = await withConnection(
          src,
          (sql) =>
            sql.begin("isolation level repeatable read read only", async (tx) => {
              const found = await readMigrationVersion(tx);
              await tx`SELECT 1`;
              return found;
            }),
        );
        assert.deepEqual(version, { table: "schema_migrations", version: "20250301" });
      } finally {
        await psql(src, 'DROP TABLE "Odd Schema".alembic_version;');
      }
    });

    await t.step("with a table filter keeps only that table and what hangs off it", async () => {
      const plan = await readPlan(src, { tables: ["app.scratch", "nothing_like_this"] });
      assert.deepEqual(plan.data.map((t) => t.qualifiedName), ["app.scratch"]);
      assert.deepEqual(plan.unmatchedTables, ["nothing_like_this"]);
      assert.ok(!plan.preData.some((i) => i.kind === "FUNCTION"));
      // Unlike pg_dump -t, the table's schema is created if absent (never owned or dropped).
      assert.deepEqual(
        plan.preData.filter((i) => i.kind === "SCHEMA").map((i) => [i.sql, i.drop]),
        [["CREATE SCHEMA IF NOT EXISTS app;\n", undefined]],
      );
      await withTarget(async (dst) => {
        await psql(dst, "CREATE SCHEMA app AUTHORIZATION bm_owner;");
        await loadScript(dst, await scriptOf(src, plan));
        assertSameStatements(
          await schemaOf(dst, ["--table=app.scratch"]),
          await schemaOf(src, ["--table=app.scratch"]),
        );
      });
    });

    await t.step("with excluded tables leaves just those out", async () => {
      const plan = await readPlan(src, { excludeTables: ["app.scratch", "app.unchecked"] });
      await withTarget(async (dst) => {
        await loadScript(dst, await scriptOf(src, plan));
        assertSameStatements(
          await schemaOf(dst),
          await schemaOf(src, ["--exclude-table=app.scratch", "--exclude-table=app.unchecked"]),
        );
      });
    });
  } finally {
    await cluster.stop();
  }
});
