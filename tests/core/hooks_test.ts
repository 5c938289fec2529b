/**
 * Hooks with real processes (small shell scripts in the test's directory): order and environment
 * around create and restore, a failing `before` that stops the operation, timeouts that kill the
 * hook's process group, argv vs shell, no secrets, bounded output, audit entries.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createBackup } from "../../src/core/create.ts";
import { restoreBackup } from "../../src/core/restore.ts";
import type { ServiceContext } from "../../src/core/context.ts";
import type { OpsEvent } from "../../src/core/events.ts";
import { readAudit } from "../../src/core/audit.ts";
import { HookFailedError, UsageError } from "../../src/core/errors.ts";
import {
  type Hook,
  hookArgv,
  hookEnvironment,
  hookName,
  type HookSettings,
  withHooks,
} from "../../src/core/hooks.ts";
import { listBackups } from "../../src/core/catalog.ts";
import { SqliteEngine } from "../../src/engines/sqlite/sqlite_engine.ts";
import { engineFor } from "../../src/engines/registry.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { FakeClock } from "../helpers/cli.ts";
import {
  countRows,
  execSql,
  makeDatabase,
  sha256File,
  withWorkspace,
  type Workspace,
} from "../helpers/workspace.ts";
import { startCluster } from "../helpers/pg_cluster.ts";
import { psql } from "../helpers/pg_tools.ts";

/** What a hook script records: one line per run in `<root>/hooks.log`, its env in a file. */
const RECORDER = `#!/bin/sh
echo "$BACKUP_HOOK $BACKUP_OPERATION" >> "$OUT/hooks.log"
env > "$OUT/env.$BACKUP_OPERATION.$BACKUP_HOOK"
`;

async function script(ws: Workspace, name: string, text: string): Promise<string> {
  const path = join(ws.root, name);
  await Deno.writeTextFile(path, text);
  await Deno.chmod(path, 0o755);
  return path;
}

/** Reads an `env` dump into a record. */
async function readEnv(path: string): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const line of (await Deno.readTextFile(path)).split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) env[line.slice(0, at)] = line.slice(at + 1);
  }
  return env;
}

