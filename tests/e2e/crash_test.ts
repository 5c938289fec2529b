/**
 * A `create` process killed (SIGKILL) at any moment leaves no backup that `list` shows, every
 * listed backup still verifies, and what it leaves behind is only `*.partial` files or a data
 * file without its sidecar, which `cleanup` removes once they are stale.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeClock, runCli, scriptCommand } from "../helpers/cli.ts";
import { LOCK_KEY } from "../../src/core/lock.ts";
import {
  listNames,
  makeLargeDatabase,
  snapshotDir,
  withWorkspace,
  type Workspace,
} from "../helpers/workspace.ts";

/**
 * When to kill the child: a delay after spawning it, or the first sight of a file. `mayComplete`:
 * the kill races the sidecar's rename, so the run may have finished its backup just before it
 * died; that backup is then complete and must verify like any other.
 */
type Moment =
  | { afterMs: number }
  | {
    when: string;
    seen: (names: string[], sizes: Map<string, number>) => boolean;
    mayComplete?: boolean;
  };

const MOMENTS: Moment[] = [
  { afterMs: 50 },
  { afterMs: 150 },
  { afterMs: 400 },
  {
    when: "the data file's .partial appears",
    seen: (names) => names.some((n) => /\.sql\.gz\..*partial$/.test(n)),
  },
  {
    when: "the data file's .partial holds 8 MB",
    seen: (names, sizes) =>
      names.some((n) => /\.sql\.gz\..*partial$/.test(n) && (sizes.get(n) ?? 0) >= 8 << 20),
  },
  {
    when: "the data file has its final name or the sidecar's .partial appears",
    seen: (names) =>
      names.some((n) => /\.meta\.json\..*partial$/.test(n)) ||
      names.some((n) =>
        n.endsWith(".sql.gz") && !names.includes(n.replace(".sql.gz", ".meta.json"))
      ),
    mayComplete: true,
  },
];

/** Files in `dir` with their sizes (a file may vanish between the listing and the stat). */
async function look(dir: string): Promise<{ names: string[]; sizes: Map<string, number> }> {
  const sizes = new Map<string, number>();
  try {
    for await (const entry of Deno.readDir(dir)) {
      const info = await Deno.stat(join(dir, entry.name)).catch(() => undefined);
      if (info) sizes.set(entry.name, info.size);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return { names: [...sizes.keys()], sizes };
}

/** Starts `create`, kills it at `moment`; returns how it ended. */
async function killCreate(ws: Workspace, moment: Moment): Promise<Deno.CommandOutput> {
  const child = scriptCommand(["create", "--database", ws.database, "--dir", ws.dir]).spawn();
  const started = performance.now();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  if ("afterMs" in moment) {
    await new Promise((resolve) => setTimeout(resolve, moment.afterMs));
  } else {
    for (;;) {
      const { names, sizes } = await look(ws.dir);
      if (moment.seen(names, sizes) || exited || performance.now() - started > 10_000) break;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
  if (!exited) child.kill("SIGKILL");
  await status;
  return await child.output();
}

Deno.test("create killed at any moment never leaves a backup that list shows", async (t) => {
  await withWorkspace(async (ws) => {
    makeLargeDatabase(ws.database);
    const clock = new FakeClock(new Date());

    // A complete backup made by the real process: the one that must survive every crash.
    const started = performance.now();
    const baseline = await scriptCommand(["create", "--database", ws.database, "--dir", ws.dir])
      .output();
    const tookMs = performance.now() - started;
    assert.equal(baseline.code, 0, new TextDecoder().decode(baseline.stderr));
    assert.ok(tookMs > 600, `create took only ${tookMs} ms: make the test database bigger`);
    const baselineFiles = await snapshotDir(ws.dir);
    const baselineIds = (await listed(ws)).map((b) => b.id);
    assert.equal(baselineIds.length, 1);

    for (const moment of MOMENTS) {
      const name = "afterMs" in moment ? `${moment.afterMs} ms after start` : moment.when;
      await t.step(
        `killed ${name}: list shows no unfinished backup and every listed one verifies`,
        async () => {
          const output = await killCreate(ws, moment);
          const killed = output.signal === "SIGKILL";
          const names = await listNames(ws.dir);
          const ids = (await listed(ws)).map((b) => b.id);
          const mayComplete = "mayComplete" in moment && moment.mayComplete === true;
          if (!killed) assert.ok(mayComplete, `create finished before the kill ${name}`);
          if (!mayComplete) {
            assert.deepEqual(ids, baselineIds, `a killed run (${name}) left a listed backup`);
          }
          const verified = await runCli(["verify", "--all", "--dir", ws.dir], { clock });
          assert.equal(verified.code, 0, verified.stdout + verified.stderr);
          assert.equal(verified.stdout.match(/^PASS /gm)?.length, ids.length);

          // the killed run's lock: its pid is dead, so the next run takes it over
          const leftovers = names.filter((n) => !(n in baselineFiles!) && n !== LOCK_KEY);
          const newIds = ids.filter((id) => !baselineIds.includes(id));
          for (const file of leftovers) {
            const fromFinishedRun = newIds.some((id) => file.startsWith(id));
            const orphanData = file.endsWith(".sql.gz") &&
              !names.includes(file.replace(/\.sql\.gz$/, ".meta.json"));
            assert.ok(
              fromFinishedRun || file.endsWith(".partial") || orphanData,
              `unexpected leftover "${file}" after a kill ${name}`,
            );
          }

          // Fresh leftovers may belong to a run in progress: kept. Stale ones: removed.
          clock.set(new Date());
          const fresh = await runCli(["cleanup", "--dir", ws.dir, "--format", "json"], { clock });
          assert.equal(fresh.code, 0, fresh.stderr);
          // the killed writer is gone: its partials go at once; a data file without a sidecar
          // names no writer and waits for the age limit
          const ownPartial = (key: string) => /\.bm-[\w-]+\.\d+\.\d+\.partial$/.test(key);
          assert.ok(
            JSON.parse(fresh.stdout).incomplete.every((i: { key: string; action: string }) =>
              i.action === (ownPartial(i.key) ? "delete" : "keep")
            ),
            fresh.stdout,
          );
          clock.set(new Date(Date.now() + 16 * 60_000));
          const stale = await runCli(["cleanup", "--dir", ws.dir, "--format", "json"], { clock });
          assert.equal(stale.code, 0, stale.stderr);
          assert.deepEqual(
            JSON.parse(stale.stdout).incomplete.map((i: { key: string }) => i.key).sort(),
            leftovers.filter((f) => !newIds.some((id) => f.startsWith(id)) && !ownPartial(f))
              .sort(),
          );
          for (const id of newIds) { // a run that finished before the kill: remove its backup
            await Deno.remove(join(ws.dir, `${id}.meta.json`));
            await Deno.remove(join(ws.dir, `${id}.sql.gz`));
          }
          // verify rewrote the sidecar (it records its outcome); the data file is as it was
          assert.deepEqual(await listNames(ws.dir), Object.keys(baselineFiles!));
          const dataKey = `${baselineIds[0]}.sql.gz`;
          assert.equal((await snapshotDir(ws.dir))![dataKey], baselineFiles![dataKey]);
        },
      );
    }
  });
});

async function listed(ws: Workspace): Promise<{ id: string }[]> {
  const result = await runCli(["list", "--dir", ws.dir, "--format", "json", "--limit", "100"]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}
