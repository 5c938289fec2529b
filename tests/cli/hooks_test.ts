/**
 * Hooks from the config file through the command line: output prefixed on stderr (or JSON log
 * lines), a failing `before` hook's exit code and line, a bare string refused as a setting, a
 * restore between its hooks, `auto` running them on every cycle, no secret reaching a hook.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeClock, runCli } from "../helpers/cli.ts";
import { Interrupts } from "../../src/cli/interrupts.ts";
import { ExitCode } from "../../src/core/errors.ts";
import {
  execSql,
  listNames,
  makeDatabase,
  withWorkspace,
  type Workspace,
} from "../helpers/workspace.ts";

/** Writes an executable script into the workspace. */
async function script(ws: Workspace, name: string, text: string): Promise<string> {
  const path = join(ws.root, name);
  await Deno.writeTextFile(path, text);
  await Deno.chmod(path, 0o755);
  return path;
}

/** A hook that says what it is, logs it to hooks.log and dumps its environment. */
const RECORDER = `#!/bin/sh
echo "$BACKUP_HOOK $BACKUP_OPERATION \${BACKUP_ID:-}"
echo "$BACKUP_HOOK $BACKUP_OPERATION" >> hooks.log
env > "env.$BACKUP_OPERATION.$BACKUP_HOOK"
`;

async function writeConfig(ws: Workspace, settings: Record<string, unknown>): Promise<void> {
  await Deno.writeTextFile(
    join(ws.root, "backup-manager.json"),
    JSON.stringify({ database: "./app.db", backupDir: "./backups", ...settings }),
  );
}

async function hookLog(ws: Workspace): Promise<string[]> {
  try {
    return (await Deno.readTextFile(join(ws.root, "hooks.log"))).split("\n").filter(Boolean);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

const ENV = { PATH: "/usr/bin:/bin", HOME: "/home/someone" };

Deno.test("create runs the config's hooks in the config file's directory, their output prefixed on stderr", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    await script(ws, "record.sh", RECORDER);
    const hook = { command: ["./record.sh"] };
    await writeConfig(ws, { hooks: { before: [hook], after: [hook], failure: [hook] } });
    const result = await runCli(["create"], { cwd: ws.root, env: ENV });
    assert.equal(result.code, 0, result.stderr);
    const id = /full_\d{8}T\d{9}Z/.exec(result.stdout)![0];
    assert.deepEqual(result.stderr.split("\n").filter(Boolean), [
      "[hook before record.sh] before create ",
      `[hook after record.sh] after create ${id}`,
    ]);
    assert.deepEqual(await hookLog(ws), ["before create", "after create"]);
  });
});

Deno.test("create with log.format json prints a hook's lines as JSON log lines on stderr", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    await writeConfig(ws, {
      log: { format: "json" },
      hooks: { before: [{ command: "echo hello; echo oops >&2", shell: true, name: "greet" }] },
    });
    const result = await runCli(["create"], { cwd: ws.root, env: ENV });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stderr.trim().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(
      lines.map((l) => [l.event, l.level, l.hook, l.stage, l.stream, l.line, l.message]),
      [
        ["hook-output", "info", "greet", "before", "stdout", "hello", "[hook before greet] hello"],
        ["hook-output", "info", "greet", "before", "stderr", "oops", "[hook before greet] oops"],
      ],
    );
  });
});

Deno.test("a failing before hook makes create exit 1 with one line, writing no backup", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    await writeConfig(ws, {
      hooks: { before: [{ command: "echo app will not stop >&2; exit 4", shell: true }] },
    });
    const result = await runCli(["create"], { cwd: ws.root, env: ENV });
    assert.equal(result.code, ExitCode.Failure);
    assert.equal(
      result.stderr,
      "[hook before echo] app will not stop\n" +
        `Error: Cannot back up "${ws.database}": hook before "echo" exited with status 4 (nothing was done; its output is above)\n`,
    );
    assert.deepEqual((await listNames(ws.dir)).filter((n) => n.includes(".sql")), []);
  });
});

