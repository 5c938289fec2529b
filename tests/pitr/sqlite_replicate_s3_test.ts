/**
 * `replicate` and `restore --at` on an S3 store (a real radosgw): the snapshot, segments and
 * manifests go under the bucket prefix's `pitr/`, and each moment between an application's
 * bursts restores from the bucket to exactly the rows committed by then; `list --pitr` reads the
 * bucket too.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { runCli } from "../helpers/cli.ts";
import { s3Env, withBucket } from "../helpers/s3_cli.ts";
import { withWorkspace } from "../helpers/workspace.ts";
import { systemClock } from "../../src/core/clock.ts";
import { replicateWhileWriting, sleep } from "../helpers/pitr_writer.ts";

Deno.test("replicate ships to a bucket and restore --at gives each moment back from it", async () => {
  await withBucket((bucket) =>
    withWorkspace(async (ws) => {
      const env = s3Env(bucket.server, ws.root);
      const app = new DatabaseSync(ws.database, { timeout: 10_000 });
      app.exec(`PRAGMA journal_mode = WAL;
        CREATE TABLE events (id INTEGER PRIMARY KEY, at TEXT, body BLOB);`);
      const config = join(ws.root, "backup-manager.json");
      await Deno.writeTextFile(
        config,
        JSON.stringify({
          database: ws.database,
          backupDir: bucket.url("db-1"),
          timezone: "UTC",
          pitr: { interval: "200ms", checkpointBytes: 64 * 1024 },
        }),
      );
      const cli = (args: string[], extra: Parameters<typeof runCli>[1] = {}) =>
        runCli(["--config", config, ...args], { clock: systemClock, env, ...extra });

      const insert = app.prepare("INSERT INTO events (at, body) VALUES (?, randomblob(700))");
      const { replicated, moments } = await replicateWhileWriting({
        cli,
        app,
        bursts: 3,
        write: async (burst) => {
          for (let t = 0; t < 5; t++) {
            app.exec("BEGIN");
            for (let i = 0; i < 20 + burst * 30; i++) insert.run(new Date().toISOString());
            app.exec("COMMIT");
            await sleep(20);
          }
        },
        warmupMs: 800,
        settleMs: 1200, // several steps: every commit of the burst is in the bucket
      });
      assert.equal(replicated.code, 0, replicated.stderr + replicated.stdout);
      app.close();

      const keys = await bucket.keys("db-1/pitr/");
      assert.ok(keys.some((k) => k.endsWith(".snapshot.json")), keys.join("\n"));
      assert.ok(keys.some((k) => /\.\d{8}\.json$/.test(k)), keys.join("\n"));

      for (const [i, moment] of moments.entries()) {
        const out = join(ws.root, `at-${i}.db`);
        const result = await cli(["restore", "--at", moment.at, "--to", out]);
        assert.equal(result.code, 0, result.stderr);
        const db = new DatabaseSync(out, { readOnly: true });
        try {
          assert.equal(String(db.prepare("PRAGMA integrity_check").get()!.integrity_check), "ok");
          const rows = Number(db.prepare("SELECT count(*) AS n FROM events").get()!.n);
          assert.equal(rows, moment.rows, `moment ${i} (${moment.at})`);
        } finally {
          db.close();
        }
      }
      const listed = await cli(["list", "--pitr", "--format", "json"]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.equal(JSON.parse(listed.stdout).generations.length, 1, listed.stdout);
    })
  );
});
