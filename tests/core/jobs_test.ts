/**
 * The job registry with a fake clock: views while running and once ended, progress, errors,
 * how long finished jobs are kept, listeners, and waiting for jobs to end.
 */
import assert from "node:assert/strict";
import { JobRegistry, type JobView } from "../../src/core/jobs.ts";
import { BackupNotFoundError, LockBusyError } from "../../src/core/errors.ts";
import { FakeClock } from "../helpers/cli.ts";

/** Work that ends when the test says so. */
function gate<T = unknown>() {
  const { promise, resolve, reject } = Promise.withResolvers<T>();
  return { work: () => promise, resolve, reject };
}

Deno.test("start() answers at once with a running view of the kind, caller, target and phase", async () => {
  const clock = new FakeClock();
  const jobs = new JobRegistry({ clock });
  const running = gate();
  const view = jobs.start(
    "verify",
    { by: "ops", target: "full_1", phase: "checking" },
    running.work,
  );
  assert.match(view.id, /^j_[0-9a-z]+_[0-9a-f]{8}$/);
  const { id: _id, ...rest } = view;
  assert.deepEqual(rest, {
    kind: "verify",
    state: "running",
    target: "full_1",
    by: "ops",
    createdAt: "2026-11-23T10:15:00.000Z",
    finishedAt: null,
    progress: { phase: "checking" },
    result: null,
    error: null,
  });
  const bare = jobs.start("cleanup", {}, () => Promise.resolve());
  assert.equal(bare.by, null);
  assert.equal(bare.target, null);
  assert.deepEqual(bare.progress, { phase: "starting" });
  assert.notEqual(bare.id, view.id);
  running.resolve(undefined);
  await jobs.idle();
});

Deno.test("progress() merges figures and keeps the phase unless it is given", async () => {
  const jobs = new JobRegistry({ clock: new FakeClock() });
  const running = gate();
  const view = jobs.start("create", { phase: "dumping" }, async (job) => {
    job.progress({ bytes: 100, table: "users" });
    job.progress({ rows: 10, tables: 1 });
    job.progress({ bytes: 250 });
    job.setTarget("full_20261123T101500000Z");
    return await running.work();
  });
  assert.deepEqual(view.progress, {
    phase: "dumping",
    bytes: 250,
    rows: 10,
    tables: 1,
    table: "users",
  });
  assert.equal(view.target, "full_20261123T101500000Z");
  running.resolve(undefined);
  await jobs.settled(view.id);
});

Deno.test("progress() after a job ended changes nothing", async () => {
  const jobs = new JobRegistry({ clock: new FakeClock() });
  let late: ((update: { bytes: number; phase?: string }) => void) | undefined;
  const view = jobs.start("create", { phase: "dumping" }, (job) => {
    late = (update) => job.progress(update);
    job.progress({ bytes: 1 });
    return Promise.resolve("done");
  });
  await jobs.settled(view.id);
  late!({ bytes: 999, phase: "copying" });
  assert.deepEqual(jobs.get(view.id)!.progress, { phase: "dumping", bytes: 1 });
});

Deno.test("a job that succeeds shows its result through present() and when it finished", async () => {
  const clock = new FakeClock();
  const jobs = new JobRegistry({ clock });
  const running = gate<{ id: string; secret: string }>();
  const view = jobs.start(
    "create",
    { by: "ops" },
    running.work,
    (result) => ({ backup: result.id }),
  );
  clock.advance(5_000);
  running.resolve({ id: "full_1", secret: "not shown" });
  const { view: done, error } = await jobs.settled(view.id);
  assert.equal(error, undefined);
  assert.equal(done, view); // the same object, updated
  assert.equal(done.state, "succeeded");
  assert.deepEqual(done.result, { backup: "full_1" });
  assert.equal(done.error, null);
  assert.equal(done.createdAt, "2026-11-23T10:15:00.000Z");
  assert.equal(done.finishedAt, "2026-11-23T10:15:05.000Z");

  const nothing = jobs.start("cleanup", {}, () => Promise.resolve(undefined));
  assert.equal((await jobs.settled(nothing.id)).view.result, null);
});

