/**
 * `replicate` with `encryption.recipients` set stores the snapshot and every segment encrypted
 * (age, after gzip): no object in the store is readable without the key; `restore --at` without
 * an identity is refused in one line, nothing written, and with `--identity` gives each moment
 * back exactly.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { runCli } from "../helpers/cli.ts";
import { ageKeygen } from "../helpers/s3_cli.ts";
import { withWorkspace } from "../helpers/workspace.ts";
import { systemClock } from "../../src/core/clock.ts";
import { replicateWhileWriting } from "../helpers/pitr_writer.ts";
import { ExitCode } from "../../src/core/errors.ts";

Deno.test("encrypted replication: nothing stored in clear, restore --at needs the identity", async () => {
  await withWorkspace(async (ws) => {
    const key = await ageKeygen(ws.root);
    const app = new DatabaseSync(ws.database, { timeout: 10_000 });
    app.exec(`PRAGMA journal_mode = WAL;
      CREATE TABLE events (id INTEGER PRIMARY KEY, at TEXT, body TEXT);`);
    const config = join(ws.root, "backup-manager.json");
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        database: ws.database,
        backupDir: ws.dir,
        timezone: "UTC",
        encryption: { recipients: [key.recipient] },
        pitr: { interval: "200ms", checkpointBytes: 64 * 1024 },
      }),
    );
    const cli = (args: string[], extra: Parameters<typeof runCli>[1] = {}) =>
      runCli(["--config", config, ...args], { clock: systemClock, ...extra });
    const insert = app.prepare("INSERT INTO events (at, body) VALUES (?, 'a secret in clear')");
    const { replicated, moments } = await replicateWhileWriting({
      cli,
      app,
      bursts: 3,
      write: (burst) => {
        for (let i = 0; i < 40 + burst * 40; i++) insert.run(new Date().toISOString());
      },
      warmupMs: 400,
      settleMs: 700,
    });
    assert.equal(replicated.code, 0, replicated.stderr + replicated.stdout);
    app.close();

    const pitr = join(ws.dir, "pitr");
    let objects = 0;
    for await (const entry of Deno.readDir(pitr)) {
      if (entry.name.endsWith(".json")) {
        const manifest = JSON.parse(await Deno.readTextFile(join(pitr, entry.name)));
        assert.equal(manifest.stored.encrypted, true, entry.name);
        continue;
      }
      const bytes = await Deno.readFile(join(pitr, entry.name));
      assert.equal(
        new TextDecoder().decode(bytes.subarray(0, 21)),
        "age-encryption.org/v1",
        entry.name,
      );
      objects++;
    }
    assert.ok(objects >= 2, "a snapshot and segments");

    const out = join(ws.root, "at.db");
    const refused = await cli(["restore", "--at", moments[0].at, "--to", out]);
    assert.equal(refused.code, ExitCode.Usage, refused.stderr);
    assert.equal(refused.stderr.trim().split("\n").length, 1, refused.stderr);
    assert.equal(await Deno.stat(out).then(() => true, () => false), false, "nothing written");

    for (const [i, moment] of moments.entries()) {
      const to = join(ws.root, `at-${i}.db`);
      const result = await cli([
        "restore",
        "--at",
        moment.at,
        "--to",
        to,
        "--identity",
        key.identityFile,
      ]);
      assert.equal(result.code, 0, result.stderr);
      const db = new DatabaseSync(to, { readOnly: true });
      try {
        assert.equal(String(db.prepare("PRAGMA integrity_check").get()!.integrity_check), "ok");
        assert.equal(Number(db.prepare("SELECT count(*) AS n FROM events").get()!.n), moment.rows);
      } finally {
        db.close();
      }
    }
  });
});
