/** The config file as every command sees it: found in the working directory or via --config. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeClock, runCli, runScript } from "../helpers/cli.ts";
import { listNames, makeDatabase, snapshotDir, withWorkspace } from "../helpers/workspace.ts";

Deno.test("backup-manager.json in the working directory sets the database and the store", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    await Deno.writeTextFile(
      join(ws.root, "backup-manager.json"),
      JSON.stringify({ database: "sqlite:./app.db", backupDir: "./backups" }),
    );
    const clock = new FakeClock();
    const created = await runCli(["create", "--format", "json"], { cwd: ws.root, clock });
    assert.equal(created.code, 0, created.stderr);
    assert.equal((await listNames(ws.dir)).length, 3); // backup, sidecar, audit log
    const listed = await runCli(["list", "--format", "json"], { cwd: ws.root });
    assert.equal(JSON.parse(listed.stdout)[0].id, JSON.parse(created.stdout).id);
  });
});

Deno.test("--config names a file anywhere, before or after the command, and flags win over it", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const config = join(ws.root, "settings.json");
    await Deno.writeTextFile(
      config,
      JSON.stringify({ database: ws.database, backupDir: join(ws.root, "from-file") }),
    );
    const clock = new FakeClock();
    const before = await runCli(["--config", config, "create"], { clock });
    assert.equal(before.code, 0, before.stderr);
    clock.advance();
    const after = await runCli(["create", "--config", config, "--dir", ws.dir], { clock });
    assert.equal(after.code, 0, after.stderr);
    assert.equal((await listNames(join(ws.root, "from-file"))).length, 3); // with the audit log
    assert.equal((await listNames(ws.dir)).length, 3); // backup, sidecar, audit log
  });
});

Deno.test("a mistake in the config file exits 2 with one line and touches nothing", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const path = join(ws.root, "backup-manager.json");
    await Deno.writeTextFile(
      path,
      JSON.stringify({ database: ws.database, backupDir: ws.dir, retention: { keepDayly: 7 } }),
    );
    for (const argv of [["create"], ["list"], ["cleanup", "--dry-run"], ["status"]]) {
      const result = await runCli(argv, { cwd: ws.root });
      assert.equal(result.code, 2, argv.join(" "));
      assert.equal(
        result.stderr,
        `Error: Unknown setting "retention.keepDayly" in ${path} (did you mean "retention.keepDaily"?)\n`,
      );
      assert.equal(result.stdout, "");
    }
    assert.equal(await snapshotDir(ws.dir), null);
  });
});

Deno.test("a missing --config file exits 2 in a real process", async () => {
  await withWorkspace(async (ws) => {
    const result = await runScript(["list", "--config", "nope.json"], { cwd: ws.root });
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr,
      `Error: Cannot read config file "${
        join(await Deno.realPath(ws.root), "nope.json")
      }": it does not exist (check --config)\n`,
    );
  });
});

Deno.test("a config error never prints an SMTP password or a webhook token", async () => {
  await withWorkspace(async (ws) => {
    const env = {
      SMTP_HOST: "smtp.example.com",
      SMTP_PASSWORD: "hunter2-secret",
      BACKUP_WEBHOOK_URL: "https://hooks.example.com/T0KEN-secret",
      SMTP_PORT: "smtp",
    };
    const result = await runCli(["list", "--dir", ws.dir], { env });
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr,
      'Error: Invalid value "smtp" for SMTP_PORT (setting "notifications.email.port"): expected a port number 1-65535\n',
    );
    assert.doesNotMatch(result.stderr + result.stdout, /secret/);
  });
});
