/**
 * Kill drills for SQLite with real processes: `create`, `restore` into an existing file,
 * `cleanup`, `copy` to a second local store, `verify --restore-test` and `auto --once`, each
 * killed with SIGKILL at a random moment of its measured duration, seed after seed (20 by default,
 * `DRILL_SEEDS=N`, `DRILL_SEED=S` to replay). After each kill the target is exactly the old or
 * the new content (compared value by value, integrity check included), every backup `list`
 * shows verifies, and after the next run (`status`, then a run that takes the lock) nothing is
 * left over: no partial, no `.bm-restore` temporary, no `bm-verify` directory.
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { FakeClock, runCli } from "../helpers/cli.ts";
import { systemClock } from "../../src/core/clock.ts";
import { compareDatabases } from "../helpers/sqlite_compare.ts";
import { withWorkspace, type Workspace } from "../helpers/workspace.ts";
import {
  DRILL_TMP,
  type KillOutcome,
  listedIds,
  makeDrillDatabase,
  nextRunCli,
  ownedBy,
  printTallies,
  resetDir,
  runKillDrill,
  storeLeftovers,
  storeProblems,
} from "./_drills.ts";

/** Copies a database file (and nothing beside it) to `to`, replacing what is there. */
async function placeDatabase(from: string, to: string): Promise<void> {
  for (const suffix of ["-wal", "-shm", "-journal"]) {
    await Deno.remove(to + suffix).catch(() => {});
  }
  await Deno.copyFile(from, to);
}

/** Kills after which the target had a hot journal that only a read-write open rolls back. */
export const hotJournals = { count: 0 };

/**
 * A restore killed while it switches the old target out of WAL mode leaves a hot rollback
 * journal: the content is the old one, but a read-only connection (ours, the oracle's, a backup's)
 * cannot roll it back ("attempt to write a readonly database") until the application opens the
 * database read-write, as it does on its next start. Do that, and count it.
 */
function rollBackHotJournal(target: string): void {
  try {
    Deno.statSync(`${target}-journal`);
  } catch {
    return;
  }
  const probe = new DatabaseSync(target, { readOnly: true });
  try {
    probe.prepare("SELECT count(*) FROM sqlite_schema").get();
    return;
  } catch (error) {
    if (!/readonly/.test(String(error))) throw error;
  } finally {
    probe.close();
  }
  hotJournals.count++;
  const application = new DatabaseSync(target);
  application.prepare("SELECT count(*) FROM sqlite_schema").get();
  application.close();
}

/** `old`/`new` when `target` equals one of them value by value, else the differences. */
function whichContent(
  target: string,
  old: string,
  next: string,
): { held: "old" | "new"; broken: string[] } {
  rollBackHotJournal(target);
  const fromOld = compareDatabases(target, old);
  if (fromOld.length === 0) return { held: "old", broken: [] };
  const fromNew = compareDatabases(target, next);
  if (fromNew.length === 0) return { held: "new", broken: [] };
  return {
    held: "old",
    broken: [`target is neither the old nor the new content: ${fromNew.slice(0, 3).join("; ")}`],
  };
}

/** The next run: `status`, then a `create` (it takes the lock and sweeps what is stale). */
async function statusThenCreate(ws: Workspace): Promise<void> {
  const common = ["--database", ws.database, "--dir", ws.dir];
  await runCli(["status", ...common], { clock: systemClock });
  const created = await nextRunCli(["create", ...common]);
  if (created.code !== 0) throw new Error(`the next create failed: ${created.stderr}`);
}

/** Everything a killed run with pid `pid` may have left in the workspace and the temp dir. */
async function allLeftovers(ws: Workspace, outcome: KillOutcome, stores: string[]) {
  const found: string[] = [];
  for (const store of stores) found.push(...await storeLeftovers(store));
  found.push(...await ownedBy(ws.root, outcome.pid));
  found.push(...await ownedBy(DRILL_TMP, outcome.pid));
  return found;
}

