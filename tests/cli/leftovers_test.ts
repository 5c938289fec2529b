/**
 * Leftovers of interrupted runs through every front end, on real files: `cleanup --dry-run` and
 * `cleanup` list the engine's scratch (text and JSON) and remove only a dead owner's, `status`
 * counts it with its size, an `auto` cycle logs its removal, and an API request that takes the
 * lock removes one too.
 */
import assert from "node:assert/strict";
import { basename, dirname, join } from "node:path";
import { FakeClock, runCli } from "../helpers/cli.ts";
import { listNames, makeDatabase, withWorkspace, type Workspace } from "../helpers/workspace.ts";
import { startApiFixture } from "../helpers/api_server.ts";
import {
  currentOwner,
  scratchDirectoryName,
  scratchFileName,
} from "../../src/core/scratch_names.ts";
import { readAudit } from "../../src/core/audit.ts";

/** A pid that is certainly gone: a process that ran and exited. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

/** A restore temporary beside `database` whose owner is `pid`, `size` bytes. */
async function temporary(database: string, pid: number, size: number): Promise<string> {
  const path = join(
    dirname(database),
    scratchFileName(basename(database), "restore", { ...currentOwner(new Date()), pid }),
  );
  await Deno.writeFile(path, new Uint8Array(size));
  return path;
}

/**
 * Runs `fn` with a `TMPDIR` in the workspace for the commands it runs (given to them as their
 * environment, never set on this process, whose other tests run at the same time), so restore-test
 * leftovers of other runs stay out.
 */
async function withTmpDir<T>(
  ws: Workspace,
  fn: (env: Record<string, string>) => Promise<T>,
): Promise<T> {
  const dir = join(ws.root, "tmp");
  await Deno.mkdir(dir, { recursive: true });
  return await fn({ TMPDIR: dir });
}

Deno.test("cleanup --dry-run lists the database's leftovers, cleanup removes a dead owner's only, status counts them", async () => {
  await withWorkspace((ws) =>
    withTmpDir(ws, async (env) => {
      makeDatabase(ws.database);
      const clock = new FakeClock();
      const common = ["--database", ws.database, "--dir", ws.dir];
      assert.equal((await runCli(["create", ...common], { clock, env })).code, 0);
      const sleeper = new Deno.Command("sleep", { args: ["60"] }).spawn();
      try {
        const pid = await deadPid();
        const dead = await temporary(ws.database, pid, 1000);
        const live = await temporary(ws.database, sleeper.pid, 10);

        const status = JSON.parse(
          (await runCli(["status", ...common, "--format", "json"], { clock, env })).stdout,
        );
        assert.deepEqual([status.scratchLeftovers, status.scratchBytes], [1, 1000]);
        assert.ok(
          status.reasons.some((r: { message: string }) =>
            r.message === "1 leftover from interrupted runs, 1000 B: run cleanup"
          ),
        );

        const dry = await runCli(["cleanup", ...common, "--keep-last", "1", "--dry-run"], {
          clock,
          env,
        });
        assert.equal(dry.code, 0, dry.stderr);
        assert.ok(
          dry.stdout.includes(
            `delete leftover ${dead} (restore, 1000 B: process ${pid} is gone)\n`,
          ),
          dry.stdout,
        );
        assert.ok(
          dry.stdout.includes(
            `keep leftover ${live} (restore, 10 B: in use: its owner may still be working on it)\n`,
          ),
          dry.stdout,
        );
        const json = await runCli(
          ["cleanup", ...common, "--keep-last", "1", "--dry-run", "--format", "json"],
          { clock, env },
        );
        assert.deepEqual(
          JSON.parse(json.stdout).scratch.map((s: { name: string; action: string }) => [
            s.name,
            s.action,
          ]).sort(),
          [[dead, "delete"], [live, "keep"]].sort(),
        );
        assert.ok((await listNames(ws.root)).includes(dead.slice(ws.root.length + 1)));

        const real = await runCli(["cleanup", ...common, "--keep-last", "1", "--format", "json"], {
          clock,
          env,
        });
        assert.equal(real.code, 0, real.stderr);
        assert.equal(real.stderr, "", "the report lists the removal: no stderr line too");
        assert.deepEqual(
          (await listNames(ws.root)).filter((n) => n.includes(".bm-restore.")),
          [live.slice(ws.root.length + 1)],
        );
        const [sweep] = await readAudit(ws.dir, { actions: ["sweep"] });
        assert.deepEqual([sweep.target, sweep.outcome, sweep.details?.kind], [
          dead,
          "ok",
          "restore",
        ]);
        const after = JSON.parse(
          (await runCli(["status", ...common, "--format", "json"], { clock, env })).stdout,
        );
        assert.equal(after.scratchLeftovers, 0);
      } finally {
        sleeper.kill();
        await sleeper.status;
      }
    })
  );
});

