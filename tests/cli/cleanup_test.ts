/** cleanup with GFS tiers, time zones, config-file rules, and backups that are not good. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeClock, runCli } from "../helpers/cli.ts";
import { makeDatabase, withWorkspace, type Workspace } from "../helpers/workspace.ts";

interface Plan {
  decisions: { id: string; type: string; action: string; reasons: string[] }[];
  incomplete: { key: string; action: string }[];
  policyText: string;
  timeZone: string;
}

async function createAt(ws: Workspace, at: string, extra: string[] = []): Promise<string> {
  const result = await runCli(
    ["create", "--database", ws.database, "--dir", ws.dir, "--format", "json", ...extra],
    { clock: new FakeClock(at) },
  );
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout).id;
}

async function plan(
  ws: Workspace,
  args: string[],
  options: { now?: string; cwd?: string; env?: Record<string, string> } = {},
): Promise<Plan> {
  const result = await runCli(["cleanup", "--dir", ws.dir, "--format", "json", ...args], {
    clock: new FakeClock(options.now ?? "2026-11-23T12:00:00Z"),
    cwd: options.cwd,
    env: options.env,
  });
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

const deleted = (p: Plan) => p.decisions.filter((d) => d.action === "delete").map((d) => d.id);

Deno.test("cleanup --keep-daily counts days in the time zone of --tz or BACKUP_TZ", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const a = await createAt(ws, "2026-11-23T10:00:00Z");
    const b = await createAt(ws, "2026-11-22T23:30:00Z"); // Nov 23 in Berlin
    const c = await createAt(ws, "2026-11-22T22:30:00Z");
    const utc = await plan(ws, ["--keep-daily", "2", "--tz", "UTC", "--dry-run"]);
    assert.deepEqual(deleted(utc), [c]);
    const berlin = await plan(ws, ["--keep-daily", "2", "--dry-run"], {
      env: { BACKUP_TZ: "Europe/Berlin" },
    });
    assert.equal(berlin.timeZone, "Europe/Berlin");
    assert.equal(
      berlin.policyText,
      "keep 2 daily; pinned backups always; periods in Europe/Berlin",
    );
    assert.deepEqual(deleted(berlin), [b]);
    assert.deepEqual(berlin.decisions.find((d) => d.id === a)!.reasons, [
      "newest good full backup",
      "daily: newest of 2026-11-23 (#1 of 2)",
    ]);
    const done = await plan(ws, ["--keep-daily", "2", "--tz", "Europe/Berlin"]);
    assert.deepEqual(deleted(done), [b]);
    const left = JSON.parse((await runCli(["list", "--dir", ws.dir, "--format", "json"])).stdout);
    assert.deepEqual(left.map((x: { id: string }) => x.id), [a, c]);
  });
});

Deno.test("cleanup takes per-type and pre-restore rules from the config file", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const full: string[] = [];
    for (const day of ["20", "21", "22"]) full.push(await createAt(ws, `2026-11-${day}T10:00:00Z`));
    const schema: string[] = [];
    for (const day of ["20", "21"]) {
      schema.push(await createAt(ws, `2026-11-${day}T11:00:00Z`, ["--type", "schema"]));
    }
    const safety: string[] = [];
    for (const at of ["2026-10-01T10:00:00Z", "2026-11-22T12:00:00Z"]) {
      const restored = await runCli(
        [
          "restore",
          full[2],
          "--force",
          "--database",
          ws.database,
          "--dir",
          ws.dir,
          "--format",
          "json",
        ],
        { clock: new FakeClock(at) },
      );
      assert.equal(restored.code, 0, restored.stderr);
      safety.push(JSON.parse(restored.stdout).safetyBackup);
    }
    await Deno.writeTextFile(
      join(ws.root, "backup-manager.json"),
      JSON.stringify({
        backupDir: "./backups",
        timezone: "UTC",
        retention: {
          keepLast: 2,
          preRestore: { keepDays: 30 },
          perType: { schema: { keepLast: 1 } },
        },
      }),
    );
    const result = await plan(ws, ["--dry-run"], { cwd: ws.root });
    assert.equal(
      result.policyText,
      "keep the last 2; schema backups the last 1; pre-restore backups 30 days; pinned backups always",
    );
    assert.deepEqual(deleted(result).sort(), [full[0], schema[0], safety[0]].sort());
    // a flag wins over the file's rule of the same name, the other rules stay
    const flagged = await plan(ws, ["--dry-run", "--keep-last", "3"], { cwd: ws.root });
    assert.deepEqual(deleted(flagged).sort(), [schema[0], safety[0]].sort());
  });
});

Deno.test("cleanup never counts a backup whose verification failed towards --keep-last", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const ids: string[] = [];
    for (const day of ["20", "21", "22"]) ids.push(await createAt(ws, `2026-11-${day}T10:00:00Z`));
    // same size, one byte changed: only the checksum can tell
    const path = join(ws.dir, `${ids[1]}.sql.gz`);
    const bytes = await Deno.readFile(path);
    bytes[bytes.length - 5] ^= 0xff;
    await Deno.writeFile(path, bytes);
    const verified = await runCli(["verify", ids[1], "--dir", ws.dir, "--database", ws.database]);
    assert.equal(verified.code, 5);
    const result = await plan(ws, ["--keep-last", "2"]);
    assert.deepEqual(deleted(result), [ids[1]]);
    assert.deepEqual(result.decisions.find((d) => d.id === ids[1])!.reasons, [
      "not good (fails its checks), so it counts for no rule",
    ]);
    assert.equal(result.decisions.find((d) => d.id === ids[0])!.action, "keep");
  });
});

Deno.test("cleanup never counts a backup whose sidecar is missing, and removes its data file", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const ids: string[] = [];
    for (const day of ["20", "21", "22"]) ids.push(await createAt(ws, `2026-11-${day}T10:00:00Z`));
    await Deno.remove(join(ws.dir, `${ids[1]}.meta.json`));
    const data = join(ws.dir, `${ids[1]}.sql.gz`);
    await Deno.utime(data, new Date("2026-11-21T10:00:00Z"), new Date("2026-11-21T10:00:00Z"));
    const result = await plan(ws, ["--keep-last", "2"]);
    assert.deepEqual(result.decisions.map((d) => [d.id, d.action]), [
      [ids[2], "keep"],
      [ids[0], "keep"],
    ]);
    assert.deepEqual(result.incomplete.map((i) => [i.key, i.action]), [
      [`${ids[1]}.sql.gz`, "delete"],
    ]);
    await assert.rejects(Deno.stat(data), Deno.errors.NotFound);
  });
});

Deno.test("bad cleanup flags exit 2 naming the flag and delete nothing", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    await createAt(ws, "2026-11-20T10:00:00Z");
    for (
      const [argv, line] of [
        [
          ["--keep-weekly", "x"],
          'Invalid value "x" for --keep-weekly: expected a whole number ≥ 0',
        ],
        [
          ["--keep-yearly", "1.5"],
          'Invalid value "1.5" for --keep-yearly: expected a whole number ≥ 0',
        ],
        [
          ["--tz", "Mars/Olympus"],
          'Invalid value "Mars/Olympus" for --tz: expected an IANA time zone such as "Europe/Berlin" or "UTC"',
        ],
      ] as const
    ) {
      const result = await runCli(["cleanup", "--dir", ws.dir, ...argv]);
      assert.equal(result.stderr, `Error: ${line}\n`);
      assert.equal(result.code, 2);
    }
  });
});

Deno.test("cleanup deletes nothing after a failed create in the audit log, until one succeeds", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const ids: string[] = [];
    for (const day of ["20", "21", "22"]) ids.push(await createAt(ws, `2026-11-${day}T10:00:00Z`));
    const good = await Deno.readFile(ws.database);
    await Deno.writeTextFile(ws.database, "this is not a database file, it is text".repeat(50));
    const failed = await runCli(["create", "--database", ws.database, "--dir", ws.dir], {
      clock: new FakeClock("2026-11-23T10:00:00Z"),
    });
    assert.equal(failed.code, 8, failed.stderr);
    const held = await plan(ws, ["--keep-last", "1"]);
    assert.match(
      (held as Plan & { hold?: string }).hold ?? "",
      /^the last backup attempt \(2026-11-23T10:00:0\d\.\d+Z\) failed: nothing is deleted until a backup succeeds$/,
    );
    assert.deepEqual(deleted(held), []);

    await Deno.writeFile(ws.database, good);
    const next = await createAt(ws, "2026-11-23T11:00:00Z");
    const done = await plan(ws, ["--keep-last", "1"], { now: "2026-11-23T12:00:00Z" });
    assert.deepEqual(deleted(done), [ids[2], ids[1], ids[0]]);
    assert.equal(done.decisions[0].id, next);
  });
});

Deno.test("auto --once applies the same --keep-* tiers as cleanup after its backup", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const old = [
      await createAt(ws, "2026-11-21T10:00:00Z"),
      await createAt(ws, "2026-11-22T10:00:00Z"),
    ];
    const result = await runCli(
      ["auto", "--once", "--keep-daily", "2", "--database", ws.database, "--dir", ws.dir],
      { clock: new FakeClock("2026-11-23T10:00:00Z"), env: { BACKUP_TZ: "UTC" } },
    );
    assert.equal(result.code, 0, result.stderr + result.stdout);
    const left = JSON.parse((await runCli(["list", "--dir", ws.dir, "--format", "json"])).stdout);
    assert.deepEqual(left.length, 2);
    assert.equal(left[1].id, old[1]);
  });
});
