/**
 * createScheduler() in-process on a fake clock (sleeping jumps the clock, so days pass in
 * milliseconds) against real SQLite files: the source document's usage, cron with a time zone,
 * stop() finishing the cycle in progress, updateConfig() rescheduling while running, enabled
 * false, runNow(), status(), events, and one-line errors for a bad config.
 */
import assert from "node:assert/strict";
import {
  type BackupScheduler,
  createScheduler,
  type CreateSchedulerOptions,
  listBackups,
  openBackupManager,
  type OpsEvent,
  type RunOkEvent,
  UsageError,
} from "../../mod.ts";
import { FakeClock } from "../helpers/cli.ts";
import { makeDatabase, withWorkspace, type Workspace } from "../helpers/workspace.ts";

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

function schedulerFor(
  ws: Workspace,
  clock: FakeClock,
  options: CreateSchedulerOptions = {},
): BackupScheduler {
  return createScheduler({
    settings: { database: ws.database, backupDir: ws.dir },
    clock,
    ...options,
  });
}

/** Resolves with the first `count` backups the scheduler makes. */
function backups(scheduler: BackupScheduler, count: number): Promise<RunOkEvent[]> {
  const seen: RunOkEvent[] = [];
  return new Promise((resolve) => {
    const off = scheduler.on("backup", (event) => {
      seen.push(event);
      if (seen.length === count) {
        off();
        resolve(seen);
      }
    });
  });
}

const iso = (d: Date | undefined) => d?.toISOString();

Deno.test("createScheduler() with the source document's config backs up at once, then once a day, with the description", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock("2026-11-23T10:15:00.000Z");
    const s = schedulerFor(ws, clock);
    s.updateConfig({
      enabled: true,
      type: "interval",
      interval: 24 * 60 * 60 * 1000,
      backupType: "full",
      description: "Daily automatic backup",
    });
    s.start();
    const made = await backups(s, 3);
    await s.stop();
    assert.deepEqual(made.map((e) => iso(e.time)), [
      "2026-11-23T10:15:00.000Z",
      "2026-11-24T10:15:00.000Z",
      "2026-11-25T10:15:00.000Z",
    ]);
    const listed = await listBackups(openBackupManager({ backupDir: ws.dir }).context.storage);
    assert.equal(listed.length, 3);
    for (const entry of listed) {
      assert.equal(entry.meta?.description, "Daily automatic backup");
      assert.equal(entry.type, "full");
    }
    assert.deepEqual(s.status().running, false);
  });
});

Deno.test("createScheduler() with a cron in Europe/Berlin backs up at the cron's times", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock("2026-11-23T12:00:00.000Z");
    const s = schedulerFor(ws, clock, {
      config: { enabled: true, type: "cron", cron: "0 2 * * *", timezone: "Europe/Berlin" },
    });
    s.start();
    const made = await backups(s, 2);
    await s.stop();
    // 02:00 CET is 01:00Z
    assert.deepEqual(made.map((e) => iso(e.time)), [
      "2026-11-24T01:00:00.000Z",
      "2026-11-25T01:00:00.000Z",
    ]);
    assert.equal(s.status().schedule, 'cron "0 2 * * *" in Europe/Berlin');
  });
});

Deno.test("createScheduler() takes its first config from the settings' schedule section", async () => {
  await withWorkspace(async (ws) => {
    const clock = new FakeClock();
    const s = createScheduler({
      settings: { database: ws.database, backupDir: ws.dir, schedule: { every: "6h", retries: 1 } },
      clock,
    });
    assert.deepEqual(s.getConfig(), {
      enabled: true,
      type: "interval",
      interval: 6 * HOUR,
      timezone: s.getConfig().timezone,
      backupType: "full",
      verify: true,
      restoreTest: false,
      retries: 1,
      retryBackoff: 60_000,
    });
    const none = createScheduler({ settings: { backupDir: ws.dir }, clock });
    assert.equal(none.getConfig().enabled, false);
    none.start(); // disabled: nothing runs, nothing throws
    assert.equal(none.status().running, false);
    await none.stop();
  });
});

Deno.test("createScheduler() stop() lets the cycle in progress finish, then resolves", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock();
    const s = schedulerFor(ws, clock, { config: { enabled: true, interval: DAY } });
    const events: string[] = [];
    let stopped: Promise<void> | undefined;
    s.on("*", (event) => {
      events.push(event.type);
      if (event.type === "run-start") {
        assert.equal(s.status().busy, true);
        stopped = s.stop();
      }
    });
    s.start();
    while (!stopped) await new Promise((resolve) => setTimeout(resolve, 1));
    await stopped;
    assert.deepEqual(events.filter((t) => t !== "action"), [
      "scheduler-start",
      "run-start",
      "run-ok",
      "scheduler-stop",
    ]);
    assert.deepEqual(s.status(), {
      started: false,
      running: false,
      busy: false,
      config: s.getConfig(),
      schedule: "every 1d",
      lastRun: s.status().lastRun,
    });
    assert.equal(s.status().lastRun?.outcome, "ok");
    assert.equal(s.nextRun(), undefined);
  });
});

