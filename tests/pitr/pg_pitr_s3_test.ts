/**
 * PostgreSQL point-in-time recovery on an S3 store (a real radosgw) with age encryption: the
 * archiver pushes every WAL segment encrypted into the bucket, the base backup goes there
 * encrypted too, and `restore --at` (with the identity) brings back exactly the rows committed
 * by an instant and `--at latest` everything archived; without the identity it is refused.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startArchivingCluster, withRestored } from "../helpers/pg_archiving.ts";
import { ageKeygen, s3Env, withBucket } from "../helpers/s3_cli.ts";
import { sleep } from "../helpers/pitr_writer.ts";

Deno.test("PostgreSQL point in time on S3, encrypted: restore --at and --at latest from the bucket", async () => {
  await withBucket(async (bucket) => {
    const root = await Deno.makeTempDir({ prefix: "backup-manager-pg-pitr-s3-" });
    const key = await ageKeygen(root);
    await Deno.chmod(key.identityFile, 0o600);
    await new Deno.Command("chown", { args: ["postgres", key.identityFile] }).output();
    const archiving = await startArchivingCluster({
      root,
      backupDir: bucket.url("db-1"),
      config: { encryption: { recipients: [key.recipient] } },
      env: s3Env(bucket.server, root),
    });
    const { sql, cli } = archiving;
    try {
      await sql.unsafe("CREATE TABLE marks (n int PRIMARY KEY, body bytea NOT NULL)");
      const base = await cli(["create", "--type", "base", "--format", "json"]);
      assert.equal(base.code, 0, base.stderr);
      const manifest = JSON.parse(base.stdout);
      assert.equal(manifest.stored.encrypted, true);
      for (let n = 1; n <= 60; n++) {
        await sql`INSERT INTO marks VALUES (${n}, decode(repeat(md5(${String(n)}), 60), 'hex'))`;
        await sleep(40);
      }
      await archiving.archiveCurrent();

      const keys = await bucket.keys("db-1/pitr/");
      const segment = keys.find((k) => /wal\.[0-9A-F]{24}\.gz$/.test(k))!;
      const stored = await bucket.read(segment);
      assert.equal(new TextDecoder().decode(stored.slice(0, 21)), "age-encryption.org/v1");

      const commits = (await sql`
        SELECT n, pg_xact_commit_timestamp(xmin) AS at FROM marks ORDER BY n`) as unknown as {
        n: number;
        at: Date;
      }[];
      const at = new Date((commits[29].at.getTime() + commits[30].at.getTime()) / 2);

      const sealed = await cli(["verify", "--pitr"]);
      assert.equal(sealed.code, 0, sealed.stderr);
      assert.match(
        sealed.stdout,
        /^PASS .* objects checked \(\d+ encrypted: only their stored bytes' SHA-256/,
      );
      const opened = await cli(["verify", "--pitr", "--identity", key.identityFile]);
      assert.equal(opened.code, 0, opened.stderr);
      assert.match(opened.stdout, /^PASS .* objects checked\n$/);

      const denied = await cli([
        "restore",
        "--at",
        at.toISOString(),
        "--to-datadir",
        join(root, "denied"),
      ]);
      assert.notEqual(denied.code, 0);
      assert.equal(await Deno.stat(join(root, "denied")).then(() => true, () => false), false);

      for (
        const [name, target, expected] of [
          ["instant", at.toISOString(), 30],
          ["latest", "latest", 60],
        ] as const
      ) {
        const dir = join(root, name);
        const restore = await cli([
          "restore",
          "--at",
          target,
          "--to-datadir",
          dir,
          "--identity",
          key.identityFile,
          "--check",
        ]);
        assert.equal(restore.code, 0, restore.stderr);
        await withRestored(dir, root, name, async (restored) => {
          const rows = await restored`SELECT n FROM marks ORDER BY n`;
          assert.deepEqual(rows.map((r) => r.n), commits.slice(0, expected).map((c) => c.n));
        });
      }
    } finally {
      await archiving.stop();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  });
});
