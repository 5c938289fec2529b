/**
 * PostgreSQL point-in-time recovery end to end, the way the README sets it up: a throwaway
 * cluster with `archive_mode = on` whose `archive_command` is our `wal-push` (run by the server
 * as `postgres`, in its data directory), pgbench and an application writing, a base backup
 * (`create --type base`), then `restore --at` three instants into new data directories with
 * `--check`, each started and compared with what had committed by then (the source's own commit
 * timestamps are the oracle); a WAL segment removed from the archive is then a reported gap.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startArchivingCluster, withRestored } from "../helpers/pg_archiving.ts";
import { sleep } from "../helpers/pitr_writer.ts";
import { runCli } from "../helpers/cli.ts";
import { systemClock } from "../../src/core/clock.ts";

const BIN = Deno.env.get("PG_BIN") ?? "/usr/lib/postgresql/15/bin";

Deno.test("PostgreSQL: archived WAL and a base backup restore three instants exactly; a gap is refused", async () => {
  const root = await Deno.makeTempDir({ prefix: "backup-manager-pg-pitr-" });
  const archiving = await startArchivingCluster({ root });
  const { sql, cli, cluster } = archiving;
  try {
    await sql.unsafe("CREATE TABLE marks (n int PRIMARY KEY, note text NOT NULL)");
    await tool(`${BIN}/pgbench`, ["-i", "-s", "2", "-q", cluster.url]);
    let n = 0;
    const write = async (ms: number) => {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        n++;
        await sql`INSERT INTO marks VALUES (${n}, ${"note " + n})`;
        await sleep(30);
      }
    };
    await write(500);

    // a base backup killed before its manifest left its data: the next one removes it
    const orphan = join(archiving.backupDir, "pitr", "base.20200101T000000000Z.tar.gz");
    await Deno.mkdir(join(archiving.backupDir, "pitr"), { recursive: true });
    await Deno.writeFile(orphan, new Uint8Array(1000));
    await tool("chown", ["-R", "postgres", join(archiving.backupDir, "pitr")]);
    const base = await cli(["create", "--type", "base", "--format", "json"]);
    assert.equal(base.code, 0, base.stderr);
    const manifest = JSON.parse(base.stdout);
    assert.equal(await Deno.stat(orphan).then(() => true, () => false), false);
    assert.match(manifest.startWal, /^[0-9A-F]{24}$/);
    assert.equal(manifest.timeline, 1);

    await Promise.all([
      write(5_000),
      tool(`${BIN}/pgbench`, ["-c", "2", "-T", "5", "-n", cluster.url]),
    ]);
    await archiving.archiveCurrent();

    const commits = (await sql`
      SELECT n, pg_xact_commit_timestamp(xmin) AS at FROM marks ORDER BY n`) as unknown as {
      n: number;
      at: Date;
    }[];
    const after = commits.filter((c) => c.at.getTime() > Date.parse(manifest.stoppedAt) + 50);
    assert.ok(after.length > 40, `only ${after.length} rows after the base backup`);
    for (const [i, share] of [0.2, 0.5, 0.85].entries()) {
      const k = Math.floor(after.length * share);
      const at = new Date((after[k].at.getTime() + after[k + 1].at.getTime()) / 2);
      const dir = join(root, `restored-${i}`);
      const restore = await cli([
        "restore",
        "--at",
        at.toISOString(),
        "--to-datadir",
        dir,
        "--check",
        "--format",
        "json",
      ]);
      assert.equal(restore.code, 0, restore.stderr);
      const result = JSON.parse(restore.stdout);
      assert.equal(result.base.id, manifest.id);
      assert.equal(result.recovery.targetTime, at.toISOString());
      assert.ok(result.check.walRestored > 0);
      assert.ok(Date.parse(result.check.lastReplayedAt) <= at.getTime());

      const expected = commits.filter((c) => c.at.getTime() <= at.getTime()).map((c) => c.n);
      const [{ history }] = await sql.unsafe(
        `SELECT count(*)::int AS history FROM pgbench_history
          WHERE pg_xact_commit_timestamp(xmin) <= '${at.toISOString()}'`,
      );
      await withRestored(dir, root, String(i), async (restored) => {
        const rows = await restored`SELECT n FROM marks ORDER BY n`;
        assert.deepEqual(rows.map((r) => r.n), expected, `marks as of ${at.toISOString()}`);
        const [{ count }] = await restored`SELECT count(*)::int AS count FROM pgbench_history`;
        assert.equal(count, history, `pgbench_history as of ${at.toISOString()}`);
        const [{ recovering }] = await restored`SELECT pg_is_in_recovery() AS recovering`;
        assert.equal(recovering, false);
      });
    }

    // --txid: up to and including one application transaction
    const chosen = after[Math.floor(after.length * 0.6)];
    const [{ xid }] = await sql`SELECT xmin::text AS xid FROM marks WHERE n = ${chosen.n}`;
    const txDir = join(root, "restored-txid");
    const badMode = await cli([
      "restore",
      "--txid",
      xid,
      "--to-datadir",
      txDir,
      "--archive-mode",
      "no",
    ]);
    assert.equal(badMode.code, 2, badMode.stderr);
    const byTxid = await cli([
      "restore",
      "--txid",
      xid,
      "--to-datadir",
      txDir,
      "--check",
      "--archive-mode",
      "off",
    ]);
    assert.equal(byTxid.code, 0, byTxid.stderr);
    assert.match(byTxid.stdout, /archiving +off/);
    assert.match(
      await Deno.readTextFile(join(txDir, "postgresql.auto.conf")),
      /^archive_mode = off$/m,
    );
    assert.match(byTxid.stdout, new RegExp(`recovers to transaction ${xid}`));
    await withRestored(txDir, root, "txid", async (restored) => {
      const rows = await restored`SELECT n FROM marks ORDER BY n`;
      assert.deepEqual(
        rows.map((r) => r.n),
        commits.filter((c) => c.at.getTime() <= chosen.at.getTime()).map((c) => c.n),
      );
    });

    // a data directory that exists is never written over; --check as root is refused first
    const taken = await cli([
      "restore",
      "--at",
      "latest",
      "--to-datadir",
      join(root, "restored-0"),
    ]);
    assert.equal(taken.code, 6, taken.stderr);
    assert.match(taken.stderr, /exists and is not an empty directory/);
    const asRoot = await runCli(
      [
        "--config",
        archiving.configPath,
        "restore",
        "--at",
        "latest",
        "--to-datadir",
        join(root, "root"),
        "--check",
      ],
      { clock: systemClock },
    );
    assert.equal(asRoot.code, 2, asRoot.stderr);
    assert.match(asRoot.stderr, /Cannot --check as root/);
    assert.equal(await Deno.stat(join(root, "root")).then(() => true, () => false), false);

    // list --pitr and cleanup see the archive
    const listed = await cli(["list", "--pitr", "--format", "json"]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(JSON.parse(listed.stdout).baseBackups.map((b: { id: string }) => b.id), [
      manifest.id,
    ]);
    const cleanup = await cli(["cleanup", "--dry-run"]);
    assert.equal(cleanup.code, 0, cleanup.stderr);
    assert.match(cleanup.stdout, /Point-in-time store \(pitr.keepDays 7\): nothing past retention/);

    const verified = await cli(["verify", "--pitr"]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /^PASS .*pitr: \d+ objects checked\n$/);

    // a segment after the base backup goes missing: a restore past it is refused, naming it
    const list = (await Array.fromAsync(Deno.readDir(join(archiving.backupDir, "pitr"))))
      .map((e) => e.name).filter((name) => /^wal\.[0-9A-F]{24}\.json$/.test(name)).sort();
    const segments = list.map((name) => name.slice(4, 28)).filter((s) => s > manifest.stopWal);
    assert.ok(segments.length >= 3, `segments after the base backup: ${segments}`);
    const lost = segments[Math.floor(segments.length / 2)];
    await Deno.remove(join(archiving.backupDir, "pitr", `wal.${lost}.json`));
    await Deno.remove(join(archiving.backupDir, "pitr", `wal.${lost}.gz`));
    const late = new Date(commits.at(-1)!.at.getTime() - 20);
    const refused = await cli([
      "restore",
      "--at",
      late.toISOString(),
      "--to-datadir",
      join(root, "gap"),
    ]);
    assert.equal(refused.code, 5, refused.stderr);
    assert.match(refused.stderr, new RegExp(`WAL ${lost} is missing from the archive`));
    assert.equal(await Deno.stat(join(root, "gap")).then(() => true, () => false), false);
    const dry = await cli(["restore", "--at", "latest", "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`gap +${lost} missing`));
    const status = await cli(["status", "--format", "json"]);
    assert.match(status.stdout, new RegExp(lost));
    const failed = await cli(["verify", "--pitr"]);
    assert.equal(failed.code, 5, failed.stdout);
    assert.match(failed.stdout, new RegExp(`FAIL WAL chain: ${lost} missing`));
  } finally {
    await archiving.stop();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});

async function tool(command: string, args: string[]): Promise<void> {
  const output = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
  }
}
