/**
 * S3 multipart uploads that were never completed, on a real radosgw: an upload names no owner, so
 * it is judged by age. `cleanup --dry-run` shows it, `cleanup` aborts it once older than 15
 * minutes (kept while it may belong to a run in progress), and so does the next run that takes
 * the lock; each abort is audited.
 */
import assert from "node:assert/strict";
import { FakeClock } from "../helpers/cli.ts";
import { s3Cli, withS3Run } from "../helpers/s3_cli.ts";
import { S3Storage } from "../../src/storage/s3.ts";
import { readAudit } from "../../src/core/audit.ts";

const MINUTE = 60_000;

Deno.test("an S3 upload left open is kept while recent, then aborted by cleanup and by the next create", async () => {
  const clock = new FakeClock(new Date()); // S3 dates uploads by the real clock
  await withS3Run(async (run) => {
    const url = run.bucket.url("db");
    const storage = new S3Storage(url, { endpoint: run.bucket.server.endpoint, env: run.env });
    try {
      const open = async (key: string) => {
        const writer = await storage.create(key);
        await writer.write(new TextEncoder().encode("never completed"));
      };
      await open("full_20261123T090000000Z.sql.gz");

      const incomplete = async (args: string[]) => {
        const result = await s3Cli(run, ["cleanup", "--dir", url, "--format", "json", ...args]);
        assert.equal(result.code, 0, result.stderr);
        return JSON.parse(result.stdout).incomplete.map((i: { action: string }) => i.action);
      };
      assert.deepEqual(await incomplete(["--dry-run"]), ["keep"]);
      assert.deepEqual(await incomplete([]), ["keep"]);
      assert.deepEqual(await run.bucket.incompleteUploads(), [
        "db/full_20261123T090000000Z.sql.gz",
      ]);

      clock.advance(16 * MINUTE);
      assert.deepEqual(await incomplete(["--dry-run"]), ["delete"]);
      assert.equal((await run.bucket.incompleteUploads()).length, 1, "a dry run aborts nothing");
      assert.deepEqual(await incomplete([]), ["delete"]);
      assert.deepEqual(await run.bucket.incompleteUploads(), []);

      // the next run that takes the lock aborts one too, and says so
      await open("full_20261123T100000000Z.sql.gz");
      clock.advance(16 * MINUTE);
      const created = await s3Cli(run, ["create", "--database", run.ws.database, "--dir", url]);
      assert.equal(created.code, 0, created.stderr);
      assert.match(
        created.stderr,
        /^Removed leftover "full_20261123T100000000Z\.sql\.gz\.partial~\S+" of an interrupted run \(upload, \d+ B: left by an interrupted run\)$/m,
      );
      assert.deepEqual(await run.bucket.incompleteUploads(), []);
      const sweeps = await readAudit(storage, { actions: ["sweep"] });
      assert.deepEqual(sweeps.map((e) => [e.outcome, e.details?.kind]), [
        ["ok", "upload"],
        ["ok", "upload"],
      ]);
    } finally {
      storage.close();
    }
  }, clock);
});