async function hookLog(ws: Workspace): Promise<string[]> {
  try {
    return (await Deno.readTextFile(join(ws.root, "hooks.log"))).split("\n").filter(Boolean);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/** A context on the workspace with `hooks`, collecting its events. */
function contextIn(
  ws: Workspace,
  hooks: Omit<HookSettings, "cwd" | "environment"> & Partial<HookSettings>,
): ServiceContext & { events: OpsEvent[] } {
  const events: OpsEvent[] = [];
  return {
    storage: new LocalStorage(ws.dir),
    engine: new SqliteEngine(),
    database: ws.database,
    clock: new FakeClock(),
    hooks: {
      cwd: ws.root,
      environment: { PATH: "/usr/bin:/bin", HOME: "/home/someone", OUT: "never passed" },
      ...hooks,
    },
    onEvent: (event) => events.push(event),
    events,
  };
}

const out = (ws: Workspace) => ({ OUT: ws.root });

Deno.test("hookEnvironment() passes only harmless variables of ours, then BACKUP_*, then the hook's own", () => {
  const ours = {
    PATH: "/usr/bin",
    HOME: "/root",
    LANG: "C.UTF-8",
    LC_ALL: "C",
    TZ: "UTC",
    TMPDIR: "/var/tmp",
    USER: "backup",
    DATABASE_URL: "postgres://u:secret@db/app",
    PGPASSWORD: "secret",
    AWS_SECRET_ACCESS_KEY: "secret",
    BACKUP_API_TOKEN: "secret",
    UNSET: undefined,
  };
  const cases: [
    string,
    Record<string, string | undefined>,
    Record<string, string>,
    Record<string, string>,
  ][] = [
    ["ours filtered", ours, {}, {
      PATH: "/usr/bin",
      HOME: "/root",
      LANG: "C.UTF-8",
      LC_ALL: "C",
      TZ: "UTC",
      TMPDIR: "/var/tmp",
      USER: "backup",
    }],
    ["no PATH: a default", {}, {}, { PATH: "/usr/local/bin:/usr/bin:/bin" }],
    ["own wins", { PATH: "/bin" }, { PATH: "/opt/bin", APP: "x" }, { PATH: "/opt/bin", APP: "x" }],
  ];
  for (const [name, given, own, expected] of cases) {
    assert.deepEqual(hookEnvironment(given, {}, own), expected, name);
  }
  assert.deepEqual(hookEnvironment({}, { BACKUP_ID: "a" }, { BACKUP_ID: "b" }).BACKUP_ID, "b");
});

Deno.test("hookName() is the name, else the program's base name, never the arguments", () => {
  const cases: [Hook, string][] = [
    [{ command: ["systemctl", "stop", "app"] }, "systemctl"],
    [{ command: ["./bin/upload.sh", "https://x/?token=secret"] }, "upload.sh"],
    [{ command: "curl -fsS https://hc-ping.com/uuid", shell: true }, "curl"],
    [{ command: ["x"], name: "stop app" }, "stop app"],
  ];
  for (const [hook, name] of cases) assert.equal(hookName(hook), name);
});

Deno.test("hookArgv() runs a list as it is, a shell string by /bin/sh -c, and refuses a bare string", () => {
  assert.deepEqual(hookArgv({ command: ["./up.sh", "a b"] }, "/srv"), ["/srv/up.sh", "a b"]);
  assert.deepEqual(hookArgv({ command: ["systemctl", "stop"] }, "/srv"), ["systemctl", "stop"]);
  assert.deepEqual(hookArgv({ command: "echo $HOME", shell: true }, "/srv"), [
    "/bin/sh",
    "-c",
    "echo $HOME",
  ]);
  assert.throws(
    () => hookArgv({ command: "systemctl stop app" }, "/srv"),
    (error: unknown) =>
      error instanceof UsageError &&
      error.message ===
        'Cannot run hook "systemctl": a command given as one string needs "shell": true (or give it as a list: ["systemctl", "stop", "app"])',
  );
});

Deno.test("createBackup() runs before, then after with the new backup's facts; the failure hooks not", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const recorder = await script(ws, "record.sh", RECORDER);
    const hook = { command: [recorder], env: out(ws) };
    const context = contextIn(ws, { before: [hook], after: [hook], failure: [hook] });
    const meta = await createBackup(context);
    assert.deepEqual(await hookLog(ws), ["before create", "after create"]);
    const before = await readEnv(join(ws.root, "env.create.before"));
    const after = await readEnv(join(ws.root, "env.create.after"));
    assert.equal(before.BACKUP_ID, undefined);
    assert.equal(before.BACKUP_TYPE, "full");
    assert.equal(after.BACKUP_ID, meta.id);
    assert.equal(after.BACKUP_TYPE, "full");
    assert.equal(after.BACKUP_ENGINE, "sqlite");
    assert.equal(after.BACKUP_DATABASE, ws.database);
    assert.equal(after.BACKUP_STORE, ws.dir);
    assert.equal(after.BACKUP_FILE, join(ws.dir, meta.file.name));
    assert.equal(after.BACKUP_SHA256, await sha256File(after.BACKUP_FILE));
    assert.equal(after.BACKUP_SIZE, String(meta.sizes.compressed));
    assert.match(after.BACKUP_DURATION_MS, /^\d+$/);
    assert.equal(after.HOME, "/home/someone");
    assert.equal(after.OUT, ws.root); // the hook's own env, not ours ("never passed")
    const audit = (await readAudit(ws.dir)).reverse().map((e) => [e.action, e.target, e.outcome]);
    assert.deepEqual(audit, [
      ["hook", "record.sh", "ok"],
      ["hook", "record.sh", "ok"],
      ["create", meta.id, "ok"],
    ]);
  });
});

Deno.test("a failing before hook stops createBackup before anything is written and runs the failure hooks", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const recorder = await script(ws, "record.sh", RECORDER);
    const failing = await script(ws, "stop.sh", "#!/bin/sh\necho cannot stop >&2\nexit 3\n");
    const context = contextIn(ws, {
      before: [{ command: [failing] }],
      after: [{ command: [recorder], env: out(ws) }],
      failure: [{ command: [recorder], env: out(ws) }],
    });
    const message =
      `Cannot back up "${ws.database}": hook before "stop.sh" exited with status 3 (nothing was done; its output is above)`;
    await assert.rejects(
      () => createBackup(context),
      (error: unknown) => error instanceof HookFailedError && error.message === message,
    );
    assert.deepEqual(await hookLog(ws), ["failure create"]);
    const env = await readEnv(join(ws.root, "env.create.failure"));
    assert.equal(env.BACKUP_ERROR, message);
    assert.deepEqual(await listBackups(context.storage), []);
    const lines = context.events.filter((e) => e.type === "hook-output");
    assert.deepEqual(lines.map((e) => [e.hook, e.stage, e.stream, e.line]), [
      ["stop.sh", "before", "stderr", "cannot stop"],
    ]);
    const audit = (await readAudit(ws.dir)).reverse().map((e) => [e.action, e.outcome, e.error]);
    assert.deepEqual(audit, [
      ["hook", "failed", 'hook before "stop.sh" exited with status 3'],
      ["hook", "ok", undefined],
      ["create", "failed", message],
    ]);
  });
});

