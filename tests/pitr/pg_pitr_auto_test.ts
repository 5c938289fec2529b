/**
 * `auto` with `pitr.baseBackupEvery` takes PostgreSQL base backups beside its schedule, anchored
 * on the newest one in the store, each audited and logged; a signal stops it, and a restore from
 * the newest one reaches what was committed before it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { startArchivingCluster } from "../helpers/pg_archiving.ts";
import { Interrupts } from "../../src/cli/interrupts.ts";
import { systemClock } from "../../src/core/clock.ts";
import { sleep } from "../helpers/pitr_writer.ts";

Deno.test("auto with pitr.baseBackupEvery takes base backups beside its schedule until the signal", async () => {
  const root = await Deno.makeTempDir({ prefix: "backup-manager-pg-auto-" });
  const archiving = await startArchivingCluster({
    root,
    config: { pitr: { baseBackupEvery: "4s" } },
  });
  try {
    await archiving.sql.unsafe("CREATE TABLE t (n int)");
    await archiving.archiveCurrent(); // the archiver (postgres) makes <store>/pitr/ first
    const interrupts = new Interrupts();
    const running = runCli(["--config", archiving.configPath, "auto", "--every", "1h"], {
      clock: systemClock,
      interrupts,
    });
    const bases = async () =>
      (await Array.fromAsync(Deno.readDir(join(archiving.backupDir, "pitr"))))
        .filter((e) => /^base\.[0-9TZ]+\.json$/.test(e.name)).length;
    const deadline = Date.now() + 90_000;
    try {
      while ((await bases()) < 2 && Date.now() < deadline) await sleep(250);
    } finally {
      interrupts.receive();
    }
    const result = await running;
    assert.equal(result.code, 0, result.stderr + result.stdout);
    assert.ok((await bases()) >= 2, result.stdout);
    assert.match(result.stdout, /base backup created \d{8}T\d{9}Z \(.*, WAL from [0-9A-F]{24}\)/);
    const audit = await Deno.readTextFile(join(archiving.backupDir, "audit.jsonl"));
    const lines = audit.trim().split("\n").map((l) => JSON.parse(l));
    const created = lines.filter((l) => l.action === "base-backup" && l.outcome === "ok");
    assert.ok(created.length >= 2);
    assert.equal(created[0].actor, "scheduler");

    await archiving.sql.unsafe("INSERT INTO t SELECT generate_series(1, 10)");
    await archiving.archiveCurrent();
    const dry = await runCli(
      [
        "--config",
        archiving.configPath,
        "restore",
        "--at",
        "latest",
        "--dry-run",
        "--format",
        "json",
      ],
      { clock: systemClock },
    ); // as root, as auto ran: its files are root's (mode 0600)
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(JSON.parse(dry.stdout).base.id, created.at(-1).target);
  } finally {
    await archiving.stop();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});
