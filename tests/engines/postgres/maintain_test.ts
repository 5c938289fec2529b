/**
 * PostgreSQL maintenance and health queries on a real cluster (autovacuum off, so the dead
 * tuples stay until `maintain` removes them), and the pure rule that picks the tables.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startCluster } from "../../helpers/pg_cluster.ts";
import { createDatabase, PG_BIN, psql } from "../../helpers/pg_tools.ts";
import { PostgresEngine } from "../../../src/engines/postgres/postgres_engine.ts";
import {
  AUTOVACUUM_DEFAULTS,
  autovacuumSettingsOf,
  overridesOf,
  type TableActivity,
  tablesNeedingVacuum,
} from "../../../src/engines/postgres/_vacuum_need.ts";
import type { MaintenanceReport } from "../../../src/engines/maintenance.ts";

const QUIET: TableActivity = {
  schema: "public",
  name: "t",
  reltuples: 10_000,
  liveTuples: 10_000,
  deadTuples: 0,
  modifiedSinceAnalyze: 0,
  insertedSinceVacuum: 0,
  analyzed: true,
};

Deno.test("tablesNeedingVacuum() applies autovacuum's thresholds, the table's own first", () => {
  const cases: [string, Partial<TableActivity>, string[]][] = [
    ["a quiet table", {}, []],
    ["dead tuples at the threshold", { deadTuples: 2050 }, []],
    ["dead tuples past it", { deadTuples: 2051 }, ["2051 dead tuples, above 2050"]],
    ["a never-vacuumed table counts no tuples", { reltuples: -1, deadTuples: 51 }, [
      "51 dead tuples, above 50",
    ]],
    ["inserts past the insert threshold", { insertedSinceVacuum: 3001 }, [
      "3001 tuples inserted since the last vacuum, above 3000",
    ]],
    ["changes since analyze", { modifiedSinceAnalyze: 1051 }, [
      "1051 tuples changed since the last analyze, above 1050",
    ]],
    ["never analyzed with rows", { analyzed: false }, ["never analyzed"]],
    ["never analyzed and empty", { analyzed: false, liveTuples: 0, reltuples: 0 }, []],
    ["a table's own threshold", { deadTuples: 500, options: { vacuumScaleFactor: 0.01 } }, [
      "500 dead tuples, above 150",
    ]],
    [
      "the insert rule turned off",
      { insertedSinceVacuum: 9999, options: { insertThreshold: -1 } },
      [],
    ],
    ["several reasons", { deadTuples: 5000, modifiedSinceAnalyze: 5000 }, [
      "5000 dead tuples, above 2050",
      "5000 tuples changed since the last analyze, above 1050",
    ]],
  ];
  for (const [name, change, reasons] of cases) {
    const needs = tablesNeedingVacuum([{ ...QUIET, ...change }]);
    assert.deepEqual(needs.map((n) => n.reasons)[0] ?? [], reasons, name);
  }
});

Deno.test("overridesOf() and autovacuumSettingsOf() read storage parameters and pg_settings", () => {
  assert.deepEqual(
    overridesOf([
      "fillfactor=70",
      "autovacuum_vacuum_threshold=10",
      "autovacuum_analyze_scale_factor=0.5",
    ]),
    { vacuumThreshold: 10, analyzeScaleFactor: 0.5 },
  );
  assert.deepEqual(overridesOf(null), {});
  assert.deepEqual(
    autovacuumSettingsOf([
      { name: "autovacuum_vacuum_scale_factor", setting: "0.05" },
      { name: "autovacuum_naptime", setting: "60" },
    ]),
    { ...AUTOVACUUM_DEFAULTS, vacuumScaleFactor: 0.05 },
  );
});

function stepOf(report: MaintenanceReport, prefix: string) {
  const step = report.steps.find((s) => s.name.startsWith(prefix));
  assert.ok(step, `no step ${prefix}: ${JSON.stringify(report.steps)}`);
  return step;
}

async function deadTuples(url: string, table: string): Promise<number> {
  return Number(
    (await psql(url, `SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = '${table}'`))
      .trim(),
  );
}

async function waitForInsertStats(url: string, table: string, rows: number): Promise<void> {
  const query = `SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = '${table}'`;
  for (let i = 0; i < 100; i++) {
    if (Number((await psql(url, query)).trim()) >= rows) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the statistics of ${table} never showed ${rows} inserts`);
}

Deno.test("maintain() vacuums the table with dead tuples, not the quiet one, and runs amcheck once installed", async () => {
  const cluster = await startCluster({ settings: { autovacuum: "off" } });
  try {
    const url = await createDatabase(cluster.url, "app");
    await psql(
      url,
      `CREATE TABLE churn (id int PRIMARY KEY, v text);
       CREATE TABLE quiet (id int PRIMARY KEY, v text);
       CREATE TABLE "Odd ""name""" (id int PRIMARY KEY);
       INSERT INTO churn SELECT i, 'v' || i FROM generate_series(1, 10000) i;
       INSERT INTO quiet SELECT i, 'v' || i FROM generate_series(1, 100) i;
       INSERT INTO "Odd ""name""" SELECT generate_series(1, 100);`,
    );
    // the inserting backend flushes its statistics as it exits, which can be after psql returns:
    // wait for them, or they land after the vacuum's reset and count as inserts since it
    await waitForInsertStats(url, "churn", 10000);
    await psql(url, "VACUUM ANALYZE");
    await psql(url, 'UPDATE churn SET v = v || \'!\'; UPDATE "Odd ""name""" SET id = id + 100');
    assert.equal(await deadTuples(url, "churn"), 10000);
    const engine = new PostgresEngine(url, {});

    const plan = await engine.maintain(url, { dryRun: true });
    assert.deepEqual(plan.steps.map((s) => [s.name, s.outcome]), [
      ['vacuum analyze "public"."Odd ""name"""', "planned"],
      ['vacuum analyze "public"."churn"', "planned"],
      ["amcheck", "skipped"],
    ]);
    assert.equal(
      stepOf(plan, 'vacuum analyze "public"."churn"').detail,
      "would run: 10000 dead tuples, above 2050; 10000 tuples changed since the last analyze, above 1050",
    );
    assert.equal(await deadTuples(url, "churn"), 10000);

    const report = await engine.maintain(url);
    const churn = stepOf(report, 'vacuum analyze "public"."churn"');
    assert.equal(churn.outcome, "done");
    assert.match(churn.detail, /^dead tuples 10000 -> 0 \(10000 dead tuples, above 2050; /);
    assert.ok(!report.steps.some((s) => s.name.includes("quiet")), JSON.stringify(report.steps));
    assert.equal(stepOf(report, 'vacuum analyze "public"."Odd').outcome, "done");
    const amcheck = stepOf(report, "amcheck");
    assert.equal(amcheck.outcome, "skipped");
    assert.equal(
      amcheck.detail,
      'amcheck not installed: skipped (a superuser enables the checks with "CREATE EXTENSION amcheck" in this database)',
    );
    assert.equal(report.integrity, "skipped");
    assert.equal(await deadTuples(url, "churn"), 0);

    await psql(url, "CREATE EXTENSION amcheck");
    const checked = await engine.maintain(url);
    assert.equal(checked.integrity, "ok");
    const step = stepOf(checked, "amcheck");
    assert.equal(step.outcome, "done");
    assert.match(step.detail, /^checked \d+ btree indexes and \d+ tables: no corruption$/);
    assert.equal(
      stepOf(checked, "vacuum analyze").detail.startsWith("skipped: no table needs it"),
      true,
    );
  } finally {
    await cluster.stop();
  }
});

Deno.test("maintain() skips a table another session holds locked, as busy", async () => {
  const cluster = await startCluster({ settings: { autovacuum: "off" } });
  let holder: Deno.ChildProcess | undefined;
  try {
    const url = await createDatabase(cluster.url, "app");
    await psql(
      url,
      `CREATE TABLE churn (id int PRIMARY KEY, v text);
       INSERT INTO churn SELECT i, 'v' FROM generate_series(1, 5000) i;`,
    );
    await waitForInsertStats(url, "churn", 5000);
    await psql(url, "VACUUM ANALYZE churn");
    await psql(url, "DELETE FROM churn");
    holder = new Deno.Command(join(PG_BIN, "psql"), {
      args: [
        "-X",
        "-c",
        "BEGIN; LOCK TABLE churn IN SHARE UPDATE EXCLUSIVE MODE; SELECT pg_sleep(60)",
        url,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    for (let i = 0; i < 100; i++) {
      const held = await psql(
        url,
        "SELECT count(*) FROM pg_locks WHERE relation = 'churn'::regclass",
      );
      if (held.trim() !== "0") break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const report = await new PostgresEngine(url, {}).maintain(url, { busyTimeoutMs: 200 });
    const step = stepOf(report, 'vacuum analyze "public"."churn"');
    assert.equal(step.outcome, "skipped");
    assert.match(step.detail, /^skipped: busy \(canceling statement due to lock timeout; /);
  } finally {
    holder?.kill();
    await holder?.status;
    await cluster.stop();
  }
});

Deno.test("queryHealth() answers in read-only transactions with a timeout; a bad query is its own answer", async () => {
  const cluster = await startCluster();
  try {
    const url = await createDatabase(cluster.url, "app");
    await psql(
      url,
      `CREATE SCHEMA app;
       CREATE TABLE app.events (id int, at_tz timestamptz, at_ts timestamp, at_s bigint, at_text text, at_date date);
       INSERT INTO app.events VALUES
         (1, '2026-11-23 10:00:00+01', '2026-11-23 09:00:00', 1764000000, '2026-11-23T09:00:00Z', '2026-11-23'),
         (2, '2026-11-22 10:00:00+00', '2026-11-22 10:00:00', 1763000000, '2026-11-22T10:00:00Z', '2026-11-22');
       CREATE TABLE empty (at timestamptz);
       CREATE SEQUENCE s;`,
    );
    const answers = await new PostgresEngine(url, {}).queryHealth(url, {
      freshness: [
        { table: "app.events", column: "at_tz" },
        { table: "app.events", column: "at_ts" },
        { table: "app.events", column: "at_s" },
        { table: "app.events", column: "at_text" },
        { table: "app.events", column: "at_date" },
        { table: "empty", column: "at" },
        { table: "missing", column: "at" },
      ],
      checks: [
        { name: "rows", sql: "SELECT count(*) FROM app.events" },
        { name: "write", sql: "INSERT INTO empty VALUES (now()) RETURNING 1" },
        { name: "sequence", sql: "SELECT nextval('s')" },
        { name: "slow", sql: "SELECT pg_sleep(5)::text, 1" },
        { name: "two", sql: "SELECT 1; SELECT 2" },
      ],
      timeoutMs: 300,
    });
    assert.ok(answers.sizeBytes > 1_000_000, String(answers.sizeBytes));
    assert.deepEqual(answers.freshness.slice(0, 6), [
      { value: "2026-11-23 09:00:00+00" },
      { value: "2026-11-23 09:00:00" },
      { value: 1764000000 },
      { value: "2026-11-23T09:00:00Z" },
      { value: "2026-11-23" },
      { value: null },
    ]);
    assert.deepEqual(answers.freshness[6], { error: 'relation "missing" does not exist' });
    assert.deepEqual(answers.checks[0], { value: 2 });
    assert.deepEqual(answers.checks[1], {
      error: "cannot execute INSERT in a read-only transaction",
    });
    assert.deepEqual(answers.checks[2], {
      error: "cannot execute nextval() in a read-only transaction",
    });
    assert.deepEqual(answers.checks[3], { error: "canceling statement due to statement timeout" });
    assert.ok("error" in answers.checks[4], JSON.stringify(answers.checks[4]));
    assert.equal((await psql(url, "SELECT count(*) FROM empty")).trim(), "0");
  } finally {
    await cluster.stop();
  }
});
