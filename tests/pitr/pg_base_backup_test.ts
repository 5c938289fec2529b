/**
 * `create --type base` refusing the base backups that would restore nothing, with the same
 * failure notification as a dump's: a server that does not archive, and one whose
 * `archive_command` fails (the server then waits forever for its WAL: `pitr.walWait` ends the
 * wait). Nothing is left in the store either way, and `status` names the failing archiver.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { startCluster } from "../helpers/pg_cluster.ts";
import { withReceiver } from "../helpers/http_receiver.ts";
import { systemClock } from "../../src/core/clock.ts";
import { ExitCode } from "../../src/core/errors.ts";

async function withConfig(
  settings: Record<string, string>,
  extra: Record<string, unknown>,
  fn: (cli: (args: string[]) => ReturnType<typeof runCli>, store: string) => Promise<void>,
): Promise<void> {
  const cluster = await startCluster({ settings });
  const root = await Deno.makeTempDir({ prefix: "backup-manager-pg-base-" });
  try {
    const config = join(root, "backup-manager.json");
    const store = join(root, "store");
    await Deno.writeTextFile(
      config,
      JSON.stringify({ database: cluster.url, backupDir: store, ...extra }),
    );
    await fn((args) => runCli(["--config", config, ...args], { clock: systemClock }), store);
  } finally {
    await cluster.stop();
    await Deno.remove(root, { recursive: true });
  }
}

async function storeKeys(store: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(join(store, "pitr")))).map((e) => e.name);
  } catch {
    return [];
  }
}

Deno.test("create --type base: a server that does not archive is refused, and the failure notified", async () => {
  await withReceiver(200, async (receiver) => {
    await withConfig(
      {},
      { notifications: { webhooks: [{ url: `${receiver.url}/hook` }] } },
      async (cli, store) => {
        const result = await cli(["create", "--type", "base"]);
        assert.equal(result.code, ExitCode.Usage, result.stderr);
        assert.match(result.stderr, /^Error: Cannot take a base backup: archive_mode is off/);
        assert.equal(result.stderr.trim().split("\n").length, 1);
        assert.deepEqual(await storeKeys(store), []);
        assert.equal(receiver.requests.length, 1);
        const body = JSON.parse(receiver.requests[0].body);
        assert.equal(body.event, "failure");
        assert.match(body.error, /archive_mode is off/);
      },
    );
  });
});

Deno.test("create --type base: a failing archive_command ends after pitr.walWait, leaves nothing, and status says why", async () => {
  await withConfig(
    { archive_mode: "on", archive_command: "/bin/false" },
    { pitr: { walWait: "3s" } },
    async (cli, store) => {
      const started = Date.now();
      const result = await cli(["create", "--type", "base"]);
      assert.equal(result.code, ExitCode.Database, result.stderr);
      assert.match(result.stderr, /could not archive the WAL the base backup needs within 3s/);
      assert.ok(Date.now() - started < 60_000);
      assert.deepEqual(
        (await storeKeys(store)).filter((k) => k.startsWith("base.")),
        [],
        "no base backup data or manifest",
      );
      const status = await cli(["status", "--format", "json"]);
      assert.equal(status.code, 0, status.stderr);
      const report = JSON.parse(status.stdout);
      const reason = report.reasons.find((r: { rule: string }) => r.rule === "wal-archive");
      assert.match(reason?.message ?? "", /archive_command fails: .* and never succeeded/);
      assert.equal(report.systemHealth, "critical"); // and no backup at all
    },
  );
});

Deno.test("create --type base of a SQLite database is a usage error", async () => {
  const root = await Deno.makeTempDir({ prefix: "backup-manager-pg-base-" });
  try {
    const result = await runCli([
      "create",
      "--type",
      "base",
      "--database",
      join(root, "app.db"),
      "--dir",
      join(root, "store"),
    ]);
    assert.equal(result.code, ExitCode.Usage);
    assert.match(result.stderr, /a base backup is of a PostgreSQL server/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
