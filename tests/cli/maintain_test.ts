/**
 * `maintain`, `check` and `schedule.maintenance` end to end, in-process, on real SQLite files
 * (a bloated one, a corrupted one) and a real HTTP receiver for the notification.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { FakeClock, runCli } from "../helpers/cli.ts";
import { withReceiver } from "../helpers/http_receiver.ts";
import { makeDatabase, withWorkspace, type Workspace } from "../helpers/workspace.ts";
import { readAudit } from "../../src/core/audit.ts";
import { openStorage } from "../../src/storage/open_storage.ts";
import { ExitCode } from "../../src/core/errors.ts";
import { Interrupts } from "../../src/cli/interrupts.ts";
import { systemClock } from "../../src/core/clock.ts";
import { acquireLock } from "../../src/core/lock.ts";
import { startCluster } from "../helpers/pg_cluster.ts";
import { createDatabase, psql, uniqueName } from "../helpers/pg_tools.ts";

const MiB = 1024 * 1024;

/** A WAL database whose deleted rows left about 2 MiB of free pages. */
function makeBloated(path: string): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(`
      PRAGMA journal_mode = WAL;
      CREATE TABLE items (id INTEGER PRIMARY KEY, body TEXT);
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 12000)
      INSERT INTO items (body) SELECT hex(randomblob(200)) FROM c;
      DELETE FROM items WHERE id > 1000;
    `);
  } finally {
    db.close();
  }
}

/** An index that claims another column than the entries it holds: integrity_check fails. */
function corrupt(path: string): void {
  const db = new DatabaseSync(
    path,
    { defensive: false } as ConstructorParameters<typeof DatabaseSync>[1],
  );
  try {
    db.exec(`CREATE TABLE other (id INTEGER PRIMARY KEY, a TEXT, b TEXT);
      INSERT INTO other SELECT id, 'a' || id, 'b' || id FROM items;
      CREATE INDEX other_a ON other(a);
      PRAGMA writable_schema=ON;
      UPDATE sqlite_schema SET sql = 'CREATE INDEX other_a ON other(b)' WHERE name = 'other_a';
      PRAGMA writable_schema=OFF;`);
  } finally {
    db.close();
  }
}

function writeConfig(ws: Workspace, settings: Record<string, unknown>): string {
  const path = join(ws.root, "backup-manager.json");
  Deno.writeTextFileSync(
    path,
    JSON.stringify({ database: ws.database, backupDir: ws.dir, ...settings }),
  );
  return path;
}

async function maintainRecords(ws: Workspace) {
  return await readAudit(openStorage(ws.dir), { actions: ["maintain"] });
}

Deno.test("maintain vacuums a bloated database, prints each step with figures and records the run", async () => {
  await withWorkspace(async (ws) => {
    makeBloated(ws.database);
    const before = (await Deno.stat(ws.database)).size;
    const config = writeConfig(ws, { maintenance: { vacuumMinBytes: MiB } });
    const clock = new FakeClock();

    const dry = await runCli(["--config", config, "maintain", "--dry-run"], { clock });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /\(dry run: nothing changed\)/);
    assert.match(dry.stdout, /planned +vacuum: /);
    assert.equal((await Deno.stat(ws.database)).size, before, "a dry run changes nothing");
    assert.deepEqual(await maintainRecords(ws), [], "a dry run records nothing");

    const result = await runCli(["--config", config, "maintain"], { clock });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Maintained .*app\.db in .* -> .* \(.* freed\)\n/);
    for (const step of ["optimize", "checkpoint", "integrity", "vacuum"]) {
      assert.match(result.stdout, new RegExp(`  done +${step}: `), result.stdout);
    }
    assert.match(result.stdout, /integrity: ok\n$/);
    const after = (await Deno.stat(ws.database)).size;
    assert.ok(after < before / 2, `${before} -> ${after}`);

    const [record] = await maintainRecords(ws);
    assert.equal(record.outcome, "ok");
    assert.equal(record.details?.integrity, "ok");
    assert.ok(Number(record.details?.bytesFreed) > MiB, JSON.stringify(record.details));

    const json = await runCli(["--config", config, "maintain", "--no-vacuum", "--format", "json"], {
      clock,
    });
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout);
    assert.equal(report.engine, "sqlite");
    assert.equal(report.integrity, "ok");
    assert.deepEqual(
      report.steps.map((s: { name: string; outcome: string }) => [s.name, s.outcome]),
      [["optimize", "done"], ["checkpoint", "done"], ["integrity", "done"], [
        "vacuum",
        "skipped",
      ]],
    );
  });
});

