/**
 * Every command against a real S3 server (radosgw) with SQLite: create, list, verify, restore,
 * cleanup by tiers and pins, status with copy destinations, auto --once --copy-to, copy both
 * ways, per-destination retention, prefixes that share a bucket, and a restore on a new machine
 * that knows nothing but the bucket and the AWS variables.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { FakeClock, runCli, runScript } from "../helpers/cli.ts";
import { execSql, makeDatabase, withWorkspace, type Workspace } from "../helpers/workspace.ts";
import { compareDatabases } from "../helpers/sqlite_compare.ts";
import { s3Env, type TestBucket, withBucket } from "../helpers/s3_cli.ts";

const DAY = 24 * 60 * 60 * 1000;

interface Run {
  ws: Workspace;
  bucket: TestBucket;
  env: Record<string, string>;
  clock: FakeClock;
}

/** A workspace with a small database, a bucket, the CLI's environment and a clock. */
function withS3(fn: (run: Run) => Promise<void>, clock = new FakeClock()): Promise<void> {
  return withBucket((bucket) =>
    withWorkspace(async (ws) => {
      makeDatabase(ws.database);
      await fn({ ws, bucket, env: s3Env(bucket.server, ws.root), clock });
    })
  );
}

async function cli(run: Run, args: string[], cwd?: string) {
  return await runCli(args, { env: run.env, clock: run.clock, cwd });
}

/** `create --format json` into `dir`; returns the new backup's id. */
async function create(run: Run, dir: string, extra: string[] = []): Promise<string> {
  const result = await cli(run, [
    "create",
    "--database",
    run.ws.database,
    "--dir",
    dir,
    "--format",
    "json",
    ...extra,
  ]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout).id;
}

