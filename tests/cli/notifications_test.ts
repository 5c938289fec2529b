/**
 * Notifications and pings from the command line, end to end: `create` against real SQLite files,
 * a real HTTP receiver for hooks and pings, settings from the environment or a config file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeClock, runCli } from "../helpers/cli.ts";
import { type HttpReceiver, withReceiver } from "../helpers/http_receiver.ts";
import { listNames, makeDatabase, withWorkspace, type Workspace } from "../helpers/workspace.ts";

const UUID = "5f0c-secret-uuid";

function env(receiver: HttpReceiver, on = "failure,success"): Record<string, string> {
  return {
    BACKUP_WEBHOOK_URL: `${receiver.url}/hook`,
    BACKUP_HEALTHCHECK_URL: `${receiver.url}/ping/${UUID}`,
    BACKUP_NOTIFY_ON: on,
  };
}

function create(ws: Workspace, options: { env?: Record<string, string>; extra?: string[] } = {}) {
  return runCli(
    [
      "create",
      "--database",
      ws.database,
      "--dir",
      ws.dir,
      "--format",
      "json",
      ...options.extra ?? [],
    ],
    { clock: new FakeClock(), env: options.env },
  );
}

/** What the receiver saw: pings as `ping <stage> <body>`, hooks as `hook <event>`. */
function seen(receiver: HttpReceiver): string[] {
  return receiver.requests.map((r) =>
    r.path === "/hook"
      ? `hook ${JSON.parse(r.body).event}`
      : `ping ${r.path.replace(`/ping/${UUID}`, "") || "/"} ${r.body}`.trim()
  );
}

Deno.test("create pings start, then success with a success notification", async () => {
  await withReceiver(200, async (receiver) => {
    await withWorkspace(async (ws) => {
      makeDatabase(ws.database);
      const result = await create(ws, { env: env(receiver) });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "");
      const { id } = JSON.parse(result.stdout);
      const events = seen(receiver);
      assert.equal(events[0], "ping /start");
      assert.deepEqual(events.slice(1).sort(), ["hook success", `ping / backup ${id}`]);
      const hook = JSON.parse(receiver.requests.find((r) => r.path === "/hook")!.body);
      assert.equal(hook.backupId, id);
      assert.equal(hook.database, ws.database);
    });
  });
});

Deno.test("create of a missing database pings fail and notifies the failure, then exits 3", async () => {
  await withReceiver(200, async (receiver) => {
    await withWorkspace(async (ws) => {
      const result = await create(ws, { env: env(receiver) });
      assert.equal(result.code, 3);
      const message =
        `Cannot back up "${ws.database}": the database does not exist (check --database or DATABASE_URL)`;
      assert.equal(result.stderr, `Error: ${message}\n`);
      const events = seen(receiver);
      assert.equal(events[0], "ping /start");
      assert.deepEqual(events.slice(1).sort(), ["hook failure", `ping /fail ${message}`]);
      const hook = JSON.parse(receiver.requests.find((r) => r.path === "/hook")!.body);
      assert.equal(hook.error, message);
    });
  });
});

Deno.test("create still succeeds when the webhook answers 500, with one warning", async () => {
  await withReceiver(500, async (receiver) => {
    await withWorkspace(async (ws) => {
      makeDatabase(ws.database);
      const result = await create(ws, {
        env: { BACKUP_SLACK_WEBHOOK_URL: `${receiver.url}/T0/B0/x`, BACKUP_NOTIFY_ON: "success" },
      });
      assert.equal(result.code, 0);
      assert.equal(
        result.stderr,
        `Warning: Cannot send the success notification by webhook "${receiver.url}/…": HTTP 500 Internal Server Error (backups are not affected)\n`,
      );
      assert.equal((await listNames(ws.dir)).filter((n) => n.endsWith(".meta.json")).length, 1);
    });
  });
});

