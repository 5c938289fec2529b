/**
 * The run lock against real processes: races between separate `deno` processes, a lock left by a
 * SIGKILLed holder, the busy error, and the staleness rules (table-driven).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  acquireLock,
  FOREIGN_STALE_AFTER_MS,
  LOCK_KEY,
  type LockHolder,
  staleReason,
  withLock,
} from "../../src/core/lock.ts";
import { LockBusyError } from "../../src/core/errors.ts";
import { fileHost } from "../../src/core/scratch_names.ts";
import { FakeClock } from "../helpers/cli.ts";
import { withWorkspace } from "../helpers/workspace.ts";

const HOLDER_SCRIPT = fileURLToPath(new URL("../helpers/lock_holder.ts", import.meta.url));
const HOUR = 60 * 60 * 1000;

function holderProcess(directory: string, holdMs: number, startFile?: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      HOLDER_SCRIPT,
      directory,
      String(holdMs),
      ...(startFile ? [startFile] : []),
    ],
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** A child's stdout, line by line. */
function stdoutLines(child: Deno.ChildProcess): { next(): Promise<string | undefined> } {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  return {
    async next() {
      while (!buffered.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) return buffered === "" ? undefined : buffered;
        buffered += value;
      }
      const line = buffered.slice(0, buffered.indexOf("\n"));
      buffered = buffered.slice(line.length + 1);
      return line;
    },
  };
}

/** A lock file left by a process that was SIGKILLed while holding it. */
async function leaveStaleLock(directory: string): Promise<LockHolder> {
  const child = holderProcess(directory, 60_000);
  const lines = stdoutLines(child);
  assert.equal(await lines.next(), "won");
  child.kill("SIGKILL");
  await child.status;
  await child.stderr.cancel();
  assert.equal(await lines.next(), undefined);
  const holder = JSON.parse(await Deno.readTextFile(join(directory, LOCK_KEY)));
  assert.equal(holder.pid, child.pid);
  return holder;
}

async function race(directory: string, runners: number): Promise<string[]> {
  const start = join(directory, "..", "start");
  const children = Array.from({ length: runners }, () => holderProcess(directory, 1000, start));
  const lines = children.map(stdoutLines);
  // every process has loaded and waits for the start line
  for (const line of lines) assert.equal(await line.next(), "ready");
  await Deno.writeTextFile(start, "go");
  const results = await Promise.all(lines.map((line) => line.next()));
  for (const child of children) {
    const status = await child.status;
    const stderr = await new Response(child.stderr).text();
    assert.equal(status.code, 0, stderr);
  }
  return results.map(String).sort();
}

Deno.test("acquireLock() lets exactly one of four racing processes win", async () => {
  await withWorkspace(async (ws) => {
    assert.deepEqual(await race(ws.dir, 4), ["busy", "busy", "busy", "won"]);
    await assert.rejects(Deno.stat(join(ws.dir, LOCK_KEY)), Deno.errors.NotFound);
  });
});

Deno.test("acquireLock() lets exactly one of four processes take over the same stale lock", async () => {
  await withWorkspace(async (ws) => {
    await leaveStaleLock(ws.dir);
    assert.deepEqual(await race(ws.dir, 4), ["busy", "busy", "busy", "won"]);
    await assert.rejects(Deno.stat(join(ws.dir, LOCK_KEY)), Deno.errors.NotFound);
  });
});

Deno.test("acquireLock() takes over the lock of a SIGKILLed process", async () => {
  await withWorkspace(async (ws) => {
    const dead = await leaveStaleLock(ws.dir);
    const clock = new FakeClock();
    const lock = await acquireLock(ws.dir, { command: "create", clock });
    try {
      assert.notEqual(lock.holder.pid, dead.pid);
      assert.deepEqual(JSON.parse(await Deno.readTextFile(join(ws.dir, LOCK_KEY))), {
        pid: Deno.pid,
        host: Deno.hostname(),
        startedAt: "2026-11-23T10:15:00.000Z",
        command: "create",
      });
      assert.equal((await Deno.stat(join(ws.dir, LOCK_KEY))).mode! & 0o777, 0o600);
    } finally {
      await lock.release();
    }
    await assert.rejects(Deno.stat(join(ws.dir, LOCK_KEY)), Deno.errors.NotFound);
  });
});