Deno.test("a hook command given as a bare string is a one-line settings error (exit 2)", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    await writeConfig(ws, { hooks: { before: [{ command: "systemctl stop app" }] } });
    const result = await runCli(["create"], { cwd: ws.root, env: ENV });
    assert.equal(result.code, ExitCode.Usage);
    assert.equal(result.stderr.split("\n").filter(Boolean).length, 1, result.stderr);
    assert.match(
      result.stderr,
      /"hooks\.before\[0\]\.command".*a command given as one string needs "shell": true \(or give it as a list: \["systemctl", "stop", "app"\]\)/,
    );
    await writeConfig(ws, { hooks: { before: [{ command: ["true"], on: ["backup"] }] } });
    const unknown = await runCli(["create"], { cwd: ws.root, env: ENV });
    assert.equal(unknown.code, ExitCode.Usage);
    assert.match(unknown.stderr, /hooks\.before\[0\]\.on\[0\].*expected one of create, restore/);
  });
});

Deno.test("restore runs between the restore hooks: stop the app before, start it after", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    await script(ws, "record.sh", RECORDER);
    await writeConfig(ws, {});
    const created = await runCli(["create"], { cwd: ws.root, env: ENV });
    const id = /full_\d{8}T\d{9}Z/.exec(created.stdout)![0];
    execSql(ws.database, "INSERT INTO accounts (name, balance) VALUES ('late', 1)");
    const hook = { command: ["./record.sh"], on: ["restore"] };
    await writeConfig(ws, { hooks: { before: [hook], after: [hook], failure: [hook] } });
    const result = await runCli(["restore", id, "--force"], { cwd: ws.root, env: ENV });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await hookLog(ws), ["before restore", "after restore"]);
    assert.match(
      result.stderr,
      new RegExp(`^\\[hook before record.sh\\] before restore ${id}$`, "m"),
    );
    assert.match(
      result.stderr,
      new RegExp(`^\\[hook after record.sh\\] after restore ${id}$`, "m"),
    );
  });
});

Deno.test("auto runs the create hooks on every cycle", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    await script(ws, "record.sh", RECORDER);
    const hook = { command: ["./record.sh"] };
    await writeConfig(ws, { hooks: { before: [hook], after: [hook] } });
    const interrupts = new Interrupts();
    const clock = new SignallingClock(interrupts, 3, "2026-11-23T10:15:00.000Z");
    const result = await runCli(["auto", "--every", "6h"], {
      cwd: ws.root,
      env: ENV,
      clock,
      interrupts,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await hookLog(ws), [
      "before create",
      "after create",
      "before create",
      "after create",
    ]);
    const lines = result.stdout.split("\n").filter((l) => l.includes("[hook"));
    assert.deepEqual(lines.map((l) => l.replace(/^\S+ /, "")), [
      "info  [hook before record.sh] before create ",
      "info  [hook after record.sh] after create full_20261123T101500000Z",
      "info  [hook before record.sh] before create ",
      "info  [hook after record.sh] after create full_20261123T161500000Z",
    ]);
  });
});

/** A fake clock that sends a signal when something sleeps for the `n`th time. */
class SignallingClock extends FakeClock {
  constructor(readonly interrupts: Interrupts, readonly atSleep: number, start: string) {
    super(start);
  }

  override async sleepUntil(at: Date, signal?: AbortSignal): Promise<void> {
    if (this.sleeps.length + 1 === this.atSleep) this.interrupts.receive();
    await super.sleepUntil(at, signal);
  }
}

