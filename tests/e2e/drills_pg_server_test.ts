/**
 * The database server dies under a run: `pg_ctl stop -m immediate` (then a start on the same data
 * directory, with crash recovery) or `pg_terminate_backend` of our sessions, at a random moment
 * of a `create` (the dump) and of a `restore --clean` (the load). Each time: the run ends with one
 * clear line and exit 8, nothing new is listed, the restore target is exactly the old content,
 * and after the next run nothing is left over. 5 seeds per fault by default (`DRILL_SEEDS`,
 * `DRILL_SEED` as for the kill drills).
 */
import { runCli, scriptCommand } from "../helpers/cli.ts";
import { systemClock } from "../../src/core/clock.ts";
import { ExitCode } from "../../src/core/errors.ts";
import { databaseUrl, psql } from "../helpers/pg_tools.ts";
import { crashServer, startServerAgain } from "../helpers/pg_restart.ts";
import { withWorkspace, type Workspace } from "../helpers/workspace.ts";
import {
  drillSeeds,
  killIfRunning,
  listedIds,
  nextRunCli,
  printTallies,
  record,
  resetDir,
  seededRandom,
  storeLeftovers,
  storeProblems,
  timeCommand,
} from "./_drills.ts";
import {
  heldContent,
  type PgDrillFixture,
  resetDatabase,
  scratchDatabases,
  sessionsGone,
  startPgDrills,
  TARGET,
} from "./drills_pg_fixture.ts";
import assert from "node:assert/strict";

/** Options of {@linkcode serverFaultDrill}. */
interface ServerFaultOptions {
  scenario: string;
  prepare: () => Promise<void>;
  args: string[];
  /**
   * What happens to the server; `recover` brings it back after the run ended. `false`: it missed
   * (no session of ours was in a transaction to terminate), so the run may well succeed.
   */
  fault: (running: () => boolean) => Promise<boolean | void>;
  recover?: () => Promise<void>;
  /** What is wrong with the target and the store after the run ended (`ok`: it exited 0). */
  judge: (ok: boolean) => Promise<string[]>;
  /** The fault strikes within this part of the measured working time. Default 0.8. */
  spread?: number;
}

async function ourSessions(fx: PgDrillFixture): Promise<number> {
  const count = await psql(
    fx.cluster.url,
    `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'backup-manager'`,
  );
  return Number(count.trim());
}

/**
 * For each seed: starts the command, waits until it has a session on the server, then a random
 * part of its measured working time, and strikes. Asserts at the end, naming every failed seed.
 */
async function serverFaultDrill(fx: PgDrillFixture, ws: Workspace, options: ServerFaultOptions) {
  const wall = performance.now();
  await options.prepare();
  const measured = await timeCommand(options.args);
  assert.equal(measured.code, 0, measured.stderr);
  const startup = (await timeCommand(["--version"])).ms;
  const working = Math.max(measured.ms - startup, 50);
  const failures: string[] = [];
  let struck = 0;
  let intact = 0;
  let leftovers = 0;
  const seeds = drillSeeds(5);
  for (const seed of seeds) {
    await options.prepare();
    const delay = Math.round(seededRandom(seed)() * working * (options.spread ?? 0.8));
    const child = scriptCommand(options.args).spawn();
    let exited = false;
    const status = child.status.then((s) => (exited = true, s));
    while (!exited && await ourSessions(fx) === 0) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await Promise.race([status, new Promise((resolve) => setTimeout(resolve, delay))]);
    const landed = !exited && await options.fault(() => !exited) !== false;
    const timer = setTimeout(() => killIfRunning(child), 60_000);
    const output = await child.output();
    clearTimeout(timer);
    if (landed) await options.recover?.();
    const stderr = new TextDecoder().decode(output.stderr);
    const broken: string[] = [];
    if (landed) {
      struck++;
      if (output.signal === "SIGKILL") broken.push("hung for 60 s after the fault");
      // a fault after the commit (or the last byte) may find nothing left to break: exit 0
      if (output.code !== 0 && output.code !== ExitCode.Database) {
        broken.push(`exit ${output.code}, not 8`);
      }
      if (output.code !== 0 && !/^Error: [^\n]+\n$/.test(stderr)) {
        broken.push(`stderr is not one line: ${stderr.slice(0, 1500)}`);
      }
    } else if (output.code !== 0) {
      broken.push(`finished before the fault with exit ${output.code}: ${stderr}`);
    }
    broken.push(...await options.judge(output.code === 0));
    if (broken.length === 0) intact++;
    await sessionsGone(fx);
    const common = ["--database", fx.newUrl, "--dir", ws.dir];
    await runCli(["status", ...common], { clock: systemClock });
    const next = await nextRunCli(["create", ...common]);
    if (next.code !== 0) broken.push(`the next create failed: ${next.stderr}`);
    const left = [...await storeLeftovers(ws.dir), ...await scratchDatabases(fx)];
    if (left.length > 0) leftovers++;
    broken.push(...left.map((l) => `left over: ${l}`));
    if (broken.length > 0) {
      failures.push(
        `seed ${seed} (${landed ? `struck ${delay} ms in` : "finished first"}): ${
          broken.join("; ")
        }; stderr: ${stderr.trim()}`,
      );
    }
  }
  record({
    scenario: options.scenario,
    seeds: seeds.length,
    killed: struck,
    intact,
    old: intact,
    new: 0,
    partway: 0,
    leftovers,
    durationMs: Math.round(measured.ms),
    wallSeconds: Math.round((performance.now() - wall) / 100) / 10,
  });
  assert.deepEqual(failures, [], `${options.scenario}:\n  ${failures.join("\n  ")}`);
}