Deno.test("acquireLock() refuses a held lock with one line naming the holder", async () => {
  await withWorkspace(async (ws) => {
    const clock = new FakeClock();
    await withLock(ws.dir, { command: "auto cycle", clock }, async () => {
      await assert.rejects(
        acquireLock(ws.dir, { command: "create", clock }),
        (error: Error) => {
          assert.ok(error instanceof LockBusyError);
          assert.equal(
            error.message,
            `Cannot run "create": "auto cycle" (pid ${Deno.pid} on ${Deno.hostname()}, since ` +
              `2026-11-23T10:15:00.000Z) holds the lock "${join(ws.dir, LOCK_KEY)}" (wait for ` +
              "it to finish; if that process is gone, remove the file)",
          );
          return true;
        },
      );
    });
    // released: it can be taken again
    await (await acquireLock(ws.dir, { command: "create", clock })).release();
  });
});

Deno.test("withLock() releases the lock when its work throws", async () => {
  await withWorkspace(async (ws) => {
    await assert.rejects(
      withLock(ws.dir, { command: "create" }, () => Promise.reject(new Error("boom"))),
      /boom/,
    );
    await assert.rejects(Deno.stat(join(ws.dir, LOCK_KEY)), Deno.errors.NotFound);
  });
});

Deno.test("staleReason() judges holders by host, pid and age", () => {
  const now = new Date("2026-11-23T10:00:00.000Z");
  const fresh = new Date(); // file-system time, for unreadable locks
  const old = new Date(Date.now() - HOUR);
  const here = Deno.hostname();
  const holder = (host: string, pid: number, agoMs = 0): LockHolder => ({
    pid,
    host,
    startedAt: new Date(now.getTime() - agoMs).toISOString(),
    command: "create",
  });
  const cases: [string, { holder?: LockHolder; mtime: Date }, string | undefined][] = [
    ["this process", { holder: holder(here, Deno.pid), mtime: fresh }, undefined],
    ["a live process here", { holder: holder(here, 1), mtime: fresh }, undefined],
    [
      "a dead process here",
      { holder: holder(here, 2 ** 22 + 1), mtime: old },
      "process 4194305 is gone",
    ],
    ["another host, young", { holder: holder("elsewhere", 1, HOUR), mtime: old }, undefined],
    [
      "another host, too old",
      { holder: holder("elsewhere", 1, FOREIGN_STALE_AFTER_MS + 1), mtime: old },
      "older than 24 h",
    ],
    ["unreadable, just written", { mtime: fresh }, undefined],
    ["unreadable, old", { mtime: old }, "unreadable and old"],
  ];
  for (const [name, found, expected] of cases) {
    assert.equal(staleReason(found, now), expected, name);
  }
});

Deno.test("acquireLock() publishes the lock whole, and removes a killed taker's temporary", async () => {
  await withWorkspace(async (ws) => {
    await Deno.mkdir(ws.dir, { recursive: true });
    const child = new Deno.Command("true").spawn();
    await child.status; // a pid that is gone
    const host = fileHost(Deno.hostname());
    const leftover = `${LOCK_KEY}.${host}.${child.pid}.tmp`;
    const live = `${LOCK_KEY}.${host}.${Deno.pid}.tmp.keep`;
    await Deno.writeTextFile(join(ws.dir, leftover), "{}");
    await Deno.writeTextFile(join(ws.dir, live), "{}"); // not a temporary name: never touched
    const lock = await acquireLock(ws.dir, { command: "create", clock: new FakeClock() });
    try {
      const names = [];
      for await (const entry of Deno.readDir(ws.dir)) names.push(entry.name);
      assert.deepEqual(names.sort(), [LOCK_KEY, live].sort());
      assert.equal(JSON.parse(await Deno.readTextFile(join(ws.dir, LOCK_KEY))).command, "create");
    } finally {
      await lock.release();
    }
  });
});
