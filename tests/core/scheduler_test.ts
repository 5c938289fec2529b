/**
 * The scheduler on a fake clock (sleeping jumps the clock, so days pass in milliseconds) against
 * real SQLite files: interval and cron sequences (with DST in Europe/Berlin), retries with
 * backoff, a busy lock, graceful stop and abandon, and the audit lines of each cycle.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runScheduler, type SchedulerOptions } from "../../src/core/scheduler.ts";
import type { SchedulerContext } from "../../src/core/scheduler.ts";
import type { OpsEvent } from "../../src/core/events.ts";
import { readAudit } from "../../src/core/audit.ts";
import { acquireLock, LOCK_KEY } from "../../src/core/lock.ts";
import { InterruptedError } from "../../src/core/errors.ts";
import { engineFor } from "../../src/engines/registry.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { FakeClock } from "../helpers/cli.ts";
import { listNames, makeDatabase, withWorkspace, type Workspace } from "../helpers/workspace.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function contextOf(ws: Workspace, clock: FakeClock): SchedulerContext {
  return {
    storage: new LocalStorage(ws.dir),
    engine: engineFor(ws.database),
    database: ws.database,
    clock,
  };
}

/** Runs the scheduler until `cycles` cycles have ended (ok, failed for good, or skipped). */
async function runFor(
  ws: Workspace,
  clock: FakeClock,
  cycles: number,
  options: SchedulerOptions,
  onEvent: (event: OpsEvent, stop: () => void) => void = () => {},
): Promise<OpsEvent[]> {
  const events: OpsEvent[] = [];
  const stop = new AbortController();
  let ended = 0;
  await runScheduler(contextOf(ws, clock), {
    ...options,
    stop: stop.signal,
    onEvent: (event) => {
      events.push(event);
      const final = event.type === "run-ok" || event.type === "run-skipped" ||
        (event.type === "run-failed" && !event.retryAt);
      if (final && ++ended === cycles) stop.abort();
      onEvent(event, () => stop.abort());
    },
  });
  return events;
}

const iso = (d: Date) => d.toISOString();
const startsOf = (events: OpsEvent[]) =>
  events.filter((e) => e.type === "run-start").map((e) => iso(e.time));

Deno.test("runScheduler() every 6h runs at once, then every 6 hours on the same phase", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock("2026-11-23T10:15:00.000Z");
    const events = await runFor(ws, clock, 3, { schedule: { every: 6 * HOUR } });
    const start = events[0];
    assert.equal(start.type, "scheduler-start");
    assert.equal(start.type === "scheduler-start" && start.schedule, "every 6h");
    assert.deepEqual(start.type === "scheduler-start" && start.next.map(iso), [
      "2026-11-23T10:15:00.000Z",
      "2026-11-23T16:15:00.000Z",
      "2026-11-23T22:15:00.000Z",
    ]);
    assert.deepEqual(startsOf(events), [
      "2026-11-23T10:15:00.000Z",
      "2026-11-23T16:15:00.000Z",
      "2026-11-23T22:15:00.000Z",
    ]);
    assert.equal(events.at(-1)?.type, "scheduler-stop");
    assert.equal((await listNames(ws.dir)).filter((n) => n.endsWith(".meta.json")).length, 3);
    const runs = await readAudit(ws.dir, { actions: ["run"] });
    assert.deepEqual(runs.map((r) => [r.actor, r.outcome]), [
      ["scheduler", "ok"],
      ["scheduler", "ok"],
      ["scheduler", "ok"],
    ]);
  });
});

Deno.test("runScheduler() every 6h waits until one interval after the newest backup", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock("2026-11-23T08:00:00.000Z");
    await runFor(ws, clock, 1, { once: true }); // a backup at 08:00
    clock.set("2026-11-23T10:15:00.000Z"); // auto restarted 2h15m later
    const events = await runFor(ws, clock, 2, { schedule: { every: 6 * HOUR } });
    assert.deepEqual(startsOf(events), ["2026-11-23T14:00:00.000Z", "2026-11-23T20:00:00.000Z"]);
  });
});

