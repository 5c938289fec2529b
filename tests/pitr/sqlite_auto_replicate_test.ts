/**
 * `auto` with `pitr.enabled` replicates the SQLite database beside its schedule: rows committed
 * while it runs restore with `restore --at latest`, and a signal stops both.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { runCli } from "../helpers/cli.ts";
import { withWorkspace } from "../helpers/workspace.ts";
import { Interrupts } from "../../src/cli/interrupts.ts";
import { systemClock } from "../../src/core/clock.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("auto with pitr.enabled replicates beside its schedule until the signal", async () => {
  await withWorkspace(async (ws) => {
    const app = new DatabaseSync(ws.database, { timeout: 10_000 });
    app.exec(`PRAGMA journal_mode = WAL;
      CREATE TABLE events (id INTEGER PRIMARY KEY, at TEXT);`);
    const config = join(ws.root, "backup-manager.json");
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        database: ws.database,
        backupDir: ws.dir,
        timezone: "UTC",
        pitr: { enabled: true, interval: "200ms" },
      }),
    );
    const cli = (args: string[], extra: Parameters<typeof runCli>[1] = {}) =>
      runCli(["--config", config, ...args], { clock: systemClock, ...extra });
    const interrupts = new Interrupts();
    const running = cli(["auto", "--every", "1h"], { interrupts });
    let rows = 0;
    try {
      await sleep(1500);
      const insert = app.prepare("INSERT INTO events (at) VALUES (?)");
      for (let i = 0; i < 50; i++) insert.run(new Date().toISOString());
      rows = Number(app.prepare("SELECT count(*) AS n FROM events").get()!.n);
      await sleep(800);
    } finally {
      interrupts.receive();
    }
    const result = await running;
    app.close();
    assert.equal(result.code, 0, result.stderr + result.stdout);
    assert.match(result.stdout, /replicating .*app\.db to .*pitr every 200ms/);
    assert.match(result.stdout, /stopped: \d+ commits shipped/);
    const out = join(ws.root, "latest.db");
    const restored = await cli(["restore", "--at", "latest", "--to", out]);
    assert.equal(restored.code, 0, restored.stderr);
    const db = new DatabaseSync(out, { readOnly: true });
    try {
      assert.equal(Number(db.prepare("SELECT count(*) AS n FROM events").get()!.n), rows);
    } finally {
      db.close();
    }
  });
});