Deno.test("createScheduler() updateConfig() while running reschedules from the newest backup", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock("2026-11-23T10:15:00.000Z");
    const s = schedulerFor(ws, clock, { config: { enabled: true, interval: DAY } });
    const made: RunOkEvent[] = [];
    let applied: Promise<void> | undefined;
    const done = new Promise<void>((resolve) => {
      s.on("backup", (event) => {
        made.push(event);
        if (made.length === 1) applied = s.updateConfig({ interval: HOUR });
        if (made.length === 3) resolve();
      });
    });
    s.start();
    await done;
    await applied;
    await s.stop();
    assert.deepEqual(made.map((e) => iso(e.time)), [
      "2026-11-23T10:15:00.000Z",
      "2026-11-23T11:15:00.000Z",
      "2026-11-23T12:15:00.000Z",
    ]);
    assert.equal(s.getConfig().interval, HOUR);
  });
});

Deno.test("createScheduler() enabled false stops scheduling; enabled again resumes", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock("2026-11-23T10:15:00.000Z");
    const s = schedulerFor(ws, clock, { config: { enabled: true, interval: DAY } });
    s.start();
    await backups(s, 1);
    await s.updateConfig({ enabled: false });
    assert.equal(s.status().running, false);
    assert.equal(s.status().started, true);
    assert.equal(s.nextRun(), undefined);
    const resumed = backups(s, 1);
    await s.updateConfig({ enabled: true });
    assert.equal(s.status().running, true);
    const [next] = await resumed;
    await s.stop();
    // one interval after the newest backup, not at once
    assert.equal(iso(next.time), "2026-11-24T10:15:00.000Z");
  });
});

Deno.test("createScheduler() runNow() runs one cycle outside the schedule and says how it ended", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock();
    const events: OpsEvent[] = [];
    const s = schedulerFor(ws, clock, { onEvent: (e) => events.push(e) });
    const result = await s.runNow();
    assert.equal(result.outcome, "ok");
    const ok = events.find((e) => e.type === "run-ok");
    assert.equal(ok?.type === "run-ok" && ok.backupId, result.outcome === "ok" && result.backupId);
    assert.equal(s.status().lastRun?.outcome, "ok");
    assert.equal(s.status().running, false);
    // a missing database fails the cycle, one line, no throw
    const broken = createScheduler({
      settings: { database: `${ws.root}/missing.db`, backupDir: ws.dir },
      clock,
    });
    const failed = await broken.runNow();
    assert.equal(failed.outcome, "failed");
    assert.match(broken.status().lastRun?.error ?? "", /^Cannot back up ".*missing\.db"/);
  });
});

Deno.test("createScheduler() refuses a bad config in one line and keeps the one it had", async () => {
  await withWorkspace(async (ws) => {
    const s = schedulerFor(ws, new FakeClock());
    await s.stop(); // never started: resolves at once
    const cases: [Parameters<BackupScheduler["updateConfig"]>[0], string][] = [
      [
        { enabled: true, interval: 500 },
        'Invalid scheduler config "interval" (500): expected milliseconds, at least 1000',
      ],
      [
        { enabled: true },
        'Invalid scheduler config "interval": expected milliseconds between backups with type "interval"',
      ],
      [
        { enabled: true, type: "cron" },
        'Invalid scheduler config "cron": expected a cron expression such as "0 2 * * *" with type "cron"',
      ],
      [
        { timezone: "Mars/Olympus" },
        'Invalid scheduler config "timezone" ("Mars/Olympus"): expected an IANA time zone such as "Europe/Berlin" or "UTC"',
      ],
      [
        { backupType: "pre-restore" as "full" },
        'Invalid scheduler config "backupType" ("pre-restore"): expected "full" or "schema"',
      ],
      [{ retries: -1 }, 'Invalid scheduler config "retries" (-1): expected a whole number ≥ 0'],
    ];
    for (const [patch, message] of cases) {
      assert.throws(() => s.updateConfig(patch), (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.equal(error.message, message);
        assert.equal(error.exitCode, 2);
        return true;
      });
    }
    assert.throws(
      () => s.updateConfig({ enabled: true, type: "cron", cron: "not a cron" }),
      UsageError,
    );
    assert.equal(s.getConfig().enabled, false);
    assert.equal(s.getConfig().interval, undefined);
  });
});

Deno.test("createScheduler() a listener that throws fails no backup and silences no other listener", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const seen: string[] = [];
    const s = schedulerFor(ws, new FakeClock(), {
      onEvent: () => {
        throw new Error("listener bug");
      },
    });
    s.on("backup", (e) => seen.push(e.backupId));
    const result = await s.runNow();
    assert.equal(result.outcome, "ok");
    assert.equal(seen.length, 1);
  });
});

Deno.test("createScheduler() with a manager shares its database, clock and listener", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const events: string[] = [];
    const manager = openBackupManager({ database: ws.database, backupDir: ws.dir }, {
      clock: new FakeClock(),
      onEvent: (e) => events.push(e.type),
    });
    const s = createScheduler({ manager, config: { enabled: true, interval: HOUR } });
    s.start();
    await backups(s, 2);
    await s.stop();
    assert.ok(events.includes("scheduler-start"), events.join());
    assert.ok(events.includes("run-ok"), events.join());
    assert.equal((await manager.listBackups()).length, 2);
  });
});