Deno.test("runScheduler() with a cron in Europe/Berlin follows the spring DST change", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock("2026-03-27T12:00:00.000Z");
    const events = await runFor(ws, clock, 3, {
      schedule: { cron: "30 2 * * *", timezone: "Europe/Berlin" },
    });
    // 02:30 CET = 01:30Z; on 29 March 02:30 does not exist: it runs at the gap's end, 03:00 CEST
    assert.deepEqual(startsOf(events), [
      "2026-03-28T01:30:00.000Z",
      "2026-03-29T01:00:00.000Z",
      "2026-03-30T00:30:00.000Z",
    ]);
  });
});

Deno.test("runScheduler() with a cron in Europe/Berlin runs once on the repeated autumn hour", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock("2026-10-24T12:00:00.000Z");
    const events = await runFor(ws, clock, 3, {
      schedule: { cron: "30 2 * * *", timezone: "Europe/Berlin" },
    });
    assert.deepEqual(startsOf(events), [
      "2026-10-25T00:30:00.000Z", // 02:30 CEST, the first of the two 02:30s
      "2026-10-26T01:30:00.000Z", // 02:30 CET
      "2026-10-27T01:30:00.000Z",
    ]);
  });
});

Deno.test("runScheduler() retries a failed run with doubling backoff until the database appears", async () => {
  await withWorkspace(async (ws) => {
    const clock = new FakeClock("2026-11-23T10:00:00.000Z");
    const events = await runFor(
      ws,
      clock,
      1,
      { once: true, retries: 3, retryBackoffMs: MINUTE },
      (event) => {
        if (event.type === "run-failed" && event.attempt === 2) makeDatabase(ws.database);
      },
    );
    const failures = events.filter((e) => e.type === "run-failed");
    assert.deepEqual(
      failures.map((e) => e.type === "run-failed" && [iso(e.time), e.attempt, iso(e.retryAt!)]),
      [
        ["2026-11-23T10:00:00.000Z", 1, "2026-11-23T10:01:00.000Z"],
        ["2026-11-23T10:01:00.000Z", 2, "2026-11-23T10:03:00.000Z"],
      ],
    );
    assert.equal(
      failures[0].type === "run-failed" && failures[0].error,
      `Cannot back up "${ws.database}": the database does not exist (check --database or DATABASE_URL)`,
    );
    const ok = events.find((e) => e.type === "run-ok");
    assert.ok(ok?.type === "run-ok");
    assert.equal(ok.attempt, 3);
    assert.equal(ok.backupId, "full_20261123T100300000Z");
    const runs = (await readAudit(ws.dir, { actions: ["run"] })).reverse();
    assert.deepEqual(runs.map((r) => [r.outcome, r.details?.attempt]), [
      ["failed", 1],
      ["failed", 2],
      ["ok", 3],
    ]);
    assert.equal(runs[0].target, ws.database); // no backup id yet: the (redacted) database
  });
});

Deno.test("runScheduler() gives up after the last retry and keeps to the schedule", async () => {
  await withWorkspace(async (ws) => {
    const clock = new FakeClock("2026-11-23T10:00:00.000Z");
    const events = await runFor(ws, clock, 2, {
      schedule: { every: HOUR },
      retries: 2,
      retryBackoffMs: 10 * MINUTE,
    });
    const failures = events.filter((e) => e.type === "run-failed");
    assert.deepEqual(
      failures.map((e) =>
        e.type === "run-failed" && [iso(e.time), e.attempt, e.retryAt && iso(e.retryAt)]
      ),
      [
        ["2026-11-23T10:00:00.000Z", 1, "2026-11-23T10:10:00.000Z"],
        ["2026-11-23T10:10:00.000Z", 2, "2026-11-23T10:30:00.000Z"],
        ["2026-11-23T10:30:00.000Z", 3, undefined], // 1 + 2 retries: the schedule goes on
        ["2026-11-23T11:00:00.000Z", 1, "2026-11-23T11:10:00.000Z"],
        ["2026-11-23T11:10:00.000Z", 2, "2026-11-23T11:30:00.000Z"],
        ["2026-11-23T11:30:00.000Z", 3, undefined],
      ],
    );
  });
});

