/**
 * `status` end to end, in-process, against real SQLite files in temporary directories and a fake
 * clock: the figures, the verdict, and the `--check` exit codes monitors read.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { AUDIT_KEY } from "../../src/core/audit.ts";
import { FakeClock, runCli } from "../helpers/cli.ts";
import { withReceiver } from "../helpers/http_receiver.ts";
import {
  listNames,
  makeDatabase,
  snapshotDir,
  withWorkspace,
  type Workspace,
} from "../helpers/workspace.ts";

const HOUR = 60 * 60 * 1000;
const TOKEN = "T000/B000/secret-token";

async function create(ws: Workspace, clock: FakeClock, extra: string[] = []): Promise<string> {
  const result = await runCli(
    ["create", "--database", ws.database, "--dir", ws.dir, "--format", "json", ...extra],
    { clock },
  );
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout).id;
}

async function verifyAll(ws: Workspace, clock: FakeClock): Promise<void> {
  const result = await runCli(["verify", "--all", "--dir", ws.dir, "--database", ws.database], {
    clock,
  });
  assert.equal(result.code, 0, result.stderr);
}

/** `status` with the workspace's database and directory and `extra` flags. */
function status(ws: Workspace, clock: FakeClock, extra: string[] = []) {
  return runCli(["status", "--database", ws.database, "--dir", ws.dir, ...extra], { clock });
}

async function statusJson(ws: Workspace, clock: FakeClock) {
  const result = await status(ws, clock, ["--format", "json"]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

Deno.test("status --format json gives every figure of a healthy, verified store", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock("2026-11-23T10:00:00.000Z");
    const full = await create(ws, clock);
    clock.advance(HOUR);
    const schema = await create(ws, clock, ["--type", "schema"]);
    clock.advance(HOUR);
    await verifyAll(ws, clock);
    const sizes: Record<string, number> = {};
    for (const name of (await listNames(ws.dir)).filter((n) => n !== AUDIT_KEY)) {
      sizes[name] = (await Deno.stat(join(ws.dir, name))).size;
    }
    const total = Object.values(sizes).reduce((a, b) => a + b, 0);
    const report = await statusJson(ws, clock);
    assert.equal(typeof report.freeBytes, "number");
    assert.deepEqual({ ...report, freeBytes: 0 }, {
      backupDir: ws.dir,
      totalBackups: 2,
      goodBackups: 2,
      damagedBackups: 0,
      incompleteFiles: 0,
      incompleteBytes: 0,
      scratchLeftovers: 0,
      scratchBytes: 0,
      lastBackupDate: "2026-11-23T11:00:00.000Z",
      lastBackupType: "schema",
      lastGoodBackupDate: "2026-11-23T11:00:00.000Z",
      lastGoodBackupAgeMs: HOUR,
      totalSize: total,
      averageBackupSize: Math.round(total / 2),
      lastRunDate: "2026-11-23T11:00:00.000Z",
      lastRunOutcome: "ok",
      lastRunError: null,
      lastRunDurationMs: 0,
      consecutiveFailures: 0,
      lastVerifiedBackup: schema,
      lastVerifiedBackupDate: "2026-11-23T11:00:00.000Z",
      lastVerifiedBackupAgeMs: HOUR,
      lastVerifiedAt: "2026-11-23T12:00:00.000Z",
      newestFullBackupSize: sizes[`${full}.sql.gz`] + sizes[`${full}.meta.json`],
      recentMedianSize: null,
      freeBytes: 0,
      databaseReachable: true,
      databaseChecks: [],
      destinations: [],
      systemHealth: "healthy",
      reasons: [],
      policy: {
        rpoMs: 24 * HOUR,
        verifyMaxAgeMs: 7 * 24 * HOUR,
        sizeAnomalyRatio: 0.5,
        minFreeBytes: 1024 ** 3,
        criticalFailures: 3,
      },
      signedBackups: 0,
      lastBackupSignedBy: null,
      untrustedBackups: 0,
    });
  });
});