Deno.test("restoreBackup() runs the restore hooks with the backup's facts; its safety backup runs no create hook", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 3 });
    const recorder = await script(ws, "record.sh", RECORDER);
    const plain = contextIn(ws, {});
    const meta = await createBackup(plain);
    execSql(ws.database, "INSERT INTO accounts (name, balance) VALUES ('late', 1)");
    const hook = { command: [recorder], env: out(ws), on: ["create", "restore"] as const };
    const context = contextIn(ws, { before: [hook], after: [hook], failure: [hook] });
    const result = await restoreBackup(context, meta.id, { force: true });
    assert.ok(result.safetyBackup);
    assert.deepEqual(await hookLog(ws), ["before restore", "after restore"]);
    const before = await readEnv(join(ws.root, "env.restore.before"));
    assert.equal(before.BACKUP_ID, meta.id);
    assert.equal(before.BACKUP_DATABASE, ws.database);
    assert.equal(before.BACKUP_FILE, join(ws.dir, meta.file.name));
    assert.equal(before.BACKUP_SHA256, meta.file.sha256);
    assert.equal(countRows(ws.database, "accounts"), 3);
  });
});

Deno.test("a failing before hook leaves the restore's target untouched; a mistyped id runs no hook", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 3 });
    const recorder = await script(ws, "record.sh", RECORDER);
    const meta = await createBackup(contextIn(ws, {}));
    execSql(ws.database, "INSERT INTO accounts (name, balance) VALUES ('late', 1)");
    const digest = await sha256File(ws.database);
    const context = contextIn(ws, {
      before: [{ command: ["false"], name: "stop app" }],
      failure: [{ command: [recorder], env: out(ws) }],
    });
    await assert.rejects(
      () => restoreBackup(context, meta.id, { force: true }),
      (error: unknown) =>
        error instanceof HookFailedError &&
        error.message ===
          `Cannot restore backup "${meta.id}" into "${ws.database}": hook before "stop app" exited with status 1 (nothing was done; its output is above)`,
    );
    assert.equal(await sha256File(ws.database), digest);
    assert.equal((await listBackups(context.storage)).length, 1); // no safety backup either
    assert.deepEqual(await hookLog(ws), ["failure restore"]);
    await assert.rejects(() => restoreBackup(context, "nosuchid", { force: true }));
    assert.deepEqual(await hookLog(ws), ["failure restore"]);
  });
});

Deno.test("a hook past its timeout is killed with the children it started (its process group)", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const sleeper = await script(
      ws,
      "sleeper.sh",
      `#!/bin/sh\nsleep 60 &\necho $! > "${ws.root}/child.pid"\nsleep 60\n`,
    );
    const context = contextIn(ws, { before: [{ command: [sleeper], timeoutMs: 300 }] });
    const started = performance.now();
    await assert.rejects(
      () => createBackup(context),
      (error: unknown) =>
        error instanceof HookFailedError &&
        error.message ===
          `Cannot back up "${ws.database}": hook before "sleeper.sh" did not finish within 300ms and was killed (nothing was done; its output is above)`,
    );
    assert.ok(performance.now() - started < 5_000);
    const child = Number(await Deno.readTextFile(join(ws.root, "child.pid")));
    assert.equal(await alive(child), false, "the hook's child was killed too");
    assert.deepEqual(await listBackups(context.storage), []);
  });
});

Deno.test("a hook that ignores SIGTERM gets SIGKILL after the grace", async () => {
  await withWorkspace(async (ws) => {
    const stubborn = await script(ws, "stubborn.sh", "#!/bin/sh\ntrap '' TERM\nsleep 60\n");
    const context = contextIn(ws, {
      before: [{ command: [stubborn], timeoutMs: 200 }],
      killGraceMs: 300,
    });
    const started = performance.now();
    await assert.rejects(
      () => withHooks(context, { operation: "create", what: "test" }, () => Promise.resolve(1)),
      HookFailedError,
    );
    const took = performance.now() - started;
    assert.ok(took >= 450 && took < 5_000, `took ${took} ms`);
  });
});

