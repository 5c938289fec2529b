/**
 * Copies of backups in a real S3 bucket (radosgw): `copy --to/--from` byte for byte, `auto
 * --once --copy-to` from a local directory, `copies` in the config with their own retention,
 * and `status` reporting each copy destination.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { createIn, listIds, s3Cli, withS3Run } from "../helpers/s3_cli.ts";

const DAY = 24 * 60 * 60 * 1000;

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

Deno.test("copy --to and --from round-trip a backup with a byte-identical sidecar, and a second copy is a no-op", async () => {
  await withS3Run(async (run) => {
    const url = run.bucket.url("copies");
    const id = await createIn(run, run.ws.dir);
    const sidecar = await Deno.readFile(join(run.ws.dir, `${id}.meta.json`));
    const data = await Deno.readFile(join(run.ws.dir, `${id}.sql.gz`));

    const up = await s3Cli(run, ["copy", id.slice(-10), "--to", url, "--dir", run.ws.dir]);
    assert.equal(up.code, 0, up.stderr);
    assert.match(
      up.stdout,
      new RegExp(`^Copied ${id} from ${run.ws.dir} to ${url} \\(\\S+ B, checksum verified\\)\n$`),
    );
    assert.deepEqual(await run.bucket.read(`copies/${id}.meta.json`), sidecar);
    assert.deepEqual(await run.bucket.read(`copies/${id}.sql.gz`), data);
    const again = await s3Cli(run, ["copy", id, "--to", url, "--dir", run.ws.dir]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, `${url} already holds ${id}: nothing was copied\n`);

    const elsewhere = join(run.ws.root, "elsewhere");
    const down = await s3Cli(run, ["copy", id, "--from", url, "--dir", elsewhere]);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, new RegExp(`^Copied ${id} from ${url} to ${elsewhere} `));
    assert.deepEqual(await Deno.readFile(join(elsewhere, `${id}.meta.json`)), sidecar);
    const copied = await Deno.readFile(join(elsewhere, `${id}.sql.gz`));
    assert.equal(sha256(copied), JSON.parse(new TextDecoder().decode(sidecar)).file.sha256);
    const downAgain = await s3Cli(run, ["copy", id, "--from", url, "--dir", elsewhere]);
    assert.equal(downAgain.stdout, `${elsewhere} already holds ${id}: nothing was copied\n`);
    const verified = await s3Cli(run, ["verify", id, "--dir", elsewhere]);
    assert.equal(verified.code, 0, verified.stdout);
  });
});

Deno.test("each copy destination is cleaned by its own retention: 3 kept locally, 1 in the bucket", async () => {
  await withS3Run(async (run) => {
    const offsite = run.bucket.url("offsite");
    const config = join(run.ws.root, "backup-manager.json");
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        database: run.ws.database,
        backupDir: run.ws.dir,
        retention: { keepLast: 3 },
        copies: [{ url: offsite, retention: { keepLast: 1 } }],
      }),
    );
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const result = await s3Cli(run, ["create", "--format", "json"], run.ws.root);
      assert.equal(result.code, 0, result.stderr);
      ids.push(JSON.parse(result.stdout).id);
      run.clock.advance(DAY);
    }
    assert.deepEqual(await listIds(run, offsite), [...ids].reverse(), "every new backup is copied");

    const cleaned = await s3Cli(run, ["cleanup"], run.ws.root);
    assert.equal(cleaned.code, 0, cleaned.stderr);
    assert.match(cleaned.stdout, new RegExp(`^Store ${run.ws.dir}\nPolicy: keep the last 3`));
    assert.match(cleaned.stdout, new RegExp(`\nStore ${offsite}\nPolicy: keep the last 1`));
    assert.deepEqual(await listIds(run, run.ws.dir), [...ids].reverse());
    assert.deepEqual(await listIds(run, offsite), [ids[2]]);
  });
});

Deno.test("status reports a bucket's figures and, for each copy destination, its copies and lag", async () => {
  await withS3Run(async (run) => {
    const primary = run.bucket.url("primary");
    const offsite = run.bucket.url("offsite");
    const withCopies = join(run.ws.root, "with-copies.json");
    const withoutCopies = join(run.ws.root, "without-copies.json");
    const base = { database: run.ws.database, backupDir: primary };
    await Deno.writeTextFile(withCopies, JSON.stringify({ ...base, copies: [{ url: offsite }] }));
    await Deno.writeTextFile(withoutCopies, JSON.stringify(base));

    const first = await createIn(run, primary, ["--config", withCopies]);
    const status = await s3Cli(run, ["status", "--config", withCopies, "--format", "json"]);
    assert.equal(status.code, 0, status.stderr);
    const report = JSON.parse(status.stdout);
    assert.equal(report.backupDir, primary);
    assert.equal(report.totalBackups, 1);
    assert.equal(report.goodBackups, 1);
    assert.equal(report.freeBytes, null);
    assert.deepEqual(report.destinations, [{
      location: offsite,
      goodCopies: 1,
      newestGoodCopyDate: "2026-11-23T10:15:00.000Z",
      newestGoodCopyAgeMs: 0,
      missingNewest: null,
      incompleteFiles: 0,
      error: null,
    }]);

    // a backup taken without the copy: the destination lags
    run.clock.advance(60 * 60 * 1000);
    const second = await createIn(run, primary, ["--config", withoutCopies]);
    const text = await s3Cli(run, ["status", "--config", withCopies]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^Backups in ${primary}: 2 \\(2 good\\)\n`));
    assert.match(text.stdout, /\n {2}free space {8}unknown\n/);
    assert.match(
      text.stdout,
      new RegExp(
        `\n {2}copy {14}${offsite}: 1 good, newest 2026-11-23T10:15:00.000Z, 1h 0m ago \\(lacks ${second}\\)\n`,
      ),
    );
    assert.match(
      text.stdout,
      new RegExp(
        `- warning: copy destination "${offsite}" lags: the newest backup "${second}" is not copied yet\n`,
      ),
    );
    assert.deepEqual(await listIds(run, offsite), [first]);
  });
});

Deno.test("auto --once with --copy-to keeps the backup in the local directory and copies it to S3", async () => {
  await withS3Run(async (run) => {
    const offsite = run.bucket.url("offsite");
    const result = await s3Cli(run, [
      "auto",
      "--once",
      "--database",
      run.ws.database,
      "--dir",
      run.ws.dir,
      "--copy-to",
      offsite,
    ]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const local = await listIds(run, run.ws.dir);
    assert.equal(local.length, 1);
    const [id] = local;
    assert.match(result.stdout, /run finished/);
    assert.deepEqual(await listIds(run, offsite), [id]);
    assert.deepEqual(
      await run.bucket.read(`offsite/${id}.sql.gz`),
      await Deno.readFile(join(run.ws.dir, `${id}.sql.gz`)),
    );
    const verified = await s3Cli(run, ["verify", "--all", "--dir", offsite]);
    assert.equal(verified.code, 0, verified.stdout);
  });
});