Deno.test("status prints the figures for people and exits 0", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock("2026-11-23T10:00:00.000Z");
    const id = await create(ws, clock);
    clock.advance(HOUR);
    const result = await status(ws, clock);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.split("\n");
    assert.equal(lines[0], `Backups in ${ws.dir}: 1 (1 good)`);
    assert.equal(
      lines[1],
      `  last backup       ${id.replace(/.*/, "2026-11-23T10:00:00.000Z")} (full)`,
    );
    assert.equal(lines[2], "  last good backup  2026-11-23T10:00:00.000Z, 1h 0m ago (RPO 24h 0m)");
    assert.equal(lines[3], "  last run          2026-11-23T10:00:00.000Z ok");
    assert.equal(lines[4], "  last verified     never");
    assert.match(lines[5], /^ {2}total size {8}\d/);
    assert.match(lines[6], /^ {2}newest full {7}\d/);
    assert.match(lines[7], /^ {2}free space {8}\d/);
    assert.equal(lines[8], "  database          reachable");
    assert.equal(lines[9], "  health            warning");
    assert.equal(lines[10], "    - warning: no good backup has been verified (run verify)");
  });
});

Deno.test("status --check exits 0 healthy, 1 warning, 2 critical with one line per reason", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const start = Date.parse("2026-11-23T10:00:00.000Z");
    const clock = new FakeClock(new Date(start));
    await create(ws, clock);
    await verifyAll(ws, clock);
    const cases: [number, number, string][] = [
      [23 * HOUR, 0, "OK: 1 good backup, the newest 23h 0m old\n"],
      [24 * HOUR, 0, "OK: 1 good backup, the newest 24h 0m old\n"],
      [
        30 * HOUR,
        1,
        "WARNING: the newest good backup is 30h 0m old, past the RPO (limit 24h 0m)\n",
      ],
      [
        50 * HOUR,
        2,
        "CRITICAL: the newest good backup is 2d 2h old, past twice the RPO (limit 2d 0h)\n",
      ],
    ];
    for (const [age, code, stdout] of cases) {
      clock.set(new Date(start + age));
      const result = await status(ws, clock, ["--check"]);
      assert.deepEqual(result, { code, stdout, stderr: "" }, `at ${age / HOUR} h`);
    }
  });
});

Deno.test("status without --check exits 0 even when health is critical", async () => {
  await withWorkspace(async (ws) => {
    const result = await status(ws, new FakeClock());
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /\n {2}health {12}critical\n/);
  });
});

Deno.test("status --check --format json prints every reason and exits with the verdict", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock();
    await create(ws, clock);
    const result = await status(ws, clock, ["--check", "--format", "json"]);
    assert.equal(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.systemHealth, "warning");
    assert.deepEqual(report.reasons, [{
      level: "warning",
      rule: "verification",
      message: "no good backup has been verified (run verify)",
    }]);
  });
});

Deno.test("status --check is critical with no backups, a missing database or a damaged newest backup", async () => {
  await withWorkspace(async (ws) => {
    const clock = new FakeClock();
    const empty = await status(ws, clock, ["--check"]);
    assert.deepEqual(empty, {
      code: 2,
      stdout: "CRITICAL: the database cannot be reached\nCRITICAL: no backups exist\n",
      stderr: "",
    });
    assert.equal(await snapshotDir(ws.dir), null, "status wrote nothing");
    const json = await statusJson(ws, clock);
    assert.equal(json.totalBackups, 0);
    assert.equal(json.lastBackupDate, null);
    assert.equal(json.averageBackupSize, 0);

    makeDatabase(ws.database);
    await create(ws, clock);
    await verifyAll(ws, clock);
    clock.advance();
    const id = await create(ws, clock);
    await Deno.writeFile(join(ws.dir, `${id}.sql.gz`), new Uint8Array([1]));
    const damaged = await status(ws, clock, ["--check"]);
    assert.deepEqual(damaged, {
      code: 2,
      stdout: "CRITICAL: the newest backup fails its integrity checks\n" +
        "WARNING: 1 backup fails integrity checks\n",
      stderr: "",
    });
  });
});

Deno.test("status warns about files left by interrupted runs until cleanup removes them", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock();
    await create(ws, clock);
    await verifyAll(ws, clock);
    const old = (clock.now().getTime() - HOUR) / 1000;
    for (
      const name of ["full_20261123T090000000Z.sql.gz.partial", "full_20261123T091000000Z.sql.gz"]
    ) {
      await Deno.writeFile(join(ws.dir, name), new Uint8Array([0x1f, 0x8b]));
      await Deno.utime(join(ws.dir, name), old, old);
    }
    const before = await status(ws, clock, ["--check"]);
    assert.deepEqual(before, {
      code: 1,
      stdout: "WARNING: 2 leftovers from interrupted runs, 4 B: run cleanup\n",
      stderr: "",
    });
    assert.equal((await runCli(["cleanup", "--dir", ws.dir], { clock })).code, 0);
    assert.equal((await status(ws, clock, ["--check"])).code, 0);
  });
});