/** Whether `pid` runs (a zombie does not count). */
async function alive(pid: number): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    try {
      const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
      if (/\) Z /.test(stat)) return false;
    } catch {
      return false;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

Deno.test("an argv hook gets its arguments literally; a shell hook is run by /bin/sh", async () => {
  await withWorkspace(async (ws) => {
    const args = await script(
      ws,
      "args.sh",
      `#!/bin/sh\nprintf '%s\\n' "$#" "$1" "$2" > "${ws.root}/args"\n`,
    );
    const context = contextIn(ws, {
      before: [
        { command: [args, "with spaces", "$HOME"] },
        { command: `echo "$HOME" "$BACKUP_HOOK" > shell.out`, shell: true },
      ],
    });
    await withHooks(context, { operation: "create", what: "test" }, () => Promise.resolve(1));
    assert.equal(await Deno.readTextFile(join(ws.root, "args")), "2\nwith spaces\n$HOME\n");
    assert.equal(await Deno.readTextFile(join(ws.root, "shell.out")), "/home/someone before\n");
  });
});

Deno.test("a hook sees none of our secret variables, nor the database URL's password", async () => {
  const cluster = await startCluster();
  try {
    await withWorkspace(async (ws) => {
      await psql(cluster.url, "CREATE ROLE keeper LOGIN PASSWORD 'hunter2-secret'");
      await psql(cluster.url, "CREATE DATABASE app OWNER keeper");
      const url = `postgres://keeper:hunter2-secret@127.0.0.1:${cluster.port}/app`;
      const recorder = await script(ws, "record.sh", RECORDER);
      const secrets = {
        DATABASE_URL: url,
        PGPASSWORD: "hunter2-secret",
        AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
        AWS_SECRET_ACCESS_KEY: "hunter2-secret",
        AWS_SESSION_TOKEN: "hunter2-secret",
        BACKUP_API_TOKEN: "hunter2-secret",
        BACKUP_WEBHOOK_URL: "https://hooks.example/hunter2-secret",
      };
      const context: ServiceContext = {
        ...contextIn(ws, {
          before: [{ command: [recorder], env: out(ws) }],
          after: [{ command: [recorder], env: out(ws) }],
          environment: { PATH: "/usr/bin:/bin", ...secrets },
        }),
        engine: engineFor(url, {}),
        database: url,
      };
      await createBackup(context);
      for (const stage of ["before", "after"]) {
        const text = await Deno.readTextFile(join(ws.root, `env.create.${stage}`));
        assert.doesNotMatch(text, /hunter2|AKIAEXAMPLE/);
        for (const name of Object.keys(secrets)) {
          assert.doesNotMatch(text, new RegExp(`^${name}=`, "m"));
        }
        const env = await readEnv(join(ws.root, `env.create.${stage}`));
        assert.equal(env.BACKUP_ENGINE, "postgres");
        assert.match(env.BACKUP_DATABASE, /^postgres(ql)?:\/\/keeper@/);
      }
    });
  } finally {
    await cluster.stop();
  }
});

Deno.test("a hook's huge output is bounded: lines within the budget, the rest counted", async () => {
  await withWorkspace(async (ws) => {
    const context = contextIn(ws, {
      after: [{ command: "yes 'a line of output' | head -n 1000000", shell: true }],
      maxOutputChars: 10_000,
    });
    await withHooks(context, { operation: "create", what: "test" }, () => Promise.resolve(1));
    const lines = context.events.flatMap((e) => e.type === "hook-output" ? [e.line] : []);
    const shown = lines.slice(0, -1).reduce((sum, line) => sum + line.length + 1, 0);
    assert.ok(shown <= 10_000 + 20, `${shown} characters shown`);
    assert.equal(lines[0], "a line of output");
    assert.match(lines.at(-1)!, /^\(\d+ more characters of output not shown\)$/);
    const dropped = Number(/\d+/.exec(lines.at(-1)!)![0]);
    assert.equal(shown + dropped, 17_000_000);
  });
});

Deno.test("a failing after hook is a warning: the backup stays", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const context = contextIn(ws, { after: [{ command: ["false"], name: "upload" }] });
    const meta = await createBackup(context);
    assert.deepEqual((await listBackups(context.storage)).map((b) => b.id), [meta.id]);
    const warnings = context.events.flatMap((e) => e.type === "warning" ? [e.message] : []);
    assert.deepEqual(warnings, [
      'Hook after "upload" exited with status 1 (the create succeeded all the same)',
    ]);
  });
});

Deno.test("a hook that cannot start fails its before with a one-line reason; hooks of other operations do not run", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const context = contextIn(ws, {
      before: [
        { command: ["/nonexistent/program"], on: ["create"] },
        { command: ["false"], on: ["verify"] },
      ],
    });
    await assert.rejects(
      () => createBackup(context),
      (error: unknown) =>
        error instanceof HookFailedError &&
        /^Cannot back up ".*": hook before "program" could not start: .+ \(check its command and cwd\) \(nothing was done; its output is above\)$/
          .test(error.message),
    );
    const ok = await withHooks(
      context,
      { operation: "cleanup", what: "test" },
      () => Promise.resolve("ran"),
    );
    assert.equal(ok, "ran");
  });
});
