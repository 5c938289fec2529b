/**
 * Disk-full drills on real small filesystems (tmpfs), beyond `tests/cli/full_disk_test.ts` (one
 * create into an empty full store): the store or the restore target fills at a seeded point (a
 * ballast file leaves a random amount of room, so the disk fills in the data file, in the
 * sidecar, or not at all). Each time: a failure is one line (a store that fills: exit 7), older
 * backups are byte for byte untouched, nothing partial lists, the space is given back, and the
 * next run leaves nothing over. A SQLite restore whose target's filesystem fills leaves the target
 * byte for byte as it was and no temporary beside it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { systemClock } from "../../src/core/clock.ts";
import { ExitCode } from "../../src/core/errors.ts";
import { AUDIT_KEY } from "../../src/core/audit.ts";
import { makeDatabase, snapshotDir, withWorkspace } from "../helpers/workspace.ts";
import {
  drillSeeds,
  freeBytes,
  listedIds,
  makeDrillDatabase,
  ownedBy,
  printTallies,
  record,
  seededRandom,
  storeLeftovers,
  storeProblems,
  withTmpfs,
} from "./_drills.ts";

const clock = { clock: systemClock };

/** Fills `directory` with a ballast file leaving `room` bytes free (about: tmpfs counts pages). */
async function leaveRoom(directory: string, room: number): Promise<void> {
  const size = Math.max(0, await freeBytes(directory) - room);
  await Deno.writeFile(join(directory, "ballast.bin"), new Uint8Array(size));
}

function withoutAuditOrBallast(files: Record<string, string> | null) {
  const { [AUDIT_KEY]: _audit, ["ballast.bin"]: _ballast, ...rest } = files ?? {};
  return rest;
}

interface Counts {
  seeds: number;
  filled: number;
  intact: number;
  leftovers: number;
}

function recordCounts(scenario: string, counts: Counts, started: number): void {
  record({
    scenario,
    seeds: counts.seeds,
    killed: counts.filled,
    intact: counts.intact,
    old: counts.filled,
    new: counts.seeds - counts.filled,
    partway: 0,
    leftovers: counts.leftovers,
    durationMs: 0,
    wallSeconds: Math.round((performance.now() - started) / 100) / 10,
  });
}