Deno.test("status --check that cannot run exits with the error's own code, not a verdict", async () => {
  await withWorkspace(async (ws) => {
    const result = await status(ws, new FakeClock(), ["--check", "--format", "yaml"]);
    assert.deepEqual(result, {
      code: 2,
      stdout: "",
      stderr: 'Error: Invalid value "yaml" for --format: expected "text" or "json"\n',
    });
  });
});

Deno.test("status --check announces a change of health level once to the webhook", async () => {
  await withReceiver(200, async (receiver) => {
    await withWorkspace(async (ws) => {
      makeDatabase(ws.database);
      const clock = new FakeClock();
      await create(ws, clock);
      const env = {
        BACKUP_WEBHOOK_URL: `${receiver.url}/hook/${TOKEN}`,
        BACKUP_NOTIFY_ON: "failure,health",
      };
      const check = () =>
        runCli(["status", "--check", "--database", ws.database, "--dir", ws.dir], {
          clock,
          env,
        });
      assert.equal((await check()).code, 1);
      assert.equal((await check()).code, 1);
      assert.equal(receiver.requests.length, 1, "announced once");
      const body = JSON.parse(receiver.requests[0].body);
      assert.equal(body.event, "health");
      assert.deepEqual(body.health.reasons, [{
        level: "warning",
        rule: "verification",
        message: "no good backup has been verified (run verify)",
      }]);
      await verifyAll(ws, clock);
      const healthy = await check();
      assert.deepEqual(healthy, {
        code: 0,
        stdout: "OK: 1 good backup, the newest 0m old\n",
        stderr: "",
      });
      assert.equal(receiver.requests.length, 2);
      assert.equal(
        JSON.parse(receiver.requests[1].body).summary.endsWith("is healthy (was warning)"),
        true,
      );
    });
  });
});

Deno.test("status --check with a failing webhook exits with the verdict and warns without the URL's token", async () => {
  await withReceiver(500, async (receiver) => {
    await withWorkspace(async (ws) => {
      const result = await runCli(
        ["status", "--check", "--database", ws.database, "--dir", ws.dir],
        {
          clock: new FakeClock(),
          env: {
            BACKUP_SLACK_WEBHOOK_URL: `${receiver.url}/services/${TOKEN}`,
            BACKUP_NOTIFY_ON: "health",
          },
        },
      );
      assert.equal(result.code, 2);
      assert.equal(
        result.stderr,
        `Warning: Cannot send the health notification by webhook "${receiver.url}/…": HTTP 500 Internal Server Error (backups are not affected)\n`,
      );
      assert.equal(receiver.requests.length, 1);
    });
  });
});

Deno.test("status --check reads the last run and failures in a row from the audit log", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock("2026-11-23T10:00:00.000Z");
    await create(ws, clock);
    await verifyAll(ws, clock);
    await Deno.writeTextFile(
      ws.database,
      "this is not a SQLite database, it is long enough to look",
    );
    const failures: string[] = [];
    for (let i = 0; i < 3; i++) {
      clock.advance();
      const failed = await runCli(
        ["create", "--database", ws.database, "--dir", ws.dir],
        { clock },
      );
      assert.notEqual(failed.code, 0);
      failures.push(failed.stderr.replace(/^Error: /, "").trim());
    }
    const json = await statusJson(ws, clock);
    assert.equal(json.lastRunOutcome, "failed");
    assert.equal(json.lastRunDate, "2026-11-23T10:03:00.000Z");
    assert.equal(json.lastRunError, failures[2]);
    assert.equal(json.consecutiveFailures, 3);
    const check = await status(ws, clock, ["--check"]);
    assert.deepEqual(check, {
      code: 2,
      stdout: `CRITICAL: the last run failed at 2026-11-23T10:03:00.000Z (3 failures in a row): ${
        failures[2]
      }\n`,
      stderr: "",
    });
  });
});
