/**
 * Kill drills for PostgreSQL with real processes and a real server: `restore --create` into a
 * missing database, `restore --clean` over the old content, `restore` into an empty database,
 * and `verify --restore-test`, each killed with SIGKILL at a random moment of its measured
 * duration (20 seeds by default; `DRILL_SEEDS=N`, `DRILL_SEED=S`). After each kill the target's
 * row digests are exactly the old or the new content's, every listed backup verifies, and after
 * the next run (`status`, then `create`) no `bm_load_`/`bm_verify_` database, no partial and no
 * `.bm-` scratch is left.
 */
import { runCli } from "../helpers/cli.ts";
import { systemClock } from "../../src/core/clock.ts";
import { databaseUrl } from "../helpers/pg_tools.ts";
import { withWorkspace, type Workspace } from "../helpers/workspace.ts";
import {
  DRILL_TMP,
  type KillOutcome,
  nextRunCli,
  ownedBy,
  printTallies,
  resetDir,
  runKillDrill,
  storeLeftovers,
  storeProblems,
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

/** The next run: `status`, then `create` of the new database (both look on the same server). */
async function nextRun(fx: PgDrillFixture, ws: Workspace, outcome: KillOutcome) {
  const common = ["--database", fx.newUrl, "--dir", ws.dir];
  await sessionsGone(fx);
  await runCli(["status", ...common], { clock: systemClock });
  const created = await nextRunCli(["create", ...common]);
  if (created.code !== 0) throw new Error(`the next create failed: ${created.stderr}`);
  return [
    ...await storeLeftovers(ws.dir),
    ...await scratchDatabases(fx),
    ...await ownedBy(DRILL_TMP, outcome.pid),
  ];
}

Deno.test("kill -9 drills, PostgreSQL: every target exactly old or new, nothing left after the next run", async (t) => {
  await withWorkspace(async (ws) => {
    const fx = await startPgDrills(ws.root);
    const target = databaseUrl(fx.cluster.url, TARGET);
    try {
      const restore = (old: "old" | "empty" | "absent", extra: string[]) => ({
        args: () => ["restore", fx.newId, "--database", fx.newUrl, "--to", target, ...extra],
        judge: async () => {
          const judged = await heldContent(fx, target, old);
          judged.broken.push(...await storeProblems(ws.dir));
          return judged;
        },
        nextRun: (outcome: KillOutcome) => nextRun(fx, ws, outcome),
      });

      await t.step("restore --create into a missing database", async () => {
        await runKillDrill({
          scenario: "PostgreSQL restore --create",
          prepare: async () => {
            await resetDir(fx.template, ws.dir);
            await resetDatabase(fx, TARGET, null);
          },
          ...restore("absent", ["--dir", ws.dir, "--create"]),
        });
      });

      await t.step("restore --clean over the old content", async () => {
        await runKillDrill({
          scenario: "PostgreSQL restore --clean",
          prepare: async () => {
            await resetDir(fx.template, ws.dir);
            await resetDatabase(fx, TARGET, "app_old");
          },
          ...restore("old", ["--dir", ws.dir, "--clean", "--force"]),
        });
      });

      await t.step("restore into an empty database", async () => {
        await runKillDrill({
          scenario: "PostgreSQL restore into an empty database",
          prepare: async () => {
            await resetDir(fx.template, ws.dir);
            await resetDatabase(fx, TARGET, "app_empty");
          },
          ...restore("empty", ["--dir", ws.dir]),
        });
      });

      await t.step("verify --restore-test", async () => {
        const sidecar = `${fx.template}/${fx.newId}.meta.json`;
        const before = await Deno.readTextFile(sidecar);
        await runKillDrill({
          scenario: "PostgreSQL verify --restore-test",
          prepare: () => resetDir(fx.template, ws.dir),
          args: () => [
            "verify",
            fx.newId,
            "--restore-test",
            "--database",
            fx.newUrl,
            "--dir",
            ws.dir,
          ],
          judge: async () => {
            const after = await Deno.readTextFile(`${ws.dir}/${fx.newId}.meta.json`);
            const broken = await storeProblems(ws.dir, (id) => id === fx.newId);
            return { broken, held: after === before ? "old" : "new" };
          },
          nextRun: (outcome) => nextRun(fx, ws, outcome),
        });
      });
    } finally {
      printTallies();
      await fx.cluster.stop();
    }
  });
});