Deno.test("create still succeeds when the webhook and the pings hang, after the configured timeout", async () => {
  await withReceiver("hang", async (receiver) => {
    await withWorkspace(async (ws) => {
      makeDatabase(ws.database);
      const config = join(ws.root, "backup-manager.json");
      await Deno.writeTextFile(
        config,
        JSON.stringify({ notifications: { on: ["success"], timeout: "200ms" } }),
      );
      const started = performance.now();
      const result = await create(ws, {
        env: env(receiver, "success"),
        extra: ["--config", config],
      });
      assert.ok(performance.now() - started < 5000, "bounded by the timeout");
      assert.equal(result.code, 0);
      assert.deepEqual(result.stderr.split("\n").filter(Boolean).sort(), [
        `Warning: Cannot send ping "${receiver.url}/…" (start): no answer within 0.2 s (backups are not affected)`,
        `Warning: Cannot send ping "${receiver.url}/…" (success): no answer within 0.2 s (backups are not affected)`,
        `Warning: Cannot send the success notification by webhook "${receiver.url}/…": no answer within 0.2 s (backups are not affected)`,
      ]);
      assert.ok(!result.stderr.includes(UUID));
      assert.equal((await listNames(ws.dir)).filter((n) => n.endsWith(".meta.json")).length, 1);
    });
  });
});

Deno.test("create without notification settings sends nothing and prints no warning", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const result = await create(ws);
    assert.equal(result.code, 0);
    assert.equal(result.stderr, "");
  });
});

function auto(ws: Workspace, extra: string[], options: { env?: Record<string, string> } = {}) {
  return runCli(["auto", "--once", "--database", ws.database, "--dir", ws.dir, ...extra], {
    clock: new FakeClock("2026-11-23T10:15:00.000Z"),
    env: options.env,
  });
}

Deno.test("auto --once pings start, then success with a success notification, before it exits", async () => {
  await withReceiver(200, async (receiver) => {
    await withWorkspace(async (ws) => {
      makeDatabase(ws.database);
      const result = await auto(ws, [], { env: env(receiver) });
      assert.equal(result.code, 0, result.stderr);
      const events = seen(receiver);
      assert.equal(events[0], "ping /start");
      assert.deepEqual(events.slice(1).sort(), [
        "hook success",
        "ping / backup full_20261123T101500000Z",
      ]);
      assert.ok(!result.stdout.includes("warn"), result.stdout);
    });
  });
});

Deno.test("auto --once that fails after its retries pings fail and notifies once, after the last attempt", async () => {
  await withReceiver(200, async (receiver) => {
    await withWorkspace(async (ws) => {
      const result = await auto(ws, ["--retries", "1", "--retry-backoff", "1s"], {
        env: env(receiver),
      });
      assert.equal(result.code, 3);
      const error =
        `Cannot back up "${ws.database}": the database does not exist (check --database or DATABASE_URL)`;
      const events = seen(receiver);
      assert.deepEqual(events.slice(0, 2), ["ping /start", "ping /start"]);
      assert.deepEqual(events.slice(2).sort(), ["hook failure", `ping /fail ${error}`]);
    });
  });
});

Deno.test("auto --once logs a failing webhook as a warning line of its log and exits 0", async () => {
  await withReceiver(500, async (receiver) => {
    await withWorkspace(async (ws) => {
      makeDatabase(ws.database);
      const result = await auto(ws, ["--log-format", "json"], {
        env: { BACKUP_WEBHOOK_URL: `${receiver.url}/${UUID}`, BACKUP_NOTIFY_ON: "success" },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "");
      const warnings = result.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l))
        .filter((l) => l.level === "warn" || l.event === "warning");
      assert.equal(warnings.length, 1, result.stdout);
      assert.equal(
        warnings[0].message,
        `Cannot send the success notification by webhook "${receiver.url}/…": HTTP 500 Internal Server Error (backups are not affected)`,
      );
      assert.ok(!result.stdout.includes(UUID));
    });
  });
});