Deno.test("disk-full drills: the store or the restore target fills at a random point", async (t) => {
  await withWorkspace(async (ws) => {
    const big = join(ws.root, "big.db");
    makeDrillDatabase(big, "big");
    // how much room one backup of big.db takes
    const probe = join(ws.root, "probe");
    const probed = await runCli(["create", "--database", big, "--dir", probe], clock);
    assert.equal(probed.code, 0, probed.stderr);
    let backupBytes = 0;
    for await (const entry of Deno.readDir(probe)) {
      if (entry.name !== AUDIT_KEY) backupBytes += (await Deno.stat(join(probe, entry.name))).size;
    }
    makeDatabase(ws.database);

    try {
      await t.step("create into a store that fills", async () => {
        const started = performance.now();
        const counts: Counts = { seeds: 0, filled: 0, intact: 0, leftovers: 0 };
        const failures: string[] = [];
        for (const seed of drillSeeds(10)) {
          await withTmpfs(ws.dir, `${Math.ceil(backupBytes / 1024 / 1024) + 2}m`, async () => {
            const older = await runCli(
              ["create", "--database", ws.database, "--dir", ws.dir],
              clock,
            );
            assert.equal(older.code, 0, older.stderr);
            const before = withoutAuditOrBallast(await snapshotDir(ws.dir));
            const room = Math.round(seededRandom(seed)() * (backupBytes + 8192));
            await leaveRoom(ws.dir, room);
            const free = await freeBytes(ws.dir);
            const result = await runCli(["create", "--database", big, "--dir", ws.dir], clock);
            const broken: string[] = [];
            counts.seeds++;
            const filled = result.code !== 0;
            if (filled) {
              counts.filled++;
              if (result.code !== ExitCode.Storage) broken.push(`exit ${result.code}, not 7`);
              if (!/^Error: [^\n]+\n$/.test(result.stderr)) {
                broken.push(`not one line: ${result.stderr}`);
              }
              const after = withoutAuditOrBallast(await snapshotDir(ws.dir));
              if (JSON.stringify(after) !== JSON.stringify(before)) {
                broken.push(`the store changed: ${Object.keys(after).join(", ")}`);
              }
              // the audit line of the failure is all that may take room (a page of tmpfs)
              const given = await freeBytes(ws.dir);
              if (given < free - 4096) broken.push(`${free - given} bytes not given back`);
            }
            broken.push(...await storeProblems(ws.dir));
            if (broken.length === 0) counts.intact++;
            await Deno.remove(join(ws.dir, "ballast.bin"));
            const next = await runCli(
              ["create", "--database", ws.database, "--dir", ws.dir],
              clock,
            );
            if (next.code !== 0) broken.push(`the next create failed: ${next.stderr}`);
            const left = await storeLeftovers(ws.dir);
            if (left.length > 0) counts.leftovers++;
            broken.push(...left.map((l) => `left over: ${l}`));
            if (broken.length > 0) {
              failures.push(`seed ${seed} (room ${room} of ${backupBytes}): ${broken.join("; ")}`);
            }
          });
        }
        recordCounts("disk full: create into a store that fills", counts, started);
        assert.deepEqual(failures, [], failures.join("\n"));
      });

      await t.step("SQLite restore whose target filesystem fills", async () => {
        const started = performance.now();
        const counts: Counts = { seeds: 0, filled: 0, intact: 0, leftovers: 0 };
        const failures: string[] = [];
        const [id] = await listedIds(probe);
        const targetDir = join(ws.root, "target");
        const target = join(targetDir, "app.db");
        for (const seed of drillSeeds(10)) {
          await withTmpfs(targetDir, `${Math.ceil(backupBytes / 1024 / 1024) + 6}m`, async () => {
            makeDatabase(target, { events: 2000 });
            const before = await snapshotDir(targetDir);
            // the restore's temporary is about the size of big.db, several times the backup
            const room = Math.round(seededRandom(seed)() * (await Deno.stat(big)).size * 1.2);
            await leaveRoom(targetDir, room);
            const free = await freeBytes(targetDir);
            const result = await runCli(
              ["restore", id, "--database", target, "--dir", probe, "--force"],
              clock,
            );
            const broken: string[] = [];
            counts.seeds++;
            const filled = result.code !== 0;
            if (filled) {
              counts.filled++;
              if (!/^Error: [^\n]+\n$/.test(result.stderr)) {
                broken.push(`not one line: ${result.stderr}`);
              }
              const after = await snapshotDir(targetDir);
              delete after?.["ballast.bin"];
              if (JSON.stringify(after) !== JSON.stringify(before)) {
                broken.push(
                  `the target's directory changed: ${Object.keys(after ?? {}).join(", ")}`,
                );
              }
              const given = await freeBytes(targetDir);
              if (given < free - 4096) broken.push(`${free - given} bytes not given back`);
            }
            if (broken.length === 0) counts.intact++;
            await Deno.remove(join(targetDir, "ballast.bin"));
            const next = await runCli(["create", "--database", target, "--dir", probe], clock);
            if (next.code !== 0) broken.push(`the next create failed: ${next.stderr}`);
            const left = [...await storeLeftovers(probe), ...await ownedBy(targetDir, Deno.pid)];
            if (left.length > 0) counts.leftovers++;
            broken.push(...left.map((l) => `left over: ${l}`));
            if (broken.length > 0) {
              failures.push(
                `seed ${seed} (room ${room}): exit ${result.code}: ${broken.join("; ")}`,
              );
            }
            console.log(`seed ${seed}: room ${room}, exit ${result.code} ${result.stderr.trim()}`);
          });
        }
        recordCounts("disk full: SQLite restore whose target fills", counts, started);
        assert.deepEqual(failures, [], failures.join("\n"));
      });
    } finally {
      printTallies();
    }
  });
});