Deno.test("maintain on a corrupted database exits 5, notifies the webhook, and check turns critical", async () => {
  await withReceiver(200, async (receiver) => {
    await withWorkspace(async (ws) => {
      makeBloated(ws.database);
      corrupt(ws.database);
      const config = writeConfig(ws, {
        maintenance: { vacuumMinBytes: MiB },
        notifications: { webhooks: [{ url: `${receiver.url}/hook/secret-token` }] },
      });
      const clock = new FakeClock();
      const sizeBefore = (await Deno.stat(ws.database)).size;
      const result = await runCli(["--config", config, "maintain"], { clock });
      assert.equal(result.code, ExitCode.Integrity, result.stderr);
      assert.match(result.stdout, /integrity: FAILED\n {4}- .*other_a/);
      assert.match(result.stdout, /skipped +vacuum: .*integrity check did not pass/);
      assert.equal((await Deno.stat(ws.database)).size, sizeBefore, "no VACUUM of a damaged file");

      assert.equal(receiver.requests.length, 1);
      const body = JSON.parse(receiver.requests[0].body);
      assert.equal(body.event, "failure");
      assert.match(body.error, /^Maintenance found \d+ integrity problems? in the database: /);

      const check = await runCli(["--config", config, "check"], { clock });
      assert.equal(check.code, 2, check.stdout + check.stderr);
      assert.match(check.stdout, /^CRITICAL: .*corruption/m);
    });
  });
});

Deno.test("check judges freshness, size and SQL checks at their levels; status --check prints only problems", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const db = new DatabaseSync(ws.database);
    db.exec(`CREATE TABLE "Sign-ups" (id INTEGER PRIMARY KEY, at TEXT);
      INSERT INTO "Sign-ups" (at) VALUES ('2026-11-23T09:00:00Z'), ('2026-11-23T10:00:00Z');`);
    db.close();
    const clock = new FakeClock("2026-11-23T10:15:00.000Z");
    const created = await runCli(["create", "--database", ws.database, "--dir", ws.dir], { clock });
    assert.equal(created.code, 0, created.stderr);
    await runCli(["verify", "--all", "--database", ws.database, "--dir", ws.dir], { clock });
    const size = (await Deno.stat(ws.database)).size;
    const cases: {
      name: string;
      health: Record<string, unknown>;
      code: number;
      lines: RegExp[];
    }[] = [
      {
        name: "every rule passes",
        health: {
          freshness: [{ table: "Sign-ups", column: "at", maxAge: "1h" }],
          maxDatabaseSize: size * 2,
          checks: [{ name: "events", sql: 'SELECT count(*) FROM "Sign-ups"', warnAbove: 10 }],
        },
        code: 0,
        lines: [/^OK: 1 good backup/, /^OK: Sign-ups\.at: /m, /^OK: the database is /m],
      },
      {
        name: "stale data at the default level, a database over its size",
        health: {
          freshness: [{ table: "Sign-ups", column: "at", maxAge: "5m" }],
          maxDatabaseSize: 1024,
        },
        code: 1,
        lines: [
          /^WARNING: Sign-ups\.at: /m,
          /^WARNING: the database is .* over the 1\.0 KiB limit/m,
        ],
      },
      {
        name: "a SQL check above critAbove, stale data at critical",
        health: {
          freshness: [{ table: "Sign-ups", column: "at", maxAge: "5m", level: "critical" }],
          checks: [{ name: "events", sql: 'SELECT count(*) FROM "Sign-ups"', critAbove: 1 }],
        },
        code: 2,
        lines: [/^CRITICAL: Sign-ups\.at: /m, /^CRITICAL: check "events" is 2/m],
      },
      {
        name: "a query that fails proves nothing: its rule's worst level",
        health: { checks: [{ name: "bad", sql: "SELECT nope FROM", warnAbove: 1 }] },
        code: 1,
        lines: [/^WARNING: .*bad.*/m],
      },
      {
        name: "never maintained, with maintenanceMaxAge",
        health: { maintenanceMaxAge: "7d" },
        code: 1,
        lines: [/^WARNING: the database has never been maintained \(run maintain\)/m],
      },
    ];
    for (const c of cases) {
      const config = writeConfig(ws, { health: c.health });
      const check = await runCli(["--config", config, "check"], { clock });
      assert.equal(check.code, c.code, `${c.name}: ${check.stdout}${check.stderr}`);
      for (const line of c.lines) assert.match(check.stdout, line, `${c.name}: ${check.stdout}`);
      const status = await runCli(["--config", config, "status", "--check"], { clock });
      assert.equal(status.code, c.code, c.name);
      if (c.code > 0) assert.doesNotMatch(status.stdout, /^OK/m, `${c.name}: ${status.stdout}`);
      const json = JSON.parse(
        (await runCli(["--config", config, "status", "--format", "json"], { clock })).stdout,
      );
      assert.equal(json.databaseChecks.length > 0, true, c.name);
    }
  });
});