Deno.test("a job that fails shows the error's class and its message on one line", async () => {
  const cases: [unknown, { code: string; message: string }][] = [
    [
      new BackupNotFoundError('Cannot find backup "x":\n  no backup id contains it'),
      { code: "BackupNotFoundError", message: 'Cannot find backup "x": no backup id contains it' },
    ],
    [
      new LockBusyError('Cannot run "create": held'),
      { code: "LockBusyError", message: 'Cannot run "create": held' },
    ],
    [new TypeError("x is not a function"), { code: "Error", message: "x is not a function" }],
    ["a string", { code: "Error", message: "a string" }],
  ];
  for (const [thrown, expected] of cases) {
    const clock = new FakeClock();
    const jobs = new JobRegistry({ clock });
    const view = jobs.start("verify", {}, () => Promise.reject(thrown));
    const { view: done, error } = await jobs.settled(view.id);
    assert.equal(error, thrown);
    assert.equal(done.state, "failed");
    assert.deepEqual(done.error, expected);
    assert.equal(done.result, null);
    assert.equal(done.finishedAt, "2026-11-23T10:15:00.000Z");
  }
});

Deno.test("describeError decides how a failure shows", async () => {
  const seen: unknown[] = [];
  const jobs = new JobRegistry({
    clock: new FakeClock(),
    describeError: (error) => {
      seen.push(error);
      return { code: "busy", message: "someone else" };
    },
  });
  const thrown = new LockBusyError("held");
  const view = jobs.start("create", {}, () => Promise.reject(thrown));
  const { view: done } = await jobs.settled(view.id);
  assert.deepEqual(done.error, { code: "busy", message: "someone else" });
  assert.deepEqual(seen, [thrown]);
});

Deno.test("onFinished is called once per job with its final view", async () => {
  const finished: [string, string][] = [];
  const jobs = new JobRegistry({
    clock: new FakeClock(),
    onFinished: (job) => finished.push([job.id, job.state]),
  });
  const ok = jobs.start("create", {}, () => Promise.resolve(1));
  const bad = jobs.start("verify", {}, () => Promise.reject(new Error("no")));
  await jobs.idle();
  assert.deepEqual(finished.toSorted(), [[ok.id, "succeeded"], [bad.id, "failed"]].toSorted());
});

Deno.test("list() is newest first, running() only the running, get() one by id", async () => {
  const clock = new FakeClock();
  const jobs = new JobRegistry({ clock });
  const running = gate();
  const first = jobs.start("create", {}, () => Promise.resolve());
  clock.advance(1000);
  const second = jobs.start("verify", {}, running.work);
  clock.advance(1000);
  const third = jobs.start("cleanup", {}, () => Promise.resolve());
  await jobs.settled(third.id);
  assert.deepEqual(jobs.list().map((j) => j.id), [third.id, second.id, first.id]);
  assert.deepEqual(jobs.running().map((j) => j.id), [second.id]);
  assert.equal(jobs.get(first.id), first);
  assert.equal(jobs.get("j_unknown"), undefined);
  running.resolve(undefined);
  await jobs.idle();
  assert.deepEqual(jobs.running(), []);
});

Deno.test("finished jobs are forgotten after keepMs, running jobs are kept however old", async () => {
  const clock = new FakeClock();
  const jobs = new JobRegistry({ clock, keepMs: 60_000 });
  const running = gate();
  const old = jobs.start("create", {}, running.work);
  const done = jobs.start("verify", {}, () => Promise.resolve());
  await jobs.settled(done.id);
  clock.advance(60_000);
  assert.equal(jobs.get(done.id), done); // exactly keepMs: still kept
  clock.advance(1);
  assert.equal(jobs.get(done.id), undefined);
  assert.deepEqual(jobs.list().map((j) => j.id), [old.id]);
  await assert.rejects(jobs.settled(done.id), { message: `unknown job ${done.id}` });

  clock.advance(10 * 60 * 60 * 1000);
  assert.equal(jobs.get(old.id), old);
  running.resolve(undefined);
  await jobs.settled(old.id);
  clock.advance(59_000);
  assert.equal(jobs.get(old.id)?.state, "succeeded"); // kept from when it finished
  clock.advance(2_000);
  assert.equal(jobs.get(old.id), undefined);
});

Deno.test("the default keeps finished jobs for an hour", async () => {
  const clock = new FakeClock();
  const jobs = new JobRegistry({ clock });
  const done = jobs.start("create", {}, () => Promise.resolve());
  await jobs.settled(done.id);
  clock.advance(60 * 60 * 1000);
  assert.ok(jobs.get(done.id));
  clock.advance(1);
  assert.equal(jobs.get(done.id), undefined);
});

Deno.test("at most keepCount finished jobs are kept, the newest, besides the running ones", async () => {
  const clock = new FakeClock();
  const jobs = new JobRegistry({ clock, keepCount: 2 });
  const running = gate();
  const busy = jobs.start("restore", {}, running.work);
  const finished: JobView[] = [];
  for (let i = 0; i < 4; i++) {
    clock.advance(1000);
    const view = jobs.start("create", {}, () => Promise.resolve(i));
    await jobs.settled(view.id);
    finished.push(view);
  }
  const kept = jobs.list().map((j) => j.id);
  assert.deepEqual(kept, [finished[3].id, finished[2].id, busy.id]);
  running.resolve(undefined);
  await jobs.idle();
});

