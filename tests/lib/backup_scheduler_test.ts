/**
 * `scripts/backup-scheduler.ts` as the compose service runs it: a real subprocess whose settings
 * come from `backup-manager.json` in its working directory and the environment, logging as
 * `auto` does, stopped by SIGTERM after the cycle in progress (exit 0, no lock left).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ENV_SETTINGS } from "../../src/config/environment.ts";
import { LOCK_KEY } from "../../src/core/lock.ts";
import { schedulerArgv } from "../../scripts/backup-scheduler.ts";
import { listNames, makeDatabase, withWorkspace } from "../helpers/workspace.ts";

const SCRIPT = fileURLToPath(new URL("../../scripts/backup-scheduler.ts", import.meta.url));

function schedulerCommand(cwd: string, env: Record<string, string>): Deno.Command {
  const inherited = Deno.env.toObject();
  for (const name of Object.keys(ENV_SETTINGS)) delete inherited[name];
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT],
    cwd,
    env: { ...inherited, RUST_BACKTRACE: "0", NO_COLOR: "1", ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

Deno.test("schedulerArgv() runs auto with the script's arguments", () => {
  assert.deepEqual(schedulerArgv([]), ["auto"]);
  assert.deepEqual(schedulerArgv(["--once", "--type", "schema"]), [
    "auto",
    "--once",
    "--type",
    "schema",
  ]);
});

Deno.test("backup-scheduler reads backup-manager.json and the environment, logs JSON, and stops on SIGTERM after the cycle in progress", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    await Deno.writeTextFile(
      join(ws.root, "backup-manager.json"),
      JSON.stringify({ database: "./app.db", backupDir: "./backups", retention: { keepLast: 5 } }),
    );
    const child = schedulerCommand(ws.root, {
      BACKUP_INTERVAL: "1s",
      BACKUP_LOG_FORMAT: "json",
    }).spawn();
    let stdout = "";
    const reading = (async () => {
      for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) stdout += text;
    })();
    const started = performance.now();
    while ((stdout.match(/"event":"run-ok"/g) ?? []).length < 2) {
      assert.ok(performance.now() - started < 30_000, `no two runs: ${stdout}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill("SIGTERM");
    const status = await child.status;
    await reading;
    const stderr = await new Response(child.stderr).text();
    assert.equal(status.code, 0, stdout + stderr);
    assert.equal(stderr, "");
    const events = stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
    assert.equal(events[0].event, "scheduler-start");
    assert.match(events[0].message, /^scheduler started: every 1s; next runs /);
    assert.equal(events.at(-1).event, "scheduler-stop");
    assert.ok(events.filter((e) => e.event === "run-ok").length >= 2);
    const names = await listNames(ws.dir);
    assert.ok(names.filter((n) => n.endsWith(".meta.json")).length >= 2, names.join());
    assert.ok(!names.some((n) => n.endsWith(".partial") || n === LOCK_KEY), names.join());
  });
});

Deno.test("backup-scheduler without a schedule exits 2 with auto's one line", async () => {
  await withWorkspace(async (ws) => {
    const output = await schedulerCommand(ws.root, { DATABASE_URL: ws.database }).output();
    assert.equal(output.code, 2);
    assert.equal(new TextDecoder().decode(output.stdout), "");
    assert.equal(
      new TextDecoder().decode(output.stderr),
      'Error: Cannot run "auto": no schedule is set (use --every 6h or --cron "0 2 * * *", BACKUP_INTERVAL or BACKUP_CRON, "schedule" in the config file, or --once)\n',
    );
  });
});