Deno.test("runScheduler() does not retry past the next scheduled run", async () => {
  await withWorkspace(async (ws) => {
    const clock = new FakeClock("2026-11-23T10:00:00.000Z");
    const events = await runFor(ws, clock, 1, {
      schedule: { every: HOUR },
      retries: 5,
      retryBackoffMs: 20 * MINUTE,
    });
    assert.deepEqual(
      events.filter((e) => e.type === "run-failed").map((e) =>
        e.type === "run-failed" && [e.attempt, e.retryAt && iso(e.retryAt), iso(e.next!)]
      ),
      [
        [1, "2026-11-23T10:20:00.000Z", "2026-11-23T11:00:00.000Z"],
        [2, undefined, "2026-11-23T11:00:00.000Z"], // 10:20 + 40m would be 11:00
      ],
    );
  });
});

Deno.test("runScheduler() skips a run while another run holds the lock, then carries on", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock("2026-11-23T10:00:00.000Z");
    const manual = await acquireLock(ws.dir, { command: "create", clock });
    const events = await runFor(ws, clock, 2, { schedule: { every: HOUR } }, (event) => {
      if (event.type === "run-skipped") void manual.release();
    });
    const skipped = events.find((e) => e.type === "run-skipped");
    assert.ok(skipped?.type === "run-skipped");
    assert.match(skipped.reason, /^Cannot run "auto cycle": "create" \(pid \d+ on /);
    assert.equal(iso(skipped.next!), "2026-11-23T11:00:00.000Z");
    assert.deepEqual(startsOf(events), ["2026-11-23T11:00:00.000Z"]);
    // a skipped run is not a failed one: no run line for it
    assert.deepEqual((await readAudit(ws.dir, { actions: ["run"] })).map((r) => r.outcome), ["ok"]);
  });
});

Deno.test("runScheduler() finishes the run in progress when asked to stop", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock("2026-11-23T10:00:00.000Z");
    const events = await runFor(ws, clock, 99, { schedule: { every: HOUR } }, (event, stop) => {
      if (event.type === "run-start") stop();
    });
    assert.deepEqual(events.map((e) => e.type), [
      "scheduler-start",
      "run-start",
      "action", // create
      "action", // verify
      "action", // run
      "run-ok",
      "scheduler-stop",
    ]);
    assert.equal((await listNames(ws.dir)).filter((n) => n.endsWith(".sql.gz")).length, 1);
    await assert.rejects(Deno.stat(join(ws.dir, LOCK_KEY)), Deno.errors.NotFound);
  });
});

Deno.test("runScheduler() abandons the run in progress cleanly when aborted", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { events: 5000 });
    const clock = new FakeClock("2026-11-23T10:00:00.000Z");
    const abort = new AbortController();
    const events: OpsEvent[] = [];
    const result = await runScheduler(contextOf(ws, clock), {
      schedule: { every: HOUR },
      signal: abort.signal,
      onEvent: (event) => {
        events.push(event);
        if (event.type === "run-start") abort.abort();
      },
    });
    assert.equal(result.interrupted, true);
    assert.ok(result.last?.outcome === "failed" && result.last.error instanceof InterruptedError);
    assert.deepEqual(events.map((e) => e.type), [
      "scheduler-start",
      "run-start",
      "action", // create failed
      "action", // run failed
      "run-failed",
      "scheduler-stop",
    ]);
    assert.deepEqual(await listNames(ws.dir), ["audit.jsonl"]); // no partial file, no lock
  });
});
