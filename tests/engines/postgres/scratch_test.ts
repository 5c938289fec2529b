/**
 * PostgreSQL scratch leftovers on a real server (`_scratch.ts`): a dead owner's load database
 * and an old-style one nobody uses are stale and dropped; a live owner's, and one somebody is
 * connected to, are kept, and dropping one in use is refused, never forced.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startCluster } from "../../helpers/pg_cluster.ts";
import {
  createDatabase,
  databaseExists,
  databaseUrl,
  PG_BIN,
  psql,
} from "../../helpers/pg_tools.ts";
import {
  findPostgresScratch,
  removePostgresScratch,
} from "../../../src/engines/postgres/_scratch.ts";
import { parseLocation } from "../../../src/engines/postgres/_connection.ts";
import { currentDatabaseOwner, scratchDatabaseName } from "../../../src/core/scratch_names.ts";
import { DatabaseError } from "../../../src/core/errors.ts";

/** A pid that is certainly gone: a process that ran and exited. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

Deno.test("findPostgresScratch() and removePostgresScratch() on a real server", async () => {
  const cluster = await startCluster();
  const sleeper = new Deno.Command("sleep", { args: ["60"] }).spawn();
  let session: Deno.ChildProcess | undefined;
  try {
    const now = new Date();
    const owner = currentDatabaseOwner(now);
    const dead = scratchDatabaseName("load", { ...owner, pid: await deadPid() }, "dead1");
    const live = scratchDatabaseName("verify", { ...owner, pid: sleeper.pid }, "live1");
    const busy = scratchDatabaseName("load", { ...owner, pid: await deadPid() }, "busy1");
    const legacy = "backup_manager_load_0123456789abcdef";
    for (const name of [dead, live, busy, legacy, "bm_not_ours", "app"]) {
      await createDatabase(cluster.url, name);
    }
    // somebody connected to `busy` (a session that sleeps)
    session = new Deno.Command(join(PG_BIN, "psql"), {
      args: ["-X", "-c", "SELECT pg_sleep(60)", `--dbname=${databaseUrl(cluster.url, busy)}`],
      stdout: "null",
      stderr: "null",
    }).spawn();
    for (let i = 0; i < 200; i++) {
      const n = await psql(
        cluster.url,
        `SELECT count(*) FROM pg_stat_activity WHERE datname = '${busy}'`,
      );
      if (n.trim() !== "0") break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }

    const config = parseLocation(cluster.url, {});
    const found = await findPostgresScratch(config, now);
    const shown = found.map((l) => [l.name, l.kind, l.stale]).sort();
    assert.deepEqual(
      shown,
      [
        [dead, "load", `process ${dead.split("_")[3]} is gone`],
        [live, "verify", undefined],
        [busy, "load", undefined], // in use whatever its name says
        [legacy, "legacy", "nobody is connected to it"],
      ].sort(),
    );
    assert.ok(found.every((l) => l.size > 1_000_000), "sizes are the databases' sizes");

    for (const leftover of found.filter((l) => l.stale)) {
      await removePostgresScratch(config, leftover);
    }
    assert.deepEqual(
      await Promise.all([dead, legacy, live, busy].map((n) => databaseExists(cluster.url, n))),
      [false, false, true, true],
    );
    await assert.rejects(
      () => removePostgresScratch(config, found.find((l) => l.name === busy)!),
      (error: Error) => {
        assert.ok(error instanceof DatabaseError);
        assert.equal(
          error.message,
          `Cannot drop database "${busy}": someone is connected to it (it is in use)`,
        );
        return true;
      },
    );
    await assert.rejects(
      () => removePostgresScratch(config, { name: "app", kind: "load", size: 0, stale: "x" }),
      /^DatabaseError: Cannot drop "app": it is not a scratch database$/,
    );
    assert.ok(await databaseExists(cluster.url, "app"));
  } finally {
    session?.kill();
    await session?.status;
    sleeper.kill();
    await sleeper.status;
    await cluster.stop();
  }
});

Deno.test("removePostgresScratch() drops a stale load database that holds a subscription", async () => {
  const cluster = await startCluster();
  try {
    const owner = { ...currentDatabaseOwner(new Date()), pid: await deadPid() };
    const name = scratchDatabaseName("load", owner, "subs1");
    await createDatabase(cluster.url, name);
    // as a failed --create leaves it: disabled, naming a slot on a publisher it never reaches
    await psql(
      databaseUrl(cluster.url, name),
      `CREATE SUBSCRIPTION sub CONNECTION 'host=127.0.0.1 port=1 dbname=nowhere' PUBLICATION p
         WITH (connect = false, slot_name = 'bm_slot')`,
    );
    const config = parseLocation(cluster.url, {});
    const [leftover] = await findPostgresScratch(config, new Date());
    assert.equal(leftover?.name, name);
    await removePostgresScratch(config, leftover);
    assert.equal(await databaseExists(cluster.url, name), false);
  } finally {
    await cluster.stop();
  }
});
