/**
 * A restored server that becomes the primary and archives into the same store: its promotion
 * made a new timeline, and its WAL and history file continue the archive. A later `restore --at`
 * follows that timeline (history fetched through `wal-fetch`), to an instant on it exactly, and
 * `latest` to its end, while the old primary's files past the promotion are not on the way.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import postgres from "postgres";
import { startArchivingCluster, startRestored, withRestored } from "../helpers/pg_archiving.ts";
import { freePort } from "../helpers/pg_cluster.ts";
import { sleep } from "../helpers/pitr_writer.ts";

Deno.test("PostgreSQL: restores follow a promoted server's new timeline in the same archive", async () => {
  const root = await Deno.makeTempDir({ prefix: "backup-manager-pg-timeline-" });
  const archiving = await startArchivingCluster({ root });
  const { sql, cli } = archiving;
  const stops: (() => Promise<void>)[] = [];
  const query = (dir: string, name: string) =>
    withRestored(dir, root, name, async (db) => {
      const rows = await db`SELECT n FROM marks ORDER BY n`;
      const [{ timeline }] = await db`SELECT timeline_id AS timeline FROM pg_control_checkpoint()`;
      return { rows: rows.map((r) => r.n), timeline };
    });
  try {
    await sql.unsafe("CREATE TABLE marks (n int PRIMARY KEY)");
    const base = await cli(["create", "--type", "base"]);
    assert.equal(base.code, 0, base.stderr);
    for (let n = 1; n <= 10; n++) await sql`INSERT INTO marks VALUES (${n})`;
    await archiving.archiveCurrent();

    // the failover: a restore becomes the primary, archiving into the same store
    const primary = join(root, "primary");
    const restored = await cli(["restore", "--at", "latest", "--to-datadir", primary, "--check"]);
    assert.equal(restored.code, 0, restored.stderr);
    // the old primary keeps writing timeline 1 for a while: those rows are not on the new way
    for (let n = 1000; n < 1005; n++) await sql`INSERT INTO marks VALUES (${n})`;
    await archiving.archiveCurrent();

    const socketDir = join(root, "socket-primary");
    await Deno.mkdir(socketDir);
    const port = await freePort();
    stops.push(await startRestored(primary, socketDir, port, archiving.archiveCommand));
    const next = postgres(`postgres://postgres@127.0.0.1:${port}/postgres`, { max: 1 });
    let between: Date;
    try {
      for (let n = 11; n <= 20; n++) {
        await next`INSERT INTO marks VALUES (${n})`;
        if (n === 15) {
          await sleep(50);
          between = new Date();
          await sleep(50);
        }
      }
      const [{ name }] = await next`SELECT pg_walfile_name(pg_switch_wal()) AS name`;
      const deadline = Date.now() + 60_000;
      for (;;) {
        const [row] = await next`SELECT last_archived_wal FROM pg_stat_archiver`;
        if (row.last_archived_wal !== null && row.last_archived_wal >= name) break;
        if (Date.now() > deadline) {
          const log = await Deno.readTextFile(join(socketDir, "server.log")).catch(() => "");
          throw new Error(`${name} was not archived by the new primary: ${log.slice(-3000)}`);
        }
        await sleep(100);
      }
    } finally {
      await next.end();
    }
    const stored = (await Array.fromAsync(Deno.readDir(join(archiving.backupDir, "pitr"))))
      .map((e) => e.name);
    assert.ok(stored.includes("wal.00000002.history.json"), stored.join(" "));

    const latest = await cli([
      "restore",
      "--at",
      "latest",
      "--to-datadir",
      join(root, "latest"),
      "--check",
    ]);
    assert.equal(latest.code, 0, latest.stderr);
    const atLatest = await query(join(root, "latest"), "latest");
    assert.deepEqual(atLatest.rows, Array.from({ length: 20 }, (_, i) => i + 1));
    assert.equal(atLatest.timeline, 3);

    const instant = await cli([
      "restore",
      "--at",
      between!.toISOString(),
      "--to-datadir",
      join(root, "instant"),
      "--check",
    ]);
    assert.equal(instant.code, 0, instant.stderr);
    const atInstant = await query(join(root, "instant"), "instant");
    assert.deepEqual(atInstant.rows, Array.from({ length: 15 }, (_, i) => i + 1));
  } finally {
    for (const stop of stops) await stop();
    await archiving.stop();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});
