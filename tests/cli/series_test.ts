/**
 * Several databases, each its own series: a glob and a list of real SQLite files, in-process
 * with a fake clock. Each series has its own ids, store prefix, retention and status lines.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeClock, runCli } from "../helpers/cli.ts";
import { makeDatabase, withWorkspace, type Workspace } from "../helpers/workspace.ts";
import { startCluster } from "../helpers/pg_cluster.ts";
import { createDatabase, psql, uniqueName } from "../helpers/pg_tools.ts";

const HOUR = 60 * 60 * 1000;

function cli(ws: Workspace, clock: FakeClock, argv: string[], database = "./data/*.db") {
  return runCli(argv, { clock, cwd: ws.root, env: { DATABASE_URL: database, BACKUP_DIR: ws.dir } });
}

function makeData(ws: Workspace, names: string[]): void {
  Deno.mkdirSync(join(ws.root, "data"), { recursive: true });
  for (const name of names) makeDatabase(join(ws.root, "data", `${name}.db`));
}

Deno.test("create backs up every database a glob matches, each under its own series", async () => {
  await withWorkspace(async (ws) => {
    makeData(ws, ["app", "billing", "users"]);
    const clock = new FakeClock();
    const created = await cli(ws, clock, ["create", "--format", "json"]);
    assert.equal(created.code, 0, created.stderr);
    const metas = JSON.parse(created.stdout);
    assert.deepEqual(metas.map((m: { series: string }) => m.series), ["app", "billing", "users"]);
    for (const meta of metas) {
      const names = [...Deno.readDirSync(join(ws.dir, meta.series))].map((e) => e.name);
      assert.ok(names.includes(`${meta.id}.meta.json`), names.join());
    }
    // the root holds no backup of its own
    assert.deepEqual([...Deno.readDirSync(ws.dir)].filter((e) => e.isFile), []);
    // text: a block per series
    clock.advance(HOUR);
    const text = await cli(ws, clock, ["create"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^app \(\/.*app\.db\):\n {2}Created backup full_/m);
    assert.match(text.stdout, /^billing \(/m);
    const list = await cli(ws, clock, ["list", "--format", "json"]);
    assert.equal(list.code, 0, list.stderr);
    const rows = JSON.parse(list.stdout) as { series: string }[];
    assert.deepEqual(rows.map((r) => r.series), [
      "app",
      "app",
      "billing",
      "billing",
      "users",
      "users",
    ]);
    const one = await cli(ws, clock, ["list", "--series", "billing", "--format", "json"]);
    assert.deepEqual(JSON.parse(one.stdout).map((r: { series: string }) => r.series), [
      "billing",
      "billing",
    ]);
  });
});

Deno.test("a database added between runs starts a series; a vanished one keeps its backups", async () => {
  await withWorkspace(async (ws) => {
    makeData(ws, ["app", "billing"]);
    const clock = new FakeClock();
    assert.equal((await cli(ws, clock, ["create"])).code, 0);
    makeData(ws, ["users"]);
    Deno.removeSync(join(ws.root, "data", "billing.db"));
    clock.advance(HOUR);
    const second = await cli(ws, clock, ["create", "--format", "json"]);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(JSON.parse(second.stdout).map((m: { series: string }) => m.series), [
      "app",
      "users",
    ]);
    assert.match(
      second.stderr,
      /^Note: billing: the "database" setting no longer names \/.*billing\.db; its backups are kept/m,
    );
    const list = await cli(ws, clock, ["list", "--format", "json"]);
    const bySeries = Object.groupBy(
      JSON.parse(list.stdout) as { series: string }[],
      (r) => r.series,
    );
    assert.equal(bySeries.app?.length, 2);
    assert.equal(bySeries.billing?.length, 1);
    assert.equal(bySeries.users?.length, 1);
    assert.equal((await cli(ws, clock, ["verify", "--all"])).code, 0);
    const status = await cli(ws, clock, ["status", "--check"]);
    assert.equal(status.code, 0, status.stdout + status.stderr);
    assert.match(status.stdout, /^app: OK: 2 good backups/m);
    assert.match(status.stdout, /^users: OK: 1 good backup,/m);
    assert.match(status.stdout, /^billing: the "database" setting no longer names/m);
  });
});

Deno.test("a list of databases: per-series retention, --series, ambiguous ids", async () => {
  await withWorkspace(async (ws) => {
    makeData(ws, ["app", "billing"]);
    const list = "./data/app.db;./data/billing.db";
    await Deno.writeTextFile(
      join(ws.root, "backup-manager.json"),
      JSON.stringify({
        retention: { keepLast: 3 },
        retentionPerDatabase: { billing: { keepLast: 1 } },
      }),
    );
    const clock = new FakeClock();
    for (let i = 0; i < 4; i++) {
      const run = await cli(ws, clock, ["create"], list);
      assert.equal(run.code, 0, run.stderr);
      clock.advance(HOUR);
    }
    const cleanup = await cli(ws, clock, ["cleanup", "--format", "json"], list);
    assert.equal(cleanup.code, 0, cleanup.stderr);
    const reports = JSON.parse(cleanup.stdout) as {
      series: string;
      decisions: { action: string }[];
    }[];
    const deleted = (s: string) =>
      reports.find((r) => r.series === s)!.decisions.filter((d) => d.action === "delete").length;
    assert.equal(deleted("app"), 1);
    assert.equal(deleted("billing"), 3);
    // only one series
    const only = await cli(ws, clock, ["create", "--series", "app", "--format", "json"], list);
    assert.equal(only.code, 0, only.stderr);
    assert.deepEqual(JSON.parse(only.stdout).map((m: { series: string }) => m.series), ["app"]);
    const wrong = await cli(ws, clock, ["create", "--series", "nope"], list);
    assert.equal(wrong.code, 2);
    assert.equal(
      wrong.stderr,
      'Error: Invalid value "nope" for --series: no such series (the series are "app", "billing")\n',
    );
    // an id part both series hold is ambiguous until --series picks
    const ambiguous = await cli(ws, clock, ["pin", "full_"], list);
    assert.equal(ambiguous.code, 4, ambiguous.stderr);
    assert.equal(
      ambiguous.stderr,
      'Error: Cannot choose a backup for "full_": series "app" and "billing" each have one; pick one with --series NAME\n',
    );
    const billing = JSON.parse(
      (await cli(ws, clock, ["list", "--series", "billing", "--format", "json"], list)).stdout,
    );
    // the clock stood still between the series' runs: the same whole id in both is ambiguous too
    const same = await cli(ws, clock, ["pin", billing[0].id], list);
    assert.equal(same.code, 4, same.stderr);
    const pinned = await cli(ws, clock, ["pin", billing[0].id, "--series", "billing"], list);
    assert.equal(pinned.code, 0, pinned.stderr);
    assert.match(pinned.stdout, /^Pinned backup/);
    const verify = await cli(ws, clock, ["verify", billing[0].id, "--series", "billing"], list);
    assert.equal(verify.code, 0, verify.stderr);
    const missing = await cli(ws, clock, ["verify", "full_1999"], list);
    assert.equal(missing.code, 3);
  });
});

Deno.test("auto --once backs up every series in one cycle, the log naming each", async () => {
  await withWorkspace(async (ws) => {
    makeData(ws, ["app", "billing"]);
    const clock = new FakeClock();
    const auto = await cli(ws, clock, ["auto", "--once", "--keep-last", "5"]);
    assert.equal(auto.code, 0, auto.stdout + auto.stderr);
    assert.match(auto.stdout, / app: run finished: full_/);
    assert.match(auto.stdout, / billing: run finished: full_/);
    for (const series of ["app", "billing"]) {
      const names = [...Deno.readDirSync(join(ws.dir, series))].map((e) => e.name);
      assert.equal(names.filter((n) => n.endsWith(".meta.json")).length, 1, series);
    }
  });
});

Deno.test("one plain database keeps its backups in the store's root, and refuses --series", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock();
    const created = await cli(ws, clock, ["create", "--format", "json"], ws.database);
    assert.equal(created.code, 0, created.stderr);
    const meta = JSON.parse(created.stdout);
    assert.equal(meta.series, undefined);
    assert.ok(Deno.statSync(join(ws.dir, `${meta.id}.meta.json`)).isFile);
    const series = await cli(ws, clock, ["list", "--series", "app"], ws.database);
    assert.equal(series.code, 2);
    assert.equal(
      series.stderr,
      'Error: Cannot use --series: the "database" setting names one database (--series picks one of a glob or a list)\n',
    );
  });
});

Deno.test("two PostgreSQL databases of one server as a list: a series each, restored each", async () => {
  const cluster = await startCluster();
  try {
    await withWorkspace(async (ws) => {
      const orders = await createDatabase(cluster.url, uniqueName("orders"));
      const billing = await createDatabase(cluster.url, uniqueName("billing"));
      await psql(orders, "CREATE TABLE o (id int); INSERT INTO o SELECT generate_series(1, 7);");
      await psql(billing, "CREATE TABLE b (id int); INSERT INTO b SELECT generate_series(1, 3);");
      const list = `${orders};${billing}`;
      const clock = new FakeClock();
      const created = await cli(ws, clock, ["create", "--format", "json"], list);
      assert.equal(created.code, 0, created.stderr);
      const metas = JSON.parse(created.stdout) as {
        series: string;
        id: string;
        totals: { rows: number };
      }[];
      const names = [new URL(billing).pathname.slice(1), new URL(orders).pathname.slice(1)].sort();
      assert.deepEqual(metas.map((m) => m.series), names);
      const rows = Object.fromEntries(metas.map((m) => [m.series, m.totals.rows]));
      assert.equal(rows[new URL(orders).pathname.slice(1)], 7);
      assert.equal(rows[new URL(billing).pathname.slice(1)], 3);
      // the restore of one series goes into that series' database
      await psql(orders, "DELETE FROM o");
      const ordersSeries = new URL(orders).pathname.slice(1);
      const id = metas.find((m) => m.series === ordersSeries)!.id;
      const restored = await cli(
        ws,
        clock,
        ["restore", id, "--series", ordersSeries, "--force", "--clean"],
        list,
      );
      assert.equal(restored.code, 0, restored.stdout + restored.stderr);
      assert.equal((await psql(orders, "SELECT count(*) FROM o")).trim(), "7");
    });
  } finally {
    await cluster.stop();
  }
});
