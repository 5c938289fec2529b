/**
 * SQLite backups in a real S3 bucket (radosgw): create, list, verify, restore, cleanup by tiers
 * and pins, prefixes that share a bucket, and a restore on a new machine that knows nothing but
 * the bucket and the AWS variables. Copies to and from a bucket: `s3_copy_test.ts`.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { FakeClock, runScript } from "../helpers/cli.ts";
import { execSql } from "../helpers/workspace.ts";
import { compareDatabases } from "../helpers/sqlite_compare.ts";
import { createIn, listIds, s3Cli, s3Env, withS3Run } from "../helpers/s3_cli.ts";

const DAY = 24 * 60 * 60 * 1000;

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

Deno.test("create, list, verify --restore-test and restore work on an S3 bucket as on a directory", async () => {
  await withS3Run(async (run) => {
    const url = run.bucket.url("db-1");
    const id = await createIn(run, url);
    const keys = await run.bucket.keys();
    assert.deepEqual(keys.filter((k) => !k.startsWith("db-1/.append/audit.jsonl/")), [
      `db-1/${id}.meta.json`,
      `db-1/${id}.sql.gz`,
    ]);
    assert.ok(keys.some((k) => k.startsWith("db-1/.append/audit.jsonl/")), "the audit log");

    const table = await s3Cli(run, ["list", "--dir", url]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(
      table.stdout,
      new RegExp(`^${id}\\s+full\\s+2026-11-23 10:15:00\\s+8\\s+\\S+ B\\s+ok\\s*$`, "m"),
    );
    const json = JSON.parse((await s3Cli(run, ["list", "--dir", url, "--format", "json"])).stdout);
    assert.equal(json.length, 1);
    assert.equal(json[0].id, id);
    assert.equal(json[0].good, true);
    assert.equal(json[0].encrypted, false);
    assert.equal(json[0].rows, 8);
    const stored = await run.bucket.read(`db-1/${id}.sql.gz`);
    assert.equal(json[0].sizeCompressed, stored.length);

    const verified = await s3Cli(run, [
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
    const after = await s3Cli(run, ["list", "--dir", url]);
    assert.match(after.stdout, /verified \(restore\)/);

    const target = join(run.ws.root, "restored.db");
    const restored = await s3Cli(run, ["restore", id, "--dir", url, "--to", target]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, new RegExp(`^Restored ${id} into ${target} `));
    assert.deepEqual(compareDatabases(run.ws.database, target), []);
  });
});

Deno.test("cleanup on a bucket keeps the daily and weekly tiers, and --dry-run deletes nothing", async () => {
  // one backup a day from Monday 2026-11-02 to Monday 2026-11-16, and a second one that Monday
  const clock = new FakeClock("2026-11-02T10:00:00.000Z");
  await withS3Run(async (run) => {
    const url = run.bucket.url("gfs");
    const ids: string[] = [];
    for (let day = 0; day < 15; day++) {
      ids.push(await createIn(run, url));
      clock.advance(DAY);
    }
    clock.set("2026-11-16T22:00:00.000Z");
    ids.push(await createIn(run, url));
    clock.advance(60_000);
    const rules = ["--keep-daily", "3", "--keep-weekly", "3", "--tz", "UTC", "--format", "json"];
    // Nov 16 (its newest), 15, 14 by day; the weeks of Nov 16, Nov 9 (newest: 15) and Nov 2 (8)
    const kept = [ids[15], ids[13], ids[12], ids[6]];

    const objectsBefore = await run.bucket.keys("gfs/");
    const dry = await s3Cli(run, ["cleanup", "--dir", url, "--dry-run", ...rules]);
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

    const real = await s3Cli(run, ["cleanup", "--dir", url, ...rules]);
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
  await withS3Run(async (run) => {
    const url = run.bucket.url("pins");
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(await createIn(run, url));
      run.clock.advance(DAY);
    }
    const pinned = await s3Cli(run, ["pin", ids[0], "--dir", url, "--reason", "before v2"]);
    assert.equal(pinned.code, 0, pinned.stderr);
    assert.match(
      (await s3Cli(run, ["list", "--dir", url])).stdout,
      /ok, pinned\s+pinned: before v2/,
    );

    const first = await s3Cli(run, [
      "cleanup",
      "--dir",
      url,
      "--keep-last",
      "1",
      "--format",
      "json",
    ]);
    assert.equal(first.code, 0, first.stderr);
    const reasons = JSON.parse(first.stdout).decisions.find((d: { id: string }) => d.id === ids[0]);
    assert.equal(reasons.action, "keep");
    assert.deepEqual(reasons.reasons, ["pinned: before v2"]);
    assert.deepEqual(await listIds(run, url), [ids[2], ids[0]]);

    const unpinned = await s3Cli(run, ["unpin", ids[0], "--dir", url]);
    assert.equal(unpinned.code, 0, unpinned.stderr);
    const second = await s3Cli(run, ["cleanup", "--dir", url, "--keep-last", "1"]);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(await listIds(run, url), [ids[2]]);
  });
});

Deno.test("a new machine with only --dir s3://… and the AWS variables lists, verifies and restores every backup", async () => {
  await withS3Run(async (run) => {
    const url = run.bucket.url("app/prod");
    const states: Record<string, string> = {};
    for (let i = 0; i < 3; i++) {
      const id = await createIn(run, url);
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

Deno.test("two prefixes in one bucket never see each other's backups", async () => {
  await withS3Run(async (run) => {
    const app = run.bucket.url("app");
    const staging = run.bucket.url("app-staging");
    const ours = [await createIn(run, app)];
    run.clock.advance(DAY);
    const theirs = [await createIn(run, staging)];
    run.clock.advance(DAY);
    ours.push(await createIn(run, app));
    assert.deepEqual(await listIds(run, app), [...ours].reverse());
    assert.deepEqual(await listIds(run, staging), theirs);
    const root = await s3Cli(run, ["list", "--dir", run.bucket.url()]);
    assert.equal(root.stdout, `No backups in "${run.bucket.url()}" (create one with "create")\n`);

    const cleaned = await s3Cli(run, ["cleanup", "--dir", app, "--keep-last", "1"]);
    assert.equal(cleaned.code, 0, cleaned.stderr);
    assert.deepEqual(await listIds(run, app), [ours[1]]);
    assert.deepEqual(await listIds(run, staging), theirs);
    const status = JSON.parse(
      (await s3Cli(run, [
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