/**
 * Terminates every session of ours; it landed when one of them was inside a transaction (an idle
 * pooled connection is replaced by the client unnoticed, as it should be).
 */
const terminate = (fx: PgDrillFixture) => async (running: () => boolean) => {
  // a dump's transaction lasts a few hundred ms: keep trying until one is hit or the run ends
  while (running()) {
    const out = await psql(
      fx.cluster.url,
      `SELECT count(*) FILTER (WHERE xact_start IS NOT NULL AND pg_terminate_backend(pid))
       FROM pg_stat_activity WHERE application_name = 'backup-manager'`,
    );
    if (Number(out.trim()) > 0) return true;
  }
  return false;
};

Deno.test("the server dying or our backend terminated mid-dump and mid-restore: exit 8 in one line, nothing listed, target as it was", async (t) => {
  await withWorkspace(async (ws) => {
    const fx = await startPgDrills(ws.root);
    const target = databaseUrl(fx.cluster.url, TARGET);
    const crash = {
      fault: () => crashServer(fx.cluster),
      recover: () => startServerAgain(fx.cluster),
    };
    const dump = {
      prepare: () => resetDir(fx.template, ws.dir),
      args: ["create", "--database", fx.newUrl, "--dir", ws.dir],
      judge: async (ok: boolean) => {
        const ids = await listedIds(ws.dir);
        const problems = await storeProblems(ws.dir);
        const expected = ok ? 2 : 1;
        if (ids.length !== expected) problems.push(`${ids.length} backups listed, not ${expected}`);
        return problems;
      },
    };
    const load = {
      prepare: async () => {
        await resetDir(fx.template, ws.dir);
        await resetDatabase(fx, TARGET, "app_old");
      },
      args: [
        "restore",
        fx.newId,
        "--database",
        fx.newUrl,
        "--to",
        target,
        "--clean",
        "--force",
        "--dir",
        ws.dir,
      ],
      judge: async (ok: boolean) => {
        const problems = await storeProblems(ws.dir);
        const { held, broken } = await heldContent(fx, target, "old", { afterCrash: true });
        if (held !== (ok ? "new" : "old")) problems.push(`the target holds the ${held} content`);
        return [...problems, ...broken];
      },
    };
    try {
      await t.step("server crash mid-dump", async () => {
        await serverFaultDrill(fx, ws, {
          scenario: "server crash during create",
          ...dump,
          ...crash,
        });
      });
      await t.step("server crash mid-restore", async () => {
        await serverFaultDrill(fx, ws, {
          scenario: "server crash during restore",
          ...load,
          ...crash,
        });
      });
      await t.step("pg_terminate_backend mid-dump", async () => {
        await serverFaultDrill(fx, ws, {
          scenario: "pg_terminate_backend during create",
          ...dump,
          fault: terminate(fx),
          spread: 0.1,
        });
      });
      await t.step("pg_terminate_backend mid-restore", async () => {
        await serverFaultDrill(fx, ws, {
          scenario: "pg_terminate_backend during restore",
          ...load,
          fault: terminate(fx),
          spread: 0.3,
        });
      });
    } finally {
      printTallies();
      await fx.cluster.stop();
    }
  });
});
