/**
 * `replicate` over several SQLite databases (a glob): one replicator per series at once, each
 * into its own `<backupDir>/<series>/pitr/`, its log lines prefixed with its name; `restore --at`
 * picks one with `--series` (and says so when it is missing), `list --pitr` shows every series.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { runCli } from "../helpers/cli.ts";
import { withWorkspace } from "../helpers/workspace.ts";
import { Interrupts } from "../../src/cli/interrupts.ts";
import { systemClock } from "../../src/core/clock.ts";
import { sleep } from "../helpers/pitr_writer.ts";

Deno.test("replicate with several databases ships each one to its series and restores each by --series", async () => {
  await withWorkspace(async (ws) => {
    const data = join(ws.root, "data");
    await Deno.mkdir(data);
    const apps = ["orders", "users"].map((name) => {
      const app = new DatabaseSync(join(data, `${name}.db`), { timeout: 10_000 });
      app.exec(`PRAGMA journal_mode = WAL; CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT);`);
      return { name, app };
    });
    const config = join(ws.root, "backup-manager.json");
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        database: join(data, "*.db"),
        backupDir: ws.dir,
        timezone: "UTC",
        pitr: { interval: "200ms" },
      }),
    );
    const cli = (args: string[], extra: Parameters<typeof runCli>[1] = {}) =>
      runCli(["--config", config, ...args], { clock: systemClock, ...extra });
    const interrupts = new Interrupts();
    const running = cli(["replicate"], { interrupts });
    const counts: Record<string, number> = {};
    try {
      await sleep(1000);
      for (const [i, { name, app }] of apps.entries()) {
        const insert = app.prepare("INSERT INTO rows (body) VALUES (?)");
        for (let n = 0; n < 20 * (i + 1); n++) insert.run(`${name} ${n}`);
        counts[name] = 20 * (i + 1);
      }
      await sleep(1000);
    } finally {
      interrupts.receive();
    }
    const result = await running;
    for (const { app } of apps) app.close();
    assert.equal(result.code, 0, result.stderr + result.stdout);
    assert.match(result.stdout, /^orders: .*replicating .*orders\.db/m);
    assert.match(result.stdout, /^users: .*replicating .*users\.db/m);

    const missing = await cli(["restore", "--at", "latest", "--to", join(ws.root, "x.db")]);
    assert.equal(missing.code, 2);
    assert.match(
      missing.stderr,
      /pick one with --series NAME \(the series are "orders", "users"\)/,
    );

    for (const { name } of apps) {
      const out = join(ws.root, `${name}-latest.db`);
      const restored = await cli(["restore", "--at", "latest", "--series", name, "--to", out]);
      assert.equal(restored.code, 0, restored.stderr);
      const db = new DatabaseSync(out, { readOnly: true });
      try {
        assert.equal(Number(db.prepare("SELECT count(*) AS n FROM rows").get()!.n), counts[name]);
        assert.equal(db.prepare("SELECT body FROM rows WHERE id = 1").get()!.body, `${name} 0`);
      } finally {
        db.close();
      }
      const stored = await Array.fromAsync(Deno.readDir(join(ws.dir, name, "pitr")));
      assert.ok(stored.some((e) => e.name.endsWith(".snapshot.json")));
    }
    const verified = await cli(["verify", "--pitr", "--format", "json"]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.deepEqual(
      JSON.parse(verified.stdout).map((
        s: { series: string; failures: unknown[] },
      ) => [s.series, s.failures]),
      [["orders", []], ["users", []]],
    );
    const segment = (await Array.fromAsync(Deno.readDir(join(ws.dir, "users", "pitr"))))
      .map((e) => e.name).find((name) => /\.\d{8}\.wal\.gz$/.test(name))!;
    const path = join(ws.dir, "users", "pitr", segment);
    const bytes = await Deno.readFile(path);
    bytes[bytes.length >> 1] ^= 0xff;
    await Deno.writeFile(path, bytes);
    const damaged = await cli(["verify", "--pitr", "--series", "users"]);
    assert.equal(damaged.code, 5, damaged.stdout + damaged.stderr);
    assert.match(damaged.stdout, new RegExp(`FAIL ${segment.replaceAll(".", "\\.")}: .*SHA-256`));

    const listed = await cli(["list", "--pitr", "--format", "json"]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      JSON.parse(listed.stdout).map((s: { series: string }) => s.series).sort(),
      ["orders", "users"],
    );
  });
});
