/**
 * The sweep of what interrupted runs left: staleness of store partials (table-driven), and on
 * real files a dead writer's leftovers removed and audited while a live one's are kept; a sweep
 * that cannot search is a warning, never a failure.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  partialStaleness,
  STALE_AFTER_MS,
  storeLeftovers,
  sweepAfterLock,
  sweepLeftovers,
} from "../../src/core/scratch_sweep.ts";
import { currentOwner, type Liveness, scratchFileName } from "../../src/core/scratch_names.ts";
import { partialName } from "../../src/storage/partial_name.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { SqliteEngine } from "../../src/engines/sqlite/sqlite_engine.ts";
import { PostgresEngine } from "../../src/engines/postgres/postgres_engine.ts";
import { readAudit } from "../../src/core/audit.ts";
import type { OpsEvent } from "../../src/core/events.ts";
import { FakeClock } from "../helpers/cli.ts";
import { listNames, makeDatabase, withWorkspace } from "../helpers/workspace.ts";

const NOW = new Date("2026-11-23T10:15:00.000Z");
const LIVENESS: Liveness = { host: "here", processAlive: (pid) => pid === 7, now: NOW };
const ago = (ms: number) => new Date(NOW.getTime() - ms);
const named = (host: string, pid: number, startedAt = ago(60_000)) =>
  partialName("full_20261123T101000000Z.sql.gz", { host, pid, startedAt });

Deno.test("partialStaleness() removes a dead writer's partial at once and judges the rest by age", () => {
  const cases: [string, Date, { stale: boolean; reason: string; kind: string }][] = [
    [named("here", 8), ago(1000), {
      kind: "partial",
      stale: true,
      reason: "left by an interrupted run: process 8 is gone",
    }],
    [named("here", 7), ago(2 * STALE_AFTER_MS), {
      kind: "partial",
      stale: false,
      reason: "its writer (process 7) is still running",
    }],
    [named("elsewhere", 8), ago(1000), {
      kind: "partial",
      stale: false,
      reason: "made on another host: its writer may still be running",
    }],
    [named("elsewhere", 8, ago(25 * 3600_000)), ago(1000), {
      kind: "partial",
      stale: true,
      reason: "left by an interrupted run: made on another host over 24 h ago",
    }],
    ["full_20261123T101000000Z.sql.gz.partial", ago(STALE_AFTER_MS - 1), {
      kind: "partial",
      stale: false,
      reason: "recent: may belong to a run in progress",
    }],
    ["full_20261123T101000000Z.sql.gz.partial", ago(STALE_AFTER_MS + 1), {
      kind: "partial",
      stale: true,
      reason: "left by an interrupted run",
    }],
    ["full_20261123T101000000Z.sql.gz.partial~abc", ago(STALE_AFTER_MS + 1), {
      kind: "upload",
      stale: true,
      reason: "left by an interrupted run",
    }],
  ];
  for (const [key, modifiedAt, expected] of cases) {
    const { running: _, ...judged } = partialStaleness({ key, size: 1, modifiedAt }, LIVENESS);
    assert.deepEqual(judged, expected, key);
  }
});

/** A pid that is certainly gone: a process that ran and exited. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

/**
 * Runs `fn` with a temporary directory of its own in the workspace, which the engine is given
 * (never this process's `TMPDIR`: other tests run at the same time), so restore-test leftovers of
 * other runs stay out.
 */
async function withTmpDir<T>(dir: string, fn: (tmpDir: string) => Promise<T>): Promise<T> {
  await Deno.mkdir(dir, { recursive: true });
  return await fn(dir);
}

