import assert from "node:assert/strict";
import {
  formatStall,
  type Phase,
  Watchdog,
  type WatchdogTimers,
  watched,
} from "../../src/core/watchdog.ts";
import { ExitCode, InterruptedError, StalledError } from "../../src/core/errors.ts";

/** Timers on a clock that moves only when the test says so. */
class FakeTimers implements WatchdogTimers {
  #now = 0;
  #next = 0;
  readonly #due = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#due.set(id, { at: this.#now + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#due.delete(handle as number);
  }

  /** Moves the clock by `ms`, running every timer that comes due, in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      const [id, timer] = [...this.#due].sort((a, b) => a[1].at - b[1].at)[0] ?? [];
      if (timer === undefined || timer.at > end) break;
      this.#due.delete(id!);
      this.#now = timer.at;
      timer.fn();
    }
    this.#now = end;
  }

  get pending(): number {
    return this.#due.size;
  }

  /** Milliseconds until the next timer is due. */
  get nextIn(): number {
    return Math.min(...[...this.#due.values()].map((t) => t.at - this.#now));
  }
}

const DUMPING: Phase = {
  doing: "dumping the database",
  what: '"postgres://app@db:5432/app"',
  check: "check for a lock held by another session (pg_locks); nothing was kept",
};
const STORING: Phase = {
  doing: "writing to the store",
  what: '"s3://acme/db"',
  check: "check the store; nothing was kept",
};

Deno.test("Watchdog fires after timeoutMs without a tick, aborting its signal with the stall line", () => {
  const timers = new FakeTimers();
  const dog = new Watchdog({ timeoutMs: 2_000, phase: DUMPING, timers });
  timers.advance(1_999);
  assert.equal(dog.signal.aborted, false);
  timers.advance(1);
  assert.equal(dog.signal.aborted, true);
  assert.ok(dog.stalled instanceof StalledError);
  assert.equal(dog.signal.reason, dog.stalled);
  assert.equal(dog.stalled.exitCode, ExitCode.Stalled);
  assert.equal(
    dog.stalled.message,
    'Stalled: no progress for 2 s while dumping the database ("postgres://app@db:5432/app"): ' +
      "check for a lock held by another session (pg_locks); nothing was kept",
  );
  dog.stop();
});

Deno.test("Watchdog: ticks and phase changes reset it (an inactivity timeout, not a total one)", () => {
  const timers = new FakeTimers();
  const dog = new Watchdog({ timeoutMs: 2_000, phase: DUMPING, timers });
  for (let i = 0; i < 10; i++) {
    timers.advance(1_500);
    if (i % 2 === 0) dog.tick();
    else dog.enter({ ...DUMPING, what: `table "t${i}"` });
  }
  assert.equal(dog.signal.aborted, false, "15 s of steady progress never stalls");
  timers.advance(1_999);
  assert.equal(dog.signal.aborted, false);
  timers.advance(1);
  assert.match(dog.stalled!.message, /while dumping the database \(table "t9"\)/);
  dog.stop();
});

Deno.test("Watchdog: a stall during a pending wait names that wait's phase", async () => {
  const timers = new FakeTimers();
  const dog = new Watchdog({ timeoutMs: 1_000, phase: DUMPING, timers });
  const never = new Promise<void>(() => {});
  void dog.wait(STORING, never);
  await dog.wait(STORING, Promise.resolve()); // a settled wait is no longer pending
  timers.advance(1_000);
  assert.match(dog.stalled!.message, /while writing to the store \("s3:\/\/acme\/db"\)/);
  dog.stop();
});

Deno.test("Watchdog: timeoutMs 0 disables it, stop() ends it, and a parent abort passes through", () => {
  const timers = new FakeTimers();
  const off = new Watchdog({ timeoutMs: 0, phase: DUMPING, timers });
  timers.advance(365 * 86_400_000);
  assert.equal(off.signal.aborted, false);
  assert.equal(timers.pending, 0);

  const stopped = new Watchdog({ timeoutMs: 1_000, phase: DUMPING, timers });
  stopped.stop();
  assert.equal(timers.pending, 0);
  timers.advance(5_000);
  assert.equal(stopped.signal.aborted, false);

  const parent = new AbortController();
  const child = new Watchdog({ timeoutMs: 1_000, phase: DUMPING, parent: parent.signal, timers });
  parent.abort("SIGINT");
  assert.equal(child.signal.aborted, true);
  assert.equal(child.signal.reason, "SIGINT");
  assert.equal(child.stalled, undefined);
  child.stop();

  const early = new Watchdog({ timeoutMs: 1_000, phase: DUMPING, parent: parent.signal, timers });
  assert.equal(early.signal.aborted, true, "an already aborted parent aborts at once");
  early.stop();
});

Deno.test("formatStall() says the timeout as the stall line does", () => {
  const cases: [number, string][] = [
    [500, "1 s"],
    [2_000, "2 s"],
    [30_000, "30 s"],
    [60_000, "1 min"],
    [90_000, "90 s"],
    [600_000, "10 min"],
    [3_600_000, "1 h"],
    [5_400_000, "1 h 30 min"],
  ];
  for (const [ms, text] of cases) assert.equal(formatStall(ms), text, `${ms} ms`);
});

Deno.test("watched() turns what abandoned work threw into the StalledError, keeping it as cause", async () => {
  const timers = new FakeTimers();
  const cause = new Error("canceling statement due to user request");
  const result = watched(
    { timeoutMs: 1_000, phase: DUMPING, timers },
    (dog) =>
      new Promise((_, reject) => {
        dog.signal.addEventListener("abort", () => reject(cause));
      }),
  );
  timers.advance(1_000);
  const error = await result.then(() => undefined, (e) => e);
  assert.ok(error instanceof StalledError);
  assert.match(error.message, /^Stalled: no progress for 1 s while dumping the database/);
  assert.equal(error.cause, cause);
  assert.equal(timers.pending, 0, "no timer is left behind");
});

Deno.test("watched() gives work that ignores the signal graceMs, then fails anyway", async () => {
  const timers = new FakeTimers();
  const result = watched(
    { timeoutMs: 1_000, graceMs: 5_000, phase: STORING, timers },
    () => new Promise(() => {}),
  );
  timers.advance(1_000);
  while (timers.pending === 0) await new Promise((resolve) => setTimeout(resolve, 0));
  timers.advance(4_999);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(timers.pending, 1, "still within the grace period");
  timers.advance(1);
  const error = await result.then(() => undefined, (e) => e);
  assert.ok(error instanceof StalledError);
  assert.match(error.message, /while writing to the store/);
  assert.equal(timers.pending, 0);
});

Deno.test("watched() passes results and other errors through untouched", async () => {
  const timers = new FakeTimers();
  assert.equal(
    await watched({ timeoutMs: 1_000, phase: DUMPING, timers }, () => Promise.resolve(42)),
    42,
  );
  const failure = new Error("disk full");
  await assert.rejects(
    watched({ timeoutMs: 1_000, phase: DUMPING, timers }, () => Promise.reject(failure)),
    (e) => e === failure,
  );
  assert.equal(timers.pending, 0);
});

Deno.test("watched() turns what work stopped by the parent signal threw into the interrupted error", async () => {
  const timers = new FakeTimers();
  const parent = new AbortController();
  const cancelled = new Error("canceling statement due to user request");
  const result = watched({
    timeoutMs: 1_000,
    phase: DUMPING,
    parent: parent.signal,
    timers,
    interrupted: (cause) => new InterruptedError("Stopped backing up: interrupted", { cause }),
  }, (dog) =>
    new Promise((_, reject) => {
      dog.signal.addEventListener("abort", () => reject(cancelled));
    }));
  parent.abort();
  const error = await result.then(() => undefined, (e) => e);
  assert.ok(error instanceof InterruptedError);
  assert.equal(error.message, "Stopped backing up: interrupted");
  assert.equal(error.cause, cancelled);
});

Deno.test("Watchdog waits for a timeout of weeks in steps no timer overflows on", () => {
  const timers = new FakeTimers();
  const weeks = 6 * 604_800_000; // beyond 2^31 ms, where real timers fire at once
  const dog = new Watchdog({ timeoutMs: weeks, phase: DUMPING, timers });
  assert.ok(timers.nextIn <= 3_600_000, `armed for ${timers.nextIn} ms`);
  timers.advance(weeks - 1);
  assert.equal(dog.signal.aborted, false);
  timers.advance(1);
  assert.match(dog.stalled!.message, /^Stalled: no progress for 1008 h while/);
  dog.stop();
});
