import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeClock, runCli } from "../helpers/cli.ts";
import { makeDatabase, withWorkspace, type Workspace } from "../helpers/workspace.ts";

const DAY = 24 * 60 * 60 * 1000;

/** Ids of the backups `list` shows in `dir`, newest first. */
async function ids(dir: string, cwd?: string): Promise<string[]> {
  const result = await runCli(["list", "--dir", dir, "--format", "json", "--limit", "100"], {
    cwd,
  });
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout).map((b: { id: string; good: boolean }) => b.id);
}

async function create(ws: Workspace, clock: FakeClock, ...extra: string[]) {
  const result = await runCli(
    ["create", "--database", ws.database, "--dir", ws.dir, "--format", "json", ...extra],
    { clock, cwd: ws.root },
  );
  clock.advance(DAY);
  return result;
}

Deno.test("create --copy-to copies the new backup, and later runs copy only what is missing", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock();
    const offsite = join(ws.root, "offsite");
    const first = await create(ws, clock, "--copy-to", offsite);
    assert.equal(first.code, 0, first.stderr);
    const meta = JSON.parse(first.stdout);
    assert.equal(meta.copies[0].copied[0].id, meta.id);
    assert.deepEqual(await ids(offsite), [meta.id]);

    const second = await create(ws, clock, "--copy-to", offsite);
    assert.equal(second.code, 0, second.stderr);
    const copied = JSON.parse(second.stdout).copies[0].copied.map((c: { id: string }) => c.id);
    assert.deepEqual(copied, [JSON.parse(second.stdout).id]);
    assert.deepEqual(await ids(offsite), await ids(ws.dir));

    const text = await runCli(
      ["create", "--database", ws.database, "--dir", ws.dir, "--copy-to", offsite],
      { clock },
    );
    assert.match(
      text.stdout,
      new RegExp(`\nCopied full_\\S+ to ${offsite} \\(.+, checksum verified\\)\n$`),
    );
  });
});

Deno.test("a copy that fails leaves the backup good, exits 7, and the next run copies what is missing", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock();
    const offsite = join(ws.root, "offsite");
    await Deno.writeTextFile(offsite, "a file where the directory should be");
    const failed = await create(ws, clock, "--copy-to", offsite);
    assert.equal(failed.code, 7);
    const id = JSON.parse(failed.stdout).id;
    assert.match(
      failed.stderr,
      new RegExp(
        `^Error: Cannot read backup directory "${offsite}": it is a file, not a directory .+ \\(no backup was copied there; the next run tries again\\)\n$`,
      ),
    );
    const verified = await runCli(["verify", id, "--dir", ws.dir], { clock });
    assert.equal(verified.code, 0, verified.stdout);
    const audit = (await Deno.readTextFile(join(ws.dir, "audit.jsonl"))).trim().split("\n")
      .map((line) => JSON.parse(line));
    assert.ok(audit.some((e) => e.action === "copy" && e.outcome === "failed"));

    await Deno.remove(offsite);
    const next = await create(ws, clock, "--copy-to", offsite);
    assert.equal(next.code, 0, next.stderr);
    assert.deepEqual(await ids(offsite), [JSON.parse(next.stdout).id, id]);
  });
});

Deno.test("each copy destination keeps its own retention, and status reports it", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock();
    const offsite = join(ws.root, "offsite");
    await Deno.writeTextFile(
      join(ws.root, "backup-manager.json"),
      JSON.stringify({
        retention: { keepLast: 3 },
        copies: [{ url: "./offsite", retention: { keepLast: 1 } }],
        health: { verifyMaxAge: "0s" },
      }),
    );
    for (let i = 0; i < 4; i++) assert.equal((await create(ws, clock)).code, 0);
    const cleaned = await runCli(["cleanup", "--dir", ws.dir, "--format", "json"], {
      clock,
      cwd: ws.root,
    });
    assert.equal(cleaned.code, 0, cleaned.stderr);
    const reports = JSON.parse(cleaned.stdout);
    assert.deepEqual(reports.map((r: { store: string }) => r.store), [ws.dir, offsite]);
    const local = await ids(ws.dir);
    assert.equal(local.length, 3);
    assert.deepEqual(await ids(offsite), [local[0]]);

    // a newer backup taken without the copies: the destination lags
    await Deno.writeTextFile(join(ws.root, "other.json"), "{}");
    const alone = await runCli(
      [
        "create",
        "--config",
        join(ws.root, "other.json"),
        "--database",
        ws.database,
        "--dir",
        ws.dir,
      ],
      { clock },
    );
    assert.equal(alone.code, 0, alone.stderr);
    const status = await runCli(
      ["status", "--database", ws.database, "--dir", ws.dir, "--format", "json"],
      { clock, cwd: ws.root },
    );
    const report = JSON.parse(status.stdout);
    assert.equal(report.destinations[0].location, offsite);
    assert.equal(report.destinations[0].goodCopies, 1);
    assert.equal(report.destinations[0].missingNewest, (await ids(ws.dir))[0]);
    assert.ok(
      report.reasons.some((r: { rule: string; message: string }) =>
        r.rule === "destination" && r.message.includes("lags")
      ),
      JSON.stringify(report.reasons),
    );
  });
});

Deno.test("copy --to and --from move one backup between stores and refuse nonsense", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock();
    const id = JSON.parse((await create(ws, clock)).stdout).id;
    const other = join(ws.root, "other");
    const up = await runCli(["copy", id.slice(-10), "--to", other, "--dir", ws.dir], { clock });
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, new RegExp(`^Copied ${id} from ${ws.dir} to ${other} \\(`));
    const fresh = join(ws.root, "fresh");
    const down = await runCli(["copy", id, "--from", other, "--dir", fresh], { clock });
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(
      await Deno.readFile(join(fresh, `${id}.meta.json`)),
      await Deno.readFile(join(ws.dir, `${id}.meta.json`)),
    );
    const again = await runCli(["copy", id, "--from", other, "--dir", fresh], { clock });
    assert.equal(again.stdout, `${fresh} already holds ${id}: nothing was copied\n`);
    const both = await runCli(["copy", id, "--to", other, "--from", other], { clock });
    assert.equal(both.code, 2);
    assert.equal(
      both.stderr,
      "Error: Cannot copy: give --to STORE (upload) or --from STORE (download), not both, not neither\n",
    );
    const missing = await runCli(["copy", "nope", "--to", other, "--dir", ws.dir], { clock });
    assert.equal(missing.code, 3);
  });
});