Deno.test("sweepLeftovers() removes a dead writer's leftovers, keeps a live one's, audits each removal", async () => {
  await withWorkspace(async (ws) => {
    await withTmpDir(join(ws.root, "tmp"), async (tmpDir) => {
      makeDatabase(ws.database);
      const sleeper = new Deno.Command("sleep", { args: ["30"] }).spawn();
      try {
        const dead = await deadPid();
        const now = new Date();
        const owner = currentOwner(now);
        const deadFile = scratchFileName("app.db", "restore", { ...owner, pid: dead });
        const liveFile = scratchFileName("app.db", "restore", { ...owner, pid: sleeper.pid });
        await Deno.writeFile(join(ws.root, deadFile), new Uint8Array(1000));
        await Deno.writeFile(join(ws.root, liveFile), new Uint8Array(10));
        await Deno.mkdir(ws.dir);
        const deadPartial = partialName("full_1.sql.gz", { ...owner, pid: dead });
        const livePartial = partialName("full_2.sql.gz", { ...owner, pid: sleeper.pid });
        await Deno.writeFile(join(ws.dir, deadPartial), new Uint8Array(300));
        await Deno.writeFile(join(ws.dir, livePartial), new Uint8Array(30));
        await Deno.writeFile(join(ws.dir, "full_3.sql.gz.partial"), new Uint8Array(3)); // recent

        const events: OpsEvent[] = [];
        const context = {
          storage: new LocalStorage(ws.dir),
          engine: new SqliteEngine(tmpDir),
          database: ws.database,
          clock: new FakeClock(now),
          onEvent: (event: OpsEvent) => events.push(event),
        };
        const report = await sweepLeftovers(context);
        assert.deepEqual(report.errors, []);
        assert.deepEqual(report.failures, []);
        assert.deepEqual(
          report.removed.map((l) => [l.place, l.name, l.size, l.reason]).sort(),
          [
            ["database", join(ws.root, deadFile), 1000, `process ${dead} is gone`],
            ["store", deadPartial, 300, `left by an interrupted run: process ${dead} is gone`],
          ].sort(),
        );
        assert.deepEqual(
          report.kept.map((l) => l.name).sort(),
          [join(ws.root, liveFile), livePartial, "full_3.sql.gz.partial"].sort(),
        );
        assert.deepEqual(
          (await listNames(ws.root)).filter((n) => n.includes("bm-restore")),
          [liveFile],
        );
        assert.deepEqual(
          (await listNames(ws.dir)).filter((n) => n.endsWith(".partial")).sort(),
          [livePartial, "full_3.sql.gz.partial"].sort(),
        );
        const audit = await readAudit(ws.dir, { actions: ["sweep"] });
        assert.deepEqual(
          audit.map((e) => [e.target, e.outcome, e.details?.place, e.details?.size]).sort(),
          [
            [join(ws.root, deadFile), "ok", "database", 1000],
            [deadPartial, "ok", "store", 300],
          ].sort(),
        );
        assert.equal(events.filter((e) => e.type === "action").length, 2);
      } finally {
        sleeper.kill();
        await sleeper.status;
      }
    });
  });
});

Deno.test("sweepAfterLock() only warns when the database server cannot be searched", async () => {
  await withWorkspace(async (ws) => {
    const events: OpsEvent[] = [];
    const database = "postgres://nobody@127.0.0.1:1/app";
    const report = await sweepAfterLock({
      storage: new LocalStorage(ws.dir),
      engine: new PostgresEngine(database, {}),
      database,
      clock: new FakeClock(),
      onEvent: (event) => events.push(event),
    });
    assert.deepEqual(report?.removed, []);
    const warnings = events.filter((e) => e.type === "warning").map((e) => e.message);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /^Cannot look for leftovers of interrupted runs: /);
  });
});

Deno.test("storeLeftovers() places data a dead writer committed without its sidecar, never a live writer's", async () => {
  await withWorkspace(async (ws) => {
    await Deno.mkdir(ws.dir);
    const sleeper = new Deno.Command("sleep", { args: ["30"] }).spawn();
    try {
      const owner = currentOwner(new Date());
      const dead = { ...owner, pid: await deadPid() };
      const live = { ...owner, pid: sleeper.pid };
      const write = (name: string, size: number) =>
        Deno.writeFile(join(ws.dir, name), new Uint8Array(size));
      // killed between the data's commit and the sidecar's: the data is placed by the partial
      await write("full_20261203T010000000Z.sql.gz", 700);
      await write(partialName("full_20261203T010000000Z.meta.json", dead), 40);
      // a live writer's: kept, and its data is not an orphan
      await write("full_20261203T020000000Z.sql.zst", 500);
      await write(partialName("full_20261203T020000000Z.meta.json", live), 40);
      // a complete backup beside a dead sidecar partial (a copy that died replacing it): kept
      await write("full_20261203T030000000Z.sql.gz", 300);
      await write("full_20261203T030000000Z.meta.json", 30);
      await write(partialName("full_20261203T030000000Z.meta.json", dead), 30);

      const found = await storeLeftovers(new LocalStorage(ws.dir), {
        host: owner.host,
        processAlive: (pid) => pid !== dead.pid,
        now: new Date(),
      });
      const stale = found.filter((l) => l.stale);
      assert.equal(stale[0].name, "full_20261203T010000000Z.sql.gz", "the data goes first");
      assert.deepEqual(
        stale.map((l) => `${l.kind} ${l.name}`).sort(),
        [
          "orphan full_20261203T010000000Z.sql.gz",
          `partial ${partialName("full_20261203T010000000Z.meta.json", dead)}`,
          `partial ${partialName("full_20261203T030000000Z.meta.json", dead)}`,
        ].sort(),
      );
      assert.match(
        found.find((l) => l.kind === "orphan")!.reason,
        new RegExp(
          `^its sidecar was never committed \\(left by an interrupted run: process ${dead.pid} is gone\\)$`,
        ),
      );
      assert.ok(!found.some((l) => l.name === "full_20261203T020000000Z.sql.zst"));
    } finally {
      sleeper.kill();
      await sleeper.status;
    }
  });
});