Deno.test("a long job that finishes after newer ones is kept: keepCount counts by finish time", async () => {
  const clock = new FakeClock();
  const jobs = new JobRegistry({ clock, keepCount: 2 });
  const running = gate();
  const restore = jobs.start("restore", {}, running.work);
  const quick: JobView[] = [];
  for (let i = 0; i < 2; i++) {
    clock.advance(1000);
    const view = jobs.start("verify", {}, () => Promise.resolve(i));
    await jobs.settled(view.id);
    quick.push(view);
  }
  clock.advance(1000);
  running.resolve(undefined);
  await jobs.settled(restore.id);
  // the restore finished last: a client polling for its outcome must still find it; the job
  // that finished longest ago goes instead
  assert.equal(jobs.get(restore.id)?.state, "succeeded");
  assert.deepEqual(jobs.list().map((j) => j.id), [quick[1].id, restore.id]);
});

Deno.test("the default keeps the 100 newest finished jobs", async () => {
  const jobs = new JobRegistry({ clock: new FakeClock() });
  const ids: string[] = [];
  for (let i = 0; i < 105; i++) {
    const view = jobs.start("verify", {}, () => Promise.resolve());
    await jobs.settled(view.id);
    ids.push(view.id);
  }
  assert.deepEqual(jobs.list().map((j) => j.id), ids.slice(5).reverse());
});

Deno.test("subscribe() gets every change, the last with the final state, until unsubscribed", async () => {
  const jobs = new JobRegistry({ clock: new FakeClock() });
  const step = gate();
  const finish = gate();
  let handle: { progress(update: { bytes: number }): void } | undefined;
  const view = jobs.start("create", { phase: "dumping" }, async (job) => {
    handle = job;
    await step.work();
    job.progress({ bytes: 1 });
    job.progress({ bytes: 2 });
    await finish.work();
    return "ok";
  });
  const all: string[] = [];
  const early: string[] = [];
  jobs.subscribe(view.id, (job) => all.push(`${job.state}:${job.progress.bytes ?? 0}`));
  const unsubscribe = jobs.subscribe(view.id, (job) => {
    early.push(`${job.state}:${job.progress.bytes ?? 0}`);
  });
  jobs.subscribe(view.id, () => {
    throw new Error("a listener whose client left");
  });
  handle!.progress({ bytes: 0 });
  unsubscribe();
  step.resolve(undefined);
  await new Promise((resolve) => setTimeout(resolve, 0));
  finish.resolve(undefined);
  const { view: done } = await jobs.settled(view.id);
  assert.equal(done.state, "succeeded"); // the throwing listener did not fail it
  assert.deepEqual(all, ["running:0", "running:1", "running:2", "succeeded:2"]);
  assert.deepEqual(early, ["running:0"]);
});

Deno.test("subscribe() to a finished or unknown job never calls the listener", async () => {
  const jobs = new JobRegistry({ clock: new FakeClock() });
  const view = jobs.start("verify", {}, () => Promise.resolve());
  await jobs.settled(view.id);
  const calls: JobView[] = [];
  const unsubscribe = jobs.subscribe(view.id, (job) => calls.push(job));
  unsubscribe();
  jobs.subscribe("j_unknown", (job) => calls.push(job))();
  assert.deepEqual(calls, []);
});

Deno.test("settled() resolves at once for a finished job and throws for an unknown one", async () => {
  const jobs = new JobRegistry({ clock: new FakeClock() });
  const view = jobs.start("verify", {}, () => Promise.resolve("r"));
  await jobs.settled(view.id);
  const again = await jobs.settled(view.id);
  assert.equal(again.view.result, "r");
  await assert.rejects(jobs.settled("j_nope"), { message: "unknown job j_nope" });
});

Deno.test("idle() resolves only once every running job has ended", async () => {
  const jobs = new JobRegistry({ clock: new FakeClock() });
  await jobs.idle(); // none: at once
  const a = gate();
  const b = gate();
  jobs.start("create", {}, a.work);
  jobs.start("restore", {}, b.work);
  let idle = false;
  const waiting = jobs.idle().then(() => idle = true);
  a.resolve(undefined);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(idle, false);
  b.reject(new Error("failed jobs end too"));
  await waiting;
  assert.equal(idle, true);
  assert.deepEqual(jobs.running(), []);
});