Deno.test("check on a database that vanished gives a verdict, never a crash", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const config = writeConfig(ws, {
      health: { checks: [{ name: "rows", sql: "SELECT 1", critAbove: 5 }] },
    });
    await Deno.remove(ws.database);
    const check = await runCli(["--config", config, "check"], { clock: new FakeClock() });
    assert.equal(check.code, 2, check.stdout + check.stderr);
    assert.match(check.stdout, /^CRITICAL: rows: cannot be checked: /m);
  });
});

Deno.test("auto runs schedule.maintenance beside the backups, one at a time, and stops with them", async () => {
  await withWorkspace(async (ws) => {
    makeBloated(ws.database);
    const config = writeConfig(ws, {
      schedule: { every: "1s", maintenance: { every: "1s" } },
      maintenance: { vacuumMinBytes: MiB },
    });
    const interrupts = new Interrupts();
    const stopper = setTimeout(() => interrupts.receive(), 3500);
    let result;
    try {
      result = await runCli(["--config", config, "auto"], { clock: systemClock, interrupts });
    } finally {
      clearTimeout(stopper);
    }
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split("\n");
    const maintained = lines.filter((l) => /database maintained .* \(integrity ok, /.test(l));
    const backups = lines.filter((l) => /backup created /.test(l));
    assert.ok(maintained.length >= 2, result.stdout);
    assert.ok(backups.length >= 2, result.stdout);
    assert.ok(!/lock|skipped/.test(result.stdout), result.stdout);
    await assert.rejects(Deno.stat(join(ws.dir, ".backup-manager.lock")), Deno.errors.NotFound);
    const records = await maintainRecords(ws);
    assert.equal(records.length, maintained.length);
    assert.ok(records.every((r) => r.actor === "scheduler"), JSON.stringify(records));
  });
});

Deno.test("a maintenance slot that finds another process's lock waits for it, then runs", async () => {
  await withWorkspace(async (ws) => {
    makeBloated(ws.database);
    await Deno.mkdir(ws.dir, { recursive: true });
    const config = writeConfig(ws, {
      schedule: { every: "1h", maintenance: { every: "1s" } },
    });
    // another command of this host holds the lock for the first second
    const lock = await acquireLock(ws.dir, { command: "restore" });
    setTimeout(() => lock.release(), 1000);
    const interrupts = new Interrupts();
    const stopper = setTimeout(() => interrupts.receive(), 2500);
    let result;
    try {
      result = await runCli(["--config", config, "auto"], { clock: systemClock, interrupts });
    } finally {
      clearTimeout(stopper);
      await lock.release();
    }
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /database maintained /, result.stdout);
  });
});

Deno.test("maintain on PostgreSQL vacuums the table with dead tuples and records the run", async () => {
  const cluster = await startCluster({ settings: { autovacuum: "off" } });
  try {
    await withWorkspace(async (ws) => {
      const url = await createDatabase(cluster.url, uniqueName("app"));
      await psql(
        url,
        `CREATE TABLE churn (id int PRIMARY KEY, v text);
         INSERT INTO churn SELECT g, 'v' FROM generate_series(1, 20000) g;`,
      );
      await psql(url, "UPDATE churn SET v = 'w'");
      // the updating backend flushes its statistics as it exits, maybe after psql returned
      for (let i = 0; i < 100; i++) {
        const dead = await psql(url, "SELECT n_dead_tup FROM pg_stat_user_tables");
        if (Number(dead.trim()) >= 20000) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const result = await runCli([
        "maintain",
        "--database",
        url,
        "--dir",
        ws.dir,
        "--format",
        "json",
      ]);
      assert.equal(result.code, 0, result.stderr);
      const report = JSON.parse(result.stdout);
      assert.equal(report.engine, "postgres");
      const vacuum = report.steps.find((s: { name: string }) => s.name.includes('"churn"'));
      assert.equal(vacuum?.outcome, "done", JSON.stringify(report.steps));
      assert.match(vacuum.detail, /^dead tuples 20000 -> 0 /);
      assert.equal(report.integrity, "skipped", "amcheck is not installed");
      assert.ok(!result.stdout.includes("password"), "no secret in the report");
      const check = await runCli(["check", "--database", url, "--dir", ws.dir]);
      assert.match(check.stdout, /^OK: the last maintain \(.*\)/m);
    });
  } finally {
    await cluster.stop();
  }
});
