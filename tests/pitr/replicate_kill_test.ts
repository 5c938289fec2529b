/**
 * kill -9 of `replicate` (a real process) at random moments while an application commits rows
 * with consecutive numbers: restarted each time, it begins a new generation and removes what the
 * killed one left; for random instants, `restore --at` gives a database that passes
 * integrity_check and holds exactly the rows 1..k for some k, never a row committed after the
 * instant: an earlier state at worst, never a wrong one.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { runCli, scriptCommand } from "../helpers/cli.ts";
import { withWorkspace } from "../helpers/workspace.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("kill -9 of replicate at random moments never gives a chain that restores wrong", async () => {
  await withWorkspace(async (ws) => {
    // the replicator's own checkpoint holds writers off for a moment: the application waits
    const app = new DatabaseSync(ws.database, { timeout: 10_000 });
    app.exec(`PRAGMA journal_mode = WAL;
      CREATE TABLE events (n INTEGER PRIMARY KEY, body BLOB);`);
    const config = join(ws.root, "backup-manager.json");
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        database: ws.database,
        backupDir: ws.dir,
        timezone: "UTC",
        pitr: { interval: "100ms", checkpointBytes: 128 * 1024 },
      }),
    );
    const insert = app.prepare("INSERT INTO events (n, body) VALUES (?, randomblob(300))");
    const committed: { n: number; at: number }[] = [];
    let n = 0;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        app.exec("BEGIN");
        for (let i = 0; i < 1 + n % 7; i++) insert.run(++n);
        app.exec("COMMIT");
        committed.push({ n, at: Date.now() });
        await sleep(5);
      }
    })();
    const start = () => scriptCommand(["--config", config, "replicate"], { cwd: ws.root }).spawn();
    try {
      for (let round = 0; round < 4; round++) {
        const child = start();
        await sleep(400 + Math.floor(Math.random() * 900));
        child.kill("SIGKILL");
        await child.output();
      }
      const last = start();
      await sleep(1500);
      last.kill("SIGTERM");
      const output = await last.output();
      assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    } finally {
      writing = false;
      await writer;
      app.close();
    }
    const leftovers = [];
    for await (const e of Deno.readDir(join(ws.dir, "pitr"))) {
      if (e.name.endsWith(".partial")) leftovers.push(e.name);
    }
    assert.deepEqual(leftovers, [], "the last run removed what the killed ones left");

    const first = committed[0].at;
    const end = committed[committed.length - 1].at;
    for (let i = 0; i < 10; i++) {
      const at = first + 500 + Math.floor(Math.random() * (end - first - 500));
      const out = join(ws.root, `at-${i}.db`);
      const result = await runCli([
        "--config",
        config,
        "restore",
        "--at",
        new Date(at).toISOString(),
        "--to",
        out,
      ]);
      if (result.code === 3) continue; // before the first snapshot the run took
      assert.equal(result.code, 0, result.stderr);
      const db = new DatabaseSync(out, { readOnly: true });
      try {
        assert.equal(String(db.prepare("PRAGMA integrity_check").get()!.integrity_check), "ok");
        const { rows, top } = db.prepare("SELECT count(*) AS rows, max(n) AS top FROM events")
          .get() as { rows: number; top: number | null };
        assert.equal(Number(rows), Number(top ?? 0), "rows 1..k, no hole");
        const byThen = committed.filter((c) => c.at <= at).pop()?.n ?? 0;
        assert.ok(
          Number(top ?? 0) <= byThen,
          `row ${top} was committed after ${new Date(at).toISOString()}`,
        );
      } finally {
        db.close();
      }
    }
  });
});
