/**
 * `auto` in-process on a fake clock: --once, retries to exhaustion, a busy lock, settings from
 * the environment, JSON logs, a signal between runs, and one-line usage errors.
 */
import assert from "node:assert/strict";
import { FakeClock, runCli } from "../helpers/cli.ts";
import { Interrupts } from "../../src/cli/interrupts.ts";
import { acquireLock } from "../../src/core/lock.ts";
import { readAudit } from "../../src/core/audit.ts";
import { ExitCode } from "../../src/core/errors.ts";
import { listNames, makeDatabase, withWorkspace } from "../helpers/workspace.ts";

/** A fake clock that sends a signal when something sleeps for the `n`th time. */
class SignallingClock extends FakeClock {
  constructor(readonly interrupts: Interrupts, readonly atSleep: number, start: string) {
    super(start);
  }

  override async sleepUntil(at: Date, signal?: AbortSignal): Promise<void> {
    if (this.sleeps.length + 1 === this.atSleep) this.interrupts.receive();
    await super.sleepUntil(at, signal);
  }
}

Deno.test("auto --once runs one cycle, logs each step and exits 0", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 3, events: 5 });
    const result = await runCli(
      ["auto", "--once", "--keep-last", "1", "--database", ws.database, "--dir", ws.dir],
      { clock: new FakeClock("2026-11-23T10:15:00.000Z") },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    const lines = result.stdout.split("\n").filter(Boolean);
    assert.deepEqual(lines.map((l) => l.replace(/\(2 tables, 8 rows, [\d.]+ \w+\)/, "(…)")), [
      "2026-11-23T10:15:00Z info  scheduler started: once",
      "2026-11-23T10:15:00Z info  run started",
      "2026-11-23T10:15:00Z info  backup created full_20261123T101500000Z (…)",
      "2026-11-23T10:15:00Z info  backup verified full_20261123T101500000Z",
      "2026-11-23T10:15:00Z info  run finished: full_20261123T101500000Z in 0.0 s",
      "2026-11-23T10:15:00Z info  scheduler stopped: one run done (--once)",
    ]);
    assert.deepEqual(
      (await readAudit(ws.dir)).reverse().map((e) => [e.actor, e.action, e.outcome]),
      [["scheduler", "create", "ok"], ["scheduler", "verify", "ok"], ["scheduler", "run", "ok"]],
    );
  });
});

Deno.test("auto --once retries a failing run, then exits with the failure's code", async () => {
  await withWorkspace(async (ws) => {
    const result = await runCli(
      ["auto", "--once", "--retries", "2", "--retry-backoff", "30s", "--database", ws.database],
      { clock: new FakeClock("2026-11-23T10:15:00.000Z"), env: { BACKUP_DIR: ws.dir } },
    );
    assert.equal(result.code, ExitCode.NotFound);
    const failures = result.stdout.split("\n").filter((l) => l.includes("run failed"));
    const error =
      `Cannot back up "${ws.database}": the database does not exist (check --database or DATABASE_URL)`;
    assert.deepEqual(failures, [
      `2026-11-23T10:15:00Z error run failed (attempt 1 of 3): ${error}; retrying at 2026-11-23T10:15:30Z`,
      `2026-11-23T10:15:30Z error run failed (attempt 2 of 3): ${error}; retrying at 2026-11-23T10:16:30Z`,
      `2026-11-23T10:16:30Z error run failed (attempt 3 of 3): ${error}`,
    ]);
    assert.equal((await readAudit(ws.dir, { actions: ["run"] })).length, 3);
  });
});

Deno.test("auto --once skips with exit 6 and a log line while another run holds the lock", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock("2026-11-23T10:15:00.000Z");
    const lock = await acquireLock(ws.dir, { command: "create", clock });
    try {
      const result = await runCli(
        ["auto", "--once", "--database", ws.database, "--dir", ws.dir],
        { clock },
      );
      assert.equal(result.code, ExitCode.Refused);
      assert.match(
        result.stdout,
        /\n2026-11-23T10:15:00Z warn {2}run skipped: Cannot run "auto cycle": "create" \(pid \d+ on .*\) holds the lock/,
      );
      assert.deepEqual(await listNames(ws.dir), [".backup-manager.lock"]);
    } finally {
      await lock.release();
    }
  });
});

Deno.test("auto takes BACKUP_INTERVAL and BACKUP_LOG_FORMAT, logs JSON, and stops on a signal between runs", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const interrupts = new Interrupts();
    const clock = new SignallingClock(interrupts, 3, "2026-11-23T10:15:00.000Z");
    const result = await runCli(["auto", "--database", ws.database, "--dir", ws.dir], {
      clock,
      interrupts,
      env: { BACKUP_INTERVAL: "6h", BACKUP_LOG_FORMAT: "json" },
    });
    assert.equal(result.code, 0, result.stderr);
    const events = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(events[0], {
      time: "2026-11-23T10:15:00.000Z",
      level: "info",
      event: "scheduler-start",
      message:
        "scheduler started: every 6h; next runs 2026-11-23T10:15:00Z, 2026-11-23T16:15:00Z, 2026-11-23T22:15:00Z",
      schedule: "every 6h",
      next: ["2026-11-23T10:15:00.000Z", "2026-11-23T16:15:00.000Z", "2026-11-23T22:15:00.000Z"],
    });
    assert.deepEqual(
      events.filter((e) => e.event === "run-ok").map((e) => [e.time, e.backupId, e.next]),
      [
        ["2026-11-23T10:15:00.000Z", "full_20261123T101500000Z", "2026-11-23T16:15:00.000Z"],
        ["2026-11-23T16:15:00.000Z", "full_20261123T161500000Z", "2026-11-23T22:15:00.000Z"],
      ],
    );
    assert.deepEqual(events.slice(-2).map((e) => [e.level, e.message]), [
      ["warn", "stopping after the run in progress (a second signal abandons it)"],
      ["info", "scheduler stopped: asked to stop"],
    ]);
  });
});

Deno.test("auto refuses with one line and exit 2: no schedule, a bad cron, a bare number", async () => {
  await withWorkspace(async (ws) => {
    const cases: [string[], string][] = [
      [
        [],
        'Error: Cannot run "auto": no schedule is set (use --every 6h or --cron "0 2 * * *", ' +
        'BACKUP_INTERVAL or BACKUP_CRON, "schedule" in the config file, or --once)',
      ],
      [
        ["--cron", "61 2 * * *"],
        'Error: Invalid value "61 2 * * *" for schedule.cron (--cron / BACKUP_CRON): Invalid ' +
        'value for minute: 61 (expected 5 or 6 fields, e.g. "0 2 * * *")',
      ],
      [
        ["--every", "0s"],
        'Error: Invalid value for schedule.every (--every / BACKUP_INTERVAL): expected at least "1s"',
      ],
    ];
    for (const [flags, message] of cases) {
      const result = await runCli(["auto", ...flags, "--dir", ws.dir, "--database", ws.database]);
      assert.equal(result.code, ExitCode.Usage, flags.join(" "));
      assert.equal(result.stderr, message + "\n");
      assert.equal(result.stdout, "");
    }
    const bare = await runCli(["auto", "--every", "6", "--dir", ws.dir]);
    assert.equal(bare.code, ExitCode.Usage);
    assert.equal(
      bare.stderr,
      'Error: Invalid value "6" for --every: expected a duration like "90s", "15m", "6h", "7d" or "1h30m"\n',
    );
    assert.deepEqual(await listNames(ws.dir), []); // bad input touches nothing
  });
});
