/**
 * Nothing outlives an interrupted run, with real processes killed by SIGKILL: a SQLite restore
 * leaves its `.bm-restore` temporary, a PostgreSQL `restore --create` its `bm_load_…` database;
 * `status` warns about them with their size, the next run that takes the lock removes them and
 * says so on stderr, and a live owner's leftover (a `sleep` process's pid in its name) or a
 * database somebody is connected to is kept.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeClock, runCli, scriptCommand } from "../helpers/cli.ts";
import { makeLargeDatabase, withWorkspace } from "../helpers/workspace.ts";
import { startCluster } from "../helpers/pg_cluster.ts";
import {
  createDatabase,
  databaseExists,
  databaseUrl,
  PG_BIN,
  psql,
  uniqueName,
} from "../helpers/pg_tools.ts";
import {
  currentDatabaseOwner,
  currentOwner,
  scratchDatabaseName,
  scratchFileName,
} from "../../src/core/scratch_names.ts";
import { formatBytes } from "../../src/core/units.ts";
import { readAudit } from "../../src/core/audit.ts";

/** Polls `done` every 5 ms for up to `ms`. */
async function waitFor(what: string, done: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const started = performance.now();
  while (!(await done())) {
    assert.ok(performance.now() - started < ms, `${what} never happened`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Starts `args` as the real script, waits for `seen`, then kills it with SIGKILL. */
async function killWhen(args: string[], what: string, seen: () => Promise<boolean>) {
  const child = scriptCommand(args).spawn();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  await waitFor(what, async () => exited || await seen());
  assert.ok(!exited, `the command ended before ${what}`);
  child.kill("SIGKILL");
  assert.equal((await status).signal, "SIGKILL");
  await child.output();
}

/** A pid that is certainly gone: a process that ran and exited. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

async function restoreTemporaries(dir: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.startsWith(".app.db.bm-restore.")) {
      found.set(entry.name, (await Deno.stat(join(dir, entry.name))).size);
    }
  }
  return found;
}

Deno.test("a SQLite restore killed mid-way leaves a .bm-restore file; status counts it, the next create removes it", async () => {
  await withWorkspace(async (ws) => {
    makeLargeDatabase(ws.database);
    const common = ["--database", ws.database, "--dir", ws.dir];
    const created = await runCli(["create", ...common, "--format", "json"]);
    assert.equal(created.code, 0, created.stderr);
    const { id } = JSON.parse(created.stdout);

    await killWhen(
      ["restore", id, ...common, "--force"],
      "the restore's temporary file holding 4 MB",
      async () => [...(await restoreTemporaries(ws.root)).values()].some((s) => s > 4 << 20),
    );
    const left = await restoreTemporaries(ws.root);
    assert.equal(left.size >= 1, true, "the killed restore left its temporary");
    const leftBytes = [...left.values()].reduce((a, b) => a + b, 0);

    // a live owner's temporary: kept, and not counted
    const sleeper = new Deno.Command("sleep", { args: ["60"] }).spawn();
    try {
      const live = scratchFileName("app.db", "restore", {
        ...currentOwner(new Date()),
        pid: sleeper.pid,
      });
      await Deno.writeFile(join(ws.root, live), new Uint8Array(10));

      const status = await runCli(["status", ...common, "--check"]);
      assert.match(
        status.stdout,
        new RegExp(
          `^WARNING: 1 leftover from interrupted runs, ${
            formatBytes(leftBytes).replace(".", "\\.")
          }: run cleanup$`,
          "m",
        ),
      );

      const next = await runCli(["create", ...common]);
      assert.equal(next.code, 0, next.stderr);
      const [temporary] = [...left.keys()].filter((n) => !n.match(/-(journal|wal|shm)$/));
      assert.match(
        next.stderr,
        new RegExp(
          `^Removed leftover "${join(ws.root, temporary).replaceAll(".", "\\.")}" of an ` +
            `interrupted run \\(restore, [\\d.]+ MiB: process \\d+ is gone\\)$`,
          "m",
        ),
      );
      assert.deepEqual([...(await restoreTemporaries(ws.root)).keys()], [live]);
      const [sweep] = await readAudit(ws.dir, { actions: ["sweep"] });
      assert.equal(sweep.target, join(ws.root, temporary));
      assert.equal(sweep.details?.size, leftBytes);

      const after = await runCli(["status", ...common, "--check"]);
      assert.doesNotMatch(after.stdout, /leftover/);
    } finally {
      sleeper.kill();
      await sleeper.status;
    }
  });
});

/** Load databases on the server, with their number of sessions. */
async function loadDatabases(url: string): Promise<Map<string, number>> {
  const rows = await psql(
    url,
    `SELECT d.datname || ' ' || (SELECT count(*) FROM pg_stat_activity a WHERE a.datname = d.datname)
     FROM pg_database d WHERE d.datname LIKE 'bm\\_load\\_%'`,
  );
  return new Map(
    rows.trim().split("\n").filter(Boolean).map((line) => {
      const [name, sessions] = line.split(" ");
      return [name, Number(sessions)];
    }),
  );
}

Deno.test("a PostgreSQL restore --create killed mid-way leaves a bm_load database; status counts it, the next run drops it", async () => {
  const cluster = await startCluster();
  let session: Deno.ChildProcess | undefined;
  try {
    await withWorkspace(async (ws) => {
      const source = await createDatabase(cluster.url, uniqueName("app"));
      await psql(
        source,
        `CREATE TABLE items (id int PRIMARY KEY, body text);
         INSERT INTO items SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 400000) g;`,
      );
      const common = ["--database", source, "--dir", ws.dir];
      const created = await runCli(["create", ...common, "--format", "json"]);
      assert.equal(created.code, 0, created.stderr);
      const { id } = JSON.parse(created.stdout);

      await killWhen(
        ["restore", id, ...common, "--to", uniqueName("copy"), "--create"],
        "the load database",
        async () => (await loadDatabases(cluster.url)).size > 0,
      );
      // the killed client's server sessions end on their own
      await waitFor(
        "the killed restore's sessions ending",
        async () => [...(await loadDatabases(cluster.url)).values()].every((n) => n === 0),
        20_000,
      );
      const [killed] = [...(await loadDatabases(cluster.url)).keys()];
      assert.ok(killed, "the killed restore left its load database");

      // a dead owner's load database somebody is connected to: in use, kept and not counted
      const busy = scratchDatabaseName("load", {
        ...currentDatabaseOwner(new Date()),
        pid: await deadPid(),
      });
      await createDatabase(cluster.url, busy);
      session = new Deno.Command(join(PG_BIN, "psql"), {
        args: ["-X", "-c", "SELECT pg_sleep(120)", `--dbname=${databaseUrl(cluster.url, busy)}`],
        stdout: "null",
        stderr: "null",
      }).spawn();
      await waitFor("the session", async () => (await loadDatabases(cluster.url)).get(busy) === 1);

      const status = await runCli(["status", ...common, "--check"]);
      assert.match(
        status.stdout,
        /^WARNING: 1 leftover from interrupted runs, [\d.]+ MiB: run cleanup$/m,
      );

      const next = await runCli(["create", ...common]);
      assert.equal(next.code, 0, next.stderr);
      assert.match(
        next.stderr,
        new RegExp(
          `^Removed leftover "${killed}" of an interrupted run \\(load, [\\d.]+ [KM]iB: process \\d+ is gone\\)$`,
          "m",
        ),
      );
      assert.equal(await databaseExists(cluster.url, killed), false);
      assert.equal(await databaseExists(cluster.url, busy), true);
      const after = await runCli(["status", ...common, "--check"]);
      assert.doesNotMatch(after.stdout, /leftover/);
    });
  } finally {
    session?.kill();
    await session?.status;
    await cluster.stop();
  }
});

Deno.test("a create killed mid-write leaves a partial naming its writer; the next create removes it at once", async () => {
  await withWorkspace(async (ws) => {
    makeLargeDatabase(ws.database);
    const common = ["--database", ws.database, "--dir", ws.dir];
    const partials = async () => {
      const names: string[] = [];
      try {
        for await (const entry of Deno.readDir(ws.dir)) {
          if (/\.sql\.gz\.bm-[\w-]+\.\d+\.\d+\.partial$/.test(entry.name)) names.push(entry.name);
        }
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error; // not made yet
      }
      return names;
    };
    await killWhen(
      ["create", ...common],
      "the data file's partial",
      async () => (await partials()).length > 0,
    );
    const [left] = await partials();
    assert.ok(left, "the killed create left its partial");
    // younger than any age limit: only its dead writer's pid tells it is a leftover
    const clock = new FakeClock(new Date());
    const status = await runCli(["status", ...common, "--check"], { clock });
    assert.match(status.stdout, /^WARNING: 1 leftover from interrupted runs, /m);
    const next = await runCli(["create", ...common], { clock });
    assert.equal(next.code, 0, next.stderr);
    assert.match(
      next.stderr,
      new RegExp(
        `^Removed leftover "${left.replaceAll(".", "\\.")}" of an interrupted run ` +
          `\\(partial, [\\d.]+ [KM]?i?B: left by an interrupted run: process \\d+ is gone\\)$`,
        "m",
      ),
    );
    assert.deepEqual(await partials(), []);
  });
});