Deno.test("kill -9 drills, SQLite: every target exactly old or new, nothing left after the next run", async (t) => {
  await withWorkspace(async (ws) => {
    const old = join(ws.root, "old.db");
    const next = join(ws.root, "new.db");
    makeDrillDatabase(old, "old");
    makeDrillDatabase(next, "new");
    const templates = join(ws.root, "templates");
    const common = ["--database", ws.database, "--dir", ws.dir];

    // a store holding one backup of the new content
    const oneBackup = join(templates, "one");
    await placeDatabase(next, ws.database);
    const made = await runCli(["create", "--database", ws.database, "--dir", oneBackup]);
    if (made.code !== 0) throw new Error(made.stderr);
    const [newId] = await listedIds(oneBackup);

    try {
      await t.step("create", async () => {
        await runKillDrill({
          scenario: "SQLite create",
          prepare: async () => {
            await placeDatabase(old, ws.database);
            await resetDir(oneBackup, ws.dir);
          },
          args: () => ["create", ...common],
          judge: async () => {
            const ids = await listedIds(ws.dir);
            const broken = await storeProblems(ws.dir);
            if (ids.length > 2) broken.push(`${ids.length} backups listed`);
            broken.push(...compareDatabases(ws.database, old));
            return { broken, held: ids.length === 2 ? "new" : "old" };
          },
          nextRun: async (outcome) => {
            await statusThenCreate(ws);
            return await allLeftovers(ws, outcome, [ws.dir]);
          },
        });
      });

      // a rollback-journal database is dumped from a .bm-scratch copy beside it: killed, that
      // copy must go with the next run too
      const oldRollback = join(ws.root, "old-rollback.db");
      await Deno.copyFile(old, oldRollback);
      const rollback = new DatabaseSync(oldRollback);
      rollback.exec("PRAGMA journal_mode = DELETE");
      rollback.close();
      await t.step("create of a rollback-journal database", async () => {
        await runKillDrill({
          scenario: "SQLite create (rollback journal: snapshot copy)",
          prepare: async () => {
            await placeDatabase(oldRollback, ws.database);
            await resetDir(oneBackup, ws.dir);
          },
          args: () => ["create", ...common],
          judge: async () => {
            const ids = await listedIds(ws.dir);
            const broken = await storeProblems(ws.dir);
            if (ids.length > 2) broken.push(`${ids.length} backups listed`);
            broken.push(...compareDatabases(ws.database, oldRollback));
            return { broken, held: ids.length === 2 ? "new" : "old" };
          },
          nextRun: async (outcome) => {
            await statusThenCreate(ws);
            return await allLeftovers(ws, outcome, [ws.dir]);
          },
        });
      });

      await t.step("restore into an existing file", async () => {
        await runKillDrill({
          scenario: "SQLite restore into an existing file",
          prepare: async () => {
            await placeDatabase(old, ws.database);
            await resetDir(oneBackup, ws.dir);
          },
          args: () => ["restore", newId, ...common, "--force"],
          judge: async () => {
            const judged = whichContent(ws.database, old, next);
            judged.broken.push(...await storeProblems(ws.dir));
            return judged;
          },
          nextRun: async (outcome) => {
            await statusThenCreate(ws);
            return await allLeftovers(ws, outcome, [ws.dir]);
          },
        });
      });

      // six backups a day apart; cleanup --keep-last 2 removes four
      const six = join(templates, "six");
      const clock = new FakeClock("2026-11-01T02:00:00.000Z");
      for (let i = 0; i < 6; i++) {
        const result = await runCli(["create", "--database", ws.database, "--dir", six], { clock });
        if (result.code !== 0) throw new Error(result.stderr);
        clock.advance(24 * 60 * 60_000);
      }
      // files as old as the backups they hold (days), as a real store's are: a data file a killed
      // cleanup leaves without its sidecar is judged by its age
      for await (const entry of Deno.readDir(six)) {
        const at = /_(\d{4})(\d\d)(\d\d)T/.exec(entry.name);
        if (at) {
          await Deno.utime(
            join(six, entry.name),
            new Date(`${at[1]}-${at[2]}-${at[3]}`),
            new Date(`${at[1]}-${at[2]}-${at[3]}`),
          );
        }
      }
      const sixIds = await listedIds(six);
      const newest = sixIds.toSorted().slice(-2);
      await t.step("cleanup", async () => {
        await runKillDrill({
          scenario: "cleanup (keep 2 of 6)",
          prepare: () => resetDir(six, ws.dir),
          args: () => ["cleanup", "--keep-last", "2", "--dir", ws.dir],
          judge: async () => {
            const ids = await listedIds(ws.dir);
            const broken = await storeProblems(ws.dir, (id) => sixIds.includes(id));
            for (const id of newest) if (!ids.includes(id)) broken.push(`newest ${id} removed`);
            const held = ids.length === 6 ? "old" : ids.length === 2 ? "new" : "partway";
            return { broken, held };
          },
          nextRun: async (outcome) => {
            await runCli(["status", "--dir", ws.dir], { clock: systemClock });
            const again = await nextRunCli(["cleanup", "--keep-last", "2", "--dir", ws.dir]);
            if (again.code !== 0) throw new Error(`the next cleanup failed: ${again.stderr}`);
            return await allLeftovers(ws, outcome, [ws.dir]);
          },
        });
      });

      const copies = join(ws.root, "copies");
      await t.step("copy to a second local store", async () => {
        await runKillDrill({
          scenario: "copy to a second local store",
          prepare: async () => {
            await resetDir(oneBackup, ws.dir);
            await Deno.remove(copies, { recursive: true }).catch(() => {});
          },
          args: () => ["copy", newId, "--to", copies, "--dir", ws.dir],
          judge: async () => {
            const broken = await storeProblems(copies, (id) => id === newId);
            broken.push(...await storeProblems(ws.dir, (id) => id === newId));
            const held = (await listedIds(copies)).length === 1 ? "new" : "old";
            return { broken, held };
          },
          nextRun: async (outcome) => {
            await runCli(["status", "--dir", copies], { clock: systemClock });
            const again = await nextRunCli(["copy", newId, "--to", copies, "--dir", ws.dir]);
            if (again.code !== 0) throw new Error(`the next copy failed: ${again.stderr}`);
            return await allLeftovers(ws, outcome, [ws.dir, copies]);
          },
        });
      });

      await t.step("verify --restore-test", async () => {
        const sidecar = join(oneBackup, `${newId}.meta.json`);
        const before = await Deno.readTextFile(sidecar);
        await runKillDrill({
          scenario: "SQLite verify --restore-test",
          prepare: async () => {
            await placeDatabase(old, ws.database);
            await resetDir(oneBackup, ws.dir);
          },
          args: () => ["verify", newId, "--restore-test", "--dir", ws.dir],
          judge: async () => {
            // read before storeProblems' own verify records its outcome in the sidecar
            const after = await Deno.readTextFile(join(ws.dir, `${newId}.meta.json`));
            const broken = await storeProblems(ws.dir, (id) => id === newId);
            return { broken, held: after === before ? "old" : "new" };
          },
          nextRun: async (outcome) => {
            await statusThenCreate(ws);
            return await allLeftovers(ws, outcome, [ws.dir]);
          },
        });
      });

      await t.step("auto --once", async () => {
        await runKillDrill({
          scenario: "SQLite auto --once (create, restore test, cleanup)",
          prepare: async () => {
            await placeDatabase(old, ws.database);
            await resetDir(oneBackup, ws.dir);
          },
          args: () => ["auto", "--once", "--restore-test", "--keep-last", "1", ...common],
          judge: async () => {
            const ids = await listedIds(ws.dir);
            const broken = await storeProblems(ws.dir);
            broken.push(...compareDatabases(ws.database, old));
            const held = ids.length > 1 ? "partway" : ids.includes(newId) ? "old" : "new";
            return { broken, held };
          },
          nextRun: async (outcome) => {
            await statusThenCreate(ws);
            return await allLeftovers(ws, outcome, [ws.dir]);
          },
        });
      });
    } finally {
      printTallies();
      console.log(
        `restore kills that left a hot journal (rolled back by a read-write open): ${hotJournals.count}`,
      );
    }
  });
});