Deno.test("a hook run by the command line sees none of the secrets in its environment", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    await script(ws, "record.sh", RECORDER);
    await writeConfig(ws, { hooks: { after: [{ command: ["./record.sh"] }] } });
    const secrets = {
      PGPASSWORD: "hunter2-secret",
      AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
      AWS_SECRET_ACCESS_KEY: "hunter2-secret",
      BACKUP_API_TOKEN: "hunter2-secret",
      BACKUP_SMTP_PASSWORD: "hunter2-secret",
    };
    const result = await runCli(["create"], { cwd: ws.root, env: { ...ENV, ...secrets } });
    assert.equal(result.code, 0, result.stderr);
    const env = await Deno.readTextFile(join(ws.root, "env.create.after"));
    assert.doesNotMatch(env, /hunter2|AKIAEXAMPLE/);
    assert.match(env, /^HOME=\/home\/someone$/m);
    assert.match(env, /^BACKUP_FILE=.*\.sql\.gz$/m);
  });
});

Deno.test("verify, cleanup, copy and maintain run the hooks that name them; a failed verify runs the failure hooks", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    await script(ws, "record.sh", RECORDER);
    const hook = { command: ["./record.sh"], on: ["verify", "cleanup", "copy", "maintain"] };
    await writeConfig(ws, {
      retention: { keepLast: 1 },
      hooks: { before: [hook], after: [hook], failure: [hook] },
    });
    const clock = new FakeClock();
    const run = (args: string[]) => runCli(args, { cwd: ws.root, env: ENV, clock });
    const first = await run(["create", "--format", "json"]);
    assert.equal(first.code, 0, first.stderr);
    const id = JSON.parse(first.stdout).id;
    assert.deepEqual(await hookLog(ws), [], "create is not among the hook's operations");

    assert.equal((await run(["verify", id])).code, 0);
    const copy = await run(["copy", id, "--to", join(ws.root, "offsite")]);
    assert.equal(copy.code, 0, copy.stderr);
    assert.equal((await run(["maintain"])).code, 0);
    clock.advance();
    assert.equal((await run(["create"])).code, 0);
    assert.equal((await run(["cleanup", "--dry-run"])).code, 0, "a dry run runs no hook");
    assert.equal((await run(["cleanup"])).code, 0);
    assert.deepEqual(await hookLog(ws), [
      "before verify",
      "after verify",
      "before copy",
      "after copy",
      "before maintain",
      "after maintain",
      "before cleanup",
      "after cleanup",
    ]);
    const env = await Deno.readTextFile(join(ws.root, "env.verify.after"));
    assert.match(env, new RegExp(`^BACKUP_ID=${id}$`, "m"));

    // damage the only backup left: verify fails, and the failure hook hears why
    const newest = (await listNames(ws.dir)).find((n) => n.endsWith(".sql.gz"))!;
    const path = join(ws.dir, newest);
    const bytes = await Deno.readFile(path);
    bytes[bytes.length - 10] ^= 0xff;
    await Deno.writeFile(path, bytes);
    const verify = await run(["verify", "--all"]);
    assert.equal(verify.code, ExitCode.Integrity, verify.stderr);
    assert.deepEqual((await hookLog(ws)).slice(-2), ["before verify", "failure verify"]);
    assert.match(
      await Deno.readTextFile(join(ws.root, "env.verify.failure")),
      /^BACKUP_ERROR=backup "full_\d{8}T\d{9}Z" failed verification: /m,
    );
  });
});

Deno.test("a failing before hook of verify stops it with one line and records nothing in the sidecar", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    await writeConfig(ws, {
      hooks: { before: [{ command: ["false"], on: ["verify"] }] },
    });
    const created = await runCli(["create", "--format", "json"], { cwd: ws.root, env: ENV });
    const id = JSON.parse(created.stdout).id;
    const meta = join(ws.dir, `${id}.meta.json`);
    const before = await Deno.readTextFile(meta);
    const result = await runCli(["verify", id], { cwd: ws.root, env: ENV });
    assert.equal(result.code, ExitCode.Failure);
    assert.match(result.stderr, /^Error: Cannot verify backup ".*": hook before "false" /m);
    assert.equal(await Deno.readTextFile(meta), before);
  });
});