async function listIds(run: Run, dir: string): Promise<string[]> {
  const result = await cli(run, ["list", "--dir", dir, "--format", "json", "--limit", "100"]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout).map((b: { id: string }) => b.id);
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

Deno.test("create, list, verify --restore-test and restore work on an S3 bucket as on a directory", async () => {
  await withS3(async (run) => {
    const url = run.bucket.url("db-1");
    const id = await create(run, url);
    const keys = await run.bucket.keys();
    assert.deepEqual(keys.filter((k) => !k.startsWith("db-1/.append/audit.jsonl/")), [
      `db-1/${id}.meta.json`,
      `db-1/${id}.sql.gz`,
    ]);
    assert.ok(keys.some((k) => k.startsWith("db-1/.append/audit.jsonl/")), "the audit log");

    const table = await cli(run, ["list", "--dir", url]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(
      table.stdout,
      new RegExp(`^${id}\\s+full\\s+2026-11-23 10:15:00\\s+8\\s+\\S+ B\\s+ok\\s*$`, "m"),
    );
    const json = JSON.parse((await cli(run, ["list", "--dir", url, "--format", "json"])).stdout);
    assert.equal(json.length, 1);
    assert.equal(json[0].id, id);
    assert.equal(json[0].good, true);
    assert.equal(json[0].encrypted, false);
    assert.equal(json[0].rows, 8);
    const stored = await run.bucket.read(`db-1/${id}.sql.gz`);
    assert.equal(json[0].sizeCompressed, stored.length);

    const verified = await cli(run, [
      "verify",
      id,
      "--restore-test",
      "--dir",
      url,
      "--database",
      run.ws.database,
    ]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, new RegExp(`^PASS ${id}\n`));
    assert.match(verified.stdout, new RegExp(`ok   checksum: sha256 ${sha256(stored)}\n`));
    assert.match(verified.stdout, /ok {3}restore test: restored 2 tables, row counts match/);
    const after = await cli(run, ["list", "--dir", url]);
    assert.match(after.stdout, /verified \(restore\)/);

    const target = join(run.ws.root, "restored.db");
    const restored = await cli(run, ["restore", id, "--dir", url, "--to", target]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, new RegExp(`^Restored ${id} into ${target} `));
    assert.deepEqual(compareDatabases(run.ws.database, target), []);
  });
});

Deno.test("cleanup on a bucket keeps the daily and weekly tiers, and --dry-run deletes nothing", async () => {
  // one backup a day from Monday 2026-11-02 to Monday 2026-11-16, and a second one that Monday
  const clock = new FakeClock("2026-11-02T10:00:00.000Z");
  await withS3(async (run) => {
    const url = run.bucket.url("gfs");
    const ids: string[] = [];
    for (let day = 0; day < 15; day++) {
      ids.push(await create(run, url));
      clock.advance(DAY);
    }
    clock.set("2026-11-16T22:00:00.000Z");
    ids.push(await create(run, url));
    clock.advance(60_000);
    const rules = ["--keep-daily", "3", "--keep-weekly", "3", "--tz", "UTC", "--format", "json"];
    // Nov 16 (its newest), 15, 14 by day; the weeks of Nov 16, Nov 9 (newest: 15) and Nov 2 (8)
    const kept = [ids[15], ids[13], ids[12], ids[6]];

    const objectsBefore = await run.bucket.keys("gfs/");
    const dry = await cli(run, ["cleanup", "--dir", url, "--dry-run", ...rules]);
    assert.equal(dry.code, 0, dry.stderr);
    const plan = JSON.parse(dry.stdout);
    assert.equal(plan.dryRun, true);
    const keptByPlan = plan.decisions.filter((d: { action: string }) => d.action === "keep");
    assert.deepEqual(keptByPlan.map((d: { id: string }) => d.id).sort(), [...kept].sort());
    assert.deepEqual(
      Object.fromEntries(
        keptByPlan.map((d: { id: string; reasons: string[] }) => [d.id, d.reasons]),
      ),
      {
        [ids[15]]: [
          "newest good full backup",
          "daily: newest of 2026-11-16 (#1 of 3)",
          "weekly: newest of 2026-W47 (#1 of 3)",
        ],
        [ids[13]]: [
          "daily: newest of 2026-11-15 (#2 of 3)",
          "weekly: newest of 2026-W46 (#2 of 3)",
        ],
        [ids[12]]: ["daily: newest of 2026-11-14 (#3 of 3)"],
        [ids[6]]: ["weekly: newest of 2026-W45 (#3 of 3)"],
      },
    );
    assert.deepEqual(await run.bucket.keys("gfs/"), objectsBefore, "a dry run deletes nothing");

    const real = await cli(run, ["cleanup", "--dir", url, ...rules]);
    assert.equal(real.code, 0, real.stderr);
    const done = JSON.parse(real.stdout);
    assert.deepEqual(
      done.decisions.map((d: { id: string; action: string }) => [d.id, d.action]),
      plan.decisions.map((d: { id: string; action: string }) => [d.id, d.action]),
      "the real run does what the dry run showed",
    );
    assert.deepEqual((await listIds(run, url)).sort(), [...kept].sort());
    const dataLeft = (await run.bucket.keys("gfs/")).filter((k) =>
      /\.(sql\.gz|meta\.json)$/.test(k)
    );
    assert.deepEqual(
      dataLeft,
      kept.flatMap((id) => [`gfs/${id}.meta.json`, `gfs/${id}.sql.gz`]).sort(),
    );
  }, clock);
});

Deno.test("a pinned backup on a bucket survives cleanup until it is unpinned", async () => {
  await withS3(async (run) => {
    const url = run.bucket.url("pins");
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(await create(run, url));
      run.clock.advance(DAY);
    }
    const pinned = await cli(run, ["pin", ids[0], "--dir", url, "--reason", "before v2"]);
    assert.equal(pinned.code, 0, pinned.stderr);
    assert.match((await cli(run, ["list", "--dir", url])).stdout, /ok, pinned\s+pinned: before v2/);

    const first = await cli(run, ["cleanup", "--dir", url, "--keep-last", "1", "--format", "json"]);
    assert.equal(first.code, 0, first.stderr);
    const reasons = JSON.parse(first.stdout).decisions.find((d: { id: string }) => d.id === ids[0]);
    assert.equal(reasons.action, "keep");
    assert.deepEqual(reasons.reasons, ["pinned: before v2"]);
    assert.deepEqual(await listIds(run, url), [ids[2], ids[0]]);

    const unpinned = await cli(run, ["unpin", ids[0], "--dir", url]);
    assert.equal(unpinned.code, 0, unpinned.stderr);
    const second = await cli(run, ["cleanup", "--dir", url, "--keep-last", "1"]);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(await listIds(run, url), [ids[2]]);
  });
});

Deno.test("status reports a bucket's figures and, for each copy destination, its copies and lag", async () => {
  await withS3(async (run) => {
    const primary = run.bucket.url("primary");
    const offsite = run.bucket.url("offsite");
    const withCopies = join(run.ws.root, "with-copies.json");
    const withoutCopies = join(run.ws.root, "without-copies.json");
    const base = { database: run.ws.database, backupDir: primary };
    await Deno.writeTextFile(withCopies, JSON.stringify({ ...base, copies: [{ url: offsite }] }));
    await Deno.writeTextFile(withoutCopies, JSON.stringify(base));

    const first = await create(run, primary, ["--config", withCopies]);
    const status = await cli(run, ["status", "--config", withCopies, "--format", "json"]);
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
    const second = await create(run, primary, ["--config", withoutCopies]);
    const text = await cli(run, ["status", "--config", withCopies]);
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
  await withS3(async (run) => {
    const offsite = run.bucket.url("offsite");
    const result = await cli(run, [
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
    const verified = await cli(run, ["verify", "--all", "--dir", offsite]);
    assert.equal(verified.code, 0, verified.stdout);
  });
});

Deno.test("a new machine with only --dir s3://… and the AWS variables lists, verifies and restores every backup", async () => {
  await withS3(async (run) => {
    const url = run.bucket.url("app/prod");
    const states: Record<string, string> = {};
    for (let i = 0; i < 3; i++) {
      const id = await create(run, url);
      states[id] = join(run.ws.root, `state-${i}.db`);
      await Deno.copyFile(run.ws.database, states[id]);
      execSql(run.ws.database, `INSERT INTO accounts (name, balance) VALUES ('later ${i}', ${i})`);
      run.clock.advance(DAY);
    }
    const machine = await Deno.makeTempDir({ prefix: "backup-manager-new-machine-" });
    try {
      // a real process in an empty directory: no config file, no database, no state
      const options = { cwd: machine, env: s3Env(run.bucket.server, machine) };
      const listed = await runScript(["list", "--dir", url], options);
      assert.equal(listed.code, 0, listed.stderr);
      const ids = Object.keys(states);
      for (const id of ids) assert.match(listed.stdout, new RegExp(`^${id}\\s+full\\s`, "m"));
      const verified = await runScript(["verify", "--all", "--dir", url], options);
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
      assert.equal(verified.stdout.match(/^PASS /gm)?.length, 3);
      for (const [i, id] of ids.entries()) {
        const target = join(machine, `restored-${i}.db`);
        const restored = await runScript(["restore", id, "--dir", url, "--to", target], options);
        assert.equal(restored.code, 0, restored.stderr);
        assert.deepEqual(compareDatabases(states[id], target), [], id);
      }
      const names = [...Deno.readDirSync(machine)].map((e) => e.name).sort();
      assert.deepEqual(names, ["restored-0.db", "restored-1.db", "restored-2.db", "state"]);
    } finally {
      await Deno.remove(machine, { recursive: true });
    }
  });
});

Deno.test("copy --to and --from round-trip a backup with a byte-identical sidecar, and a second copy is a no-op", async () => {
  await withS3(async (run) => {
    const url = run.bucket.url("copies");
    const id = await create(run, run.ws.dir);
    const sidecar = await Deno.readFile(join(run.ws.dir, `${id}.meta.json`));
    const data = await Deno.readFile(join(run.ws.dir, `${id}.sql.gz`));

    const up = await cli(run, ["copy", id.slice(-10), "--to", url, "--dir", run.ws.dir]);
    assert.equal(up.code, 0, up.stderr);
    assert.match(
      up.stdout,
      new RegExp(`^Copied ${id} from ${run.ws.dir} to ${url} \\(\\S+ B, checksum verified\\)\n$`),
    );
    assert.deepEqual(await run.bucket.read(`copies/${id}.meta.json`), sidecar);
    assert.deepEqual(await run.bucket.read(`copies/${id}.sql.gz`), data);
    const again = await cli(run, ["copy", id, "--to", url, "--dir", run.ws.dir]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, `${url} already holds ${id}: nothing was copied\n`);

    const elsewhere = join(run.ws.root, "elsewhere");
    const down = await cli(run, ["copy", id, "--from", url, "--dir", elsewhere]);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, new RegExp(`^Copied ${id} from ${url} to ${elsewhere} `));
    assert.deepEqual(await Deno.readFile(join(elsewhere, `${id}.meta.json`)), sidecar);
    const copied = await Deno.readFile(join(elsewhere, `${id}.sql.gz`));
    assert.equal(sha256(copied), JSON.parse(new TextDecoder().decode(sidecar)).file.sha256);
    const downAgain = await cli(run, ["copy", id, "--from", url, "--dir", elsewhere]);
    assert.equal(downAgain.stdout, `${elsewhere} already holds ${id}: nothing was copied\n`);
    const verified = await cli(run, ["verify", id, "--dir", elsewhere]);
    assert.equal(verified.code, 0, verified.stdout);
  });
});

Deno.test("each copy destination is cleaned by its own retention: 3 kept locally, 1 in the bucket", async () => {
  await withS3(async (run) => {
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
      const result = await cli(run, ["create", "--format", "json"], run.ws.root);
      assert.equal(result.code, 0, result.stderr);
      ids.push(JSON.parse(result.stdout).id);
      run.clock.advance(DAY);
    }
    assert.deepEqual(await listIds(run, offsite), [...ids].reverse(), "every new backup is copied");

    const cleaned = await cli(run, ["cleanup"], run.ws.root);
    assert.equal(cleaned.code, 0, cleaned.stderr);
    assert.match(cleaned.stdout, new RegExp(`^Store ${run.ws.dir}\nPolicy: keep the last 3`));
    assert.match(cleaned.stdout, new RegExp(`\nStore ${offsite}\nPolicy: keep the last 1`));
    assert.deepEqual(await listIds(run, run.ws.dir), [...ids].reverse());
    assert.deepEqual(await listIds(run, offsite), [ids[2]]);
  });
});

Deno.test("two prefixes in one bucket never see each other's backups", async () => {
  await withS3(async (run) => {
    const app = run.bucket.url("app");
    const staging = run.bucket.url("app-staging");
    const ours = [await create(run, app)];
    run.clock.advance(DAY);
    const theirs = [await create(run, staging)];
    run.clock.advance(DAY);
    ours.push(await create(run, app));
    assert.deepEqual(await listIds(run, app), [...ours].reverse());
    assert.deepEqual(await listIds(run, staging), theirs);
    const root = await cli(run, ["list", "--dir", run.bucket.url()]);
    assert.equal(root.stdout, `No backups in "${run.bucket.url()}" (create one with "create")\n`);

    const cleaned = await cli(run, ["cleanup", "--dir", app, "--keep-last", "1"]);
    assert.equal(cleaned.code, 0, cleaned.stderr);
    assert.deepEqual(await listIds(run, app), [ours[1]]);
    assert.deepEqual(await listIds(run, staging), theirs);
    const status = JSON.parse(
      (await cli(run, [
        "status",
        "--dir",
        staging,
        "--database",
        run.ws.database,
        "--format",
        "json",
      ]))
        .stdout,
    );
    assert.equal(status.totalBackups, 1);
    assert.ok(
      (await run.bucket.keys("app-staging/")).every((k) =>
        !k.includes(ours[0]) && !k.includes(ours[1])
      ),
    );
  });
});