Deno.test("an auto cycle removes a dead owner's leftover first and logs it", async () => {
  await withWorkspace((ws) =>
    withTmpDir(ws, async (env) => {
      makeDatabase(ws.database);
      const pid = await deadPid();
      const dead = await temporary(ws.database, pid, 2048);
      const result = await runCli(
        ["auto", "--once", "--database", ws.database, "--dir", ws.dir],
        { clock: new FakeClock(), env },
      );
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(
        result.stdout,
        new RegExp(
          ` info {2}removed leftover "${dead.replaceAll(".", "\\.")}" of an interrupted run ` +
            `\\(restore, 2\\.0 KiB: process ${pid} is gone\\)\n`,
        ),
      );
      assert.ok(!(await listNames(ws.root)).some((n) => n.includes(".bm-restore.")));
      const [sweep] = await readAudit(ws.dir, { actions: ["sweep"] });
      assert.equal(sweep.actor, "scheduler");
    })
  );
});

Deno.test("an API request that takes the lock removes a dead owner's leftover first", async () => {
  const api = await startApiFixture({ backups: 1 });
  try {
    const pid = await deadPid();
    const dead = await temporary(api.database, pid, 100);
    const [backup] = await (await api.request("/api/v1/backups")).json().then((b) =>
      b.backups ?? b
    );
    const pinned = await api.request(`/api/v1/backups/${backup.id}/pin`, {
      method: "POST",
      body: JSON.stringify({ reason: "keep" }),
    });
    assert.equal(pinned.status, 200, await pinned.clone().text());
    await pinned.body?.cancel();
    assert.ok(!(await listNames(api.root)).includes(dead.slice(api.root.length + 1)));
    const [sweep] = await readAudit(api.dir, { actions: ["sweep"] });
    assert.deepEqual([sweep.actor, sweep.target], ["api", dead]);
  } finally {
    await api.stop();
  }
});

Deno.test("restore --to removes a dead owner's temporary beside that target too", async () => {
  await withWorkspace((ws) =>
    withTmpDir(ws, async (env) => {
      makeDatabase(ws.database);
      const clock = new FakeClock();
      const common = ["--database", ws.database, "--dir", ws.dir];
      const created = await runCli(["create", ...common, "--format", "json"], { clock, env });
      const { id } = JSON.parse(created.stdout);
      const target = join(ws.root, "other.db");
      const dead = await temporary(target, await deadPid(), 10);
      const restored = await runCli(["restore", id, ...common, "--to", target], { clock, env });
      assert.equal(restored.code, 0, restored.stderr);
      assert.match(
        restored.stderr,
        new RegExp(`^Removed leftover "${dead.replaceAll(".", "\\.")}"`, "m"),
      );
      assert.ok(!(await listNames(ws.root)).some((n) => n.includes(".bm-restore.")));
    })
  );
});

Deno.test("a killed restore test's directory is counted by status and removed by the next create", async () => {
  await withWorkspace((ws) =>
    withTmpDir(ws, async (env) => {
      makeDatabase(ws.database);
      const clock = new FakeClock();
      const common = ["--database", ws.database, "--dir", ws.dir];
      const pid = await deadPid();
      const dir = join(
        ws.root,
        "tmp",
        scratchDirectoryName("verify", { ...currentOwner(new Date()), pid }) + "a1b2c3",
      );
      await Deno.mkdir(dir);
      await Deno.writeFile(join(dir, "scratch.db"), new Uint8Array(4096));
      const status = JSON.parse(
        (await runCli(["status", ...common, "--format", "json"], { clock, env })).stdout,
      );
      assert.deepEqual([status.scratchLeftovers, status.scratchBytes], [1, 4096]);
      const created = await runCli(["create", ...common], { clock, env });
      assert.equal(created.code, 0, created.stderr);
      assert.match(
        created.stderr,
        new RegExp(
          `^Removed leftover "${dir}" of an interrupted run \\(verify, 4\\.0 KiB: process ${pid} is gone\\)$`,
          "m",
        ),
      );
      assert.deepEqual(await listNames(join(ws.root, "tmp")), []);
    })
  );
});
