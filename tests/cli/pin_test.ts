/** pin, unpin and create --pin end to end: the sidecar carries the pin, cleanup honours it. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseMeta } from "../../src/core/backup_file.ts";
import { FakeClock, runCli } from "../helpers/cli.ts";
import { makeDatabase, snapshotDir, withWorkspace, type Workspace } from "../helpers/workspace.ts";

const DAY = 24 * 60 * 60 * 1000;

async function create(ws: Workspace, clock: FakeClock, extra: string[] = []): Promise<string> {
  const result = await runCli(
    ["create", "--database", ws.database, "--dir", ws.dir, "--format", "json", ...extra],
    { clock },
  );
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout).id;
}

async function sidecar(ws: Workspace, id: string) {
  return parseMeta(await Deno.readFile(join(ws.dir, `${id}.meta.json`)), id);
}

/** Three daily backups, oldest first in `ids`. */
async function withBackups(fn: (ws: Workspace, ids: string[], clock: FakeClock) => Promise<void>) {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock();
    const ids = [];
    for (let i = 0; i < 3; i++) {
      ids.push(await create(ws, clock));
      clock.advance(DAY);
    }
    await fn(ws, ids, clock);
  });
}

Deno.test("pin records the pin in a sidecar that still verifies, and cleanup never deletes it", async () => {
  await withBackups(async (ws, ids, clock) => {
    const pinned = await runCli(
      ["pin", ids[0].slice(-12), "--dir", ws.dir, "--reason", "before migration 42"],
      { clock },
    );
    assert.equal(pinned.code, 0, pinned.stderr);
    assert.equal(
      pinned.stdout,
      `Pinned backup ${ids[0]} ("before migration 42"): cleanup will never delete it\n`,
    );
    const meta = await sidecar(ws, ids[0]);
    assert.equal(meta.pinned, true);
    assert.equal(meta.pinnedAt, clock.now().toISOString());
    assert.equal(meta.pinReason, "before migration 42");
    const verified = await runCli(["verify", ids[0], "--dir", ws.dir, "--database", ws.database]);
    assert.equal(verified.code, 0, verified.stdout);
    assert.equal((await sidecar(ws, ids[0])).pinned, true, "verify keeps the pin");

    const done = await runCli(
      ["cleanup", "--dir", ws.dir, "--keep-last", "1", "--format", "json"],
      { clock },
    );
    assert.equal(done.code, 0, done.stderr);
    const decisions = JSON.parse(done.stdout).decisions as {
      id: string;
      action: string;
      pinned: boolean;
      reasons: string[];
    }[];
    assert.deepEqual(decisions.map((d) => [d.id, d.action, d.pinned]), [
      [ids[2], "keep", false],
      [ids[1], "delete", false],
      [ids[0], "keep", true],
    ]);
    assert.deepEqual(decisions[2].reasons, ["pinned: before migration 42"]);
  });
});

Deno.test("list shows pins in the table and in json", async () => {
  await withBackups(async (ws, ids, clock) => {
    await runCli(["pin", ids[1], "--dir", ws.dir, "--reason", "keep me"], { clock });
    const table = await runCli(["list", "--dir", ws.dir]);
    assert.match(table.stdout, new RegExp(`${ids[1]} .* ok, pinned +pinned: keep me\\n`));
    const json = JSON.parse((await runCli(["list", "--dir", ws.dir, "--format", "json"])).stdout);
    assert.deepEqual(
      json.map((b: { pinned: boolean; pinReason: string | null }) => [b.pinned, b.pinReason]),
      [[false, null], [true, "keep me"], [false, null]],
    );
  });
});

Deno.test("unpin lets cleanup delete the backup again; pin and unpin twice change nothing", async () => {
  await withBackups(async (ws, ids, clock) => {
    assert.equal((await runCli(["pin", ids[0], "--dir", ws.dir], { clock })).code, 0);
    const before = await snapshotDir(ws.dir);
    const again = await runCli(["pin", ids[0], "--dir", ws.dir], { clock });
    assert.equal(again.stdout, `Backup ${ids[0]} was already pinned; nothing changed\n`);
    assert.deepEqual(await snapshotDir(ws.dir), before);

    const unpinned = await runCli(["unpin", ids[0], "--dir", ws.dir, "--format", "json"]);
    assert.deepEqual(JSON.parse(unpinned.stdout), { id: ids[0], pinned: false, changed: true });
    const meta = await sidecar(ws, ids[0]);
    assert.equal(meta.pinned ?? meta.pinnedAt ?? meta.pinReason, undefined);
    const twice = await runCli(["unpin", ids[0], "--dir", ws.dir]);
    assert.equal(twice.stdout, `Backup ${ids[0]} was not pinned; nothing changed\n`);

    const done = await runCli(["cleanup", "--dir", ws.dir, "--keep-last", "1"], { clock });
    assert.equal(done.code, 0, done.stderr);
    assert.deepEqual(
      Object.keys(await snapshotDir(ws.dir) ?? {}),
      ["audit.jsonl", `${ids[2]}.meta.json`, `${ids[2]}.sql.gz`],
    );
    const audit = (await Deno.readTextFile(join(ws.dir, "audit.jsonl"))).trim().split("\n")
      .map((line) => JSON.parse(line))
      .filter((e) => e.action === "pin" || e.action === "unpin");
    assert.deepEqual(audit.map((e) => [e.actor, e.action, e.target, e.outcome]), [
      ["cli", "pin", ids[0], "ok"],
      ["cli", "unpin", ids[0], "ok"],
    ]);
  });
});

Deno.test("create --pin --pin-reason pins the new backup", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock();
    const text = await runCli(
      ["create", "--database", ws.database, "--dir", ws.dir, "--pin", "--pin-reason", "v2"],
      { clock },
    );
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^Created backup full_\S+ \(pinned: cleanup never deletes it\)\n/);
    const id = /^Created backup (\S+)/.exec(text.stdout)![1];
    const meta = await sidecar(ws, id);
    assert.deepEqual([meta.pinned, meta.pinReason], [true, "v2"]);
  });
});

Deno.test("pin mistakes exit with their documented code and change nothing", async () => {
  await withBackups(async (ws, ids) => {
    const before = await snapshotDir(ws.dir);
    const cases: [string[], number, string][] = [
      [
        ["pin", "nope", "--dir", ws.dir],
        3,
        'Error: Cannot find backup "nope": no backup id contains it (run "list" to see the ids)',
      ],
      [
        ["unpin", "full_", "--dir", ws.dir],
        4,
        `Error: Cannot choose a backup for "full_": it matches 3 backups (${
          [...ids].reverse().map((id) => `"${id}"`).join(", ")
        }); give more of the id`,
      ],
      [
        ["pin", ids[0], "--dir", ws.dir, "--reason", " "],
        2,
        'Error: Invalid value "" for --reason: give a reason or leave the flag out',
      ],
      [
        ["create", "--database", ws.database, "--dir", ws.dir, "--pin-reason", "x"],
        2,
        "Error: Cannot use --pin-reason without --pin (add --pin to keep this backup)",
      ],
    ];
    for (const [argv, code, line] of cases) {
      const result = await runCli(argv);
      assert.equal(result.stderr, `${line}\n`, argv.join(" "));
      assert.equal(result.code, code);
    }
    // an edited sidecar is not rewritten: that would hide the edit
    const path = join(ws.dir, `${ids[1]}.meta.json`);
    await Deno.writeTextFile(path, (await Deno.readTextFile(path)).replace('"full"', '"schema"'));
    const edited = await snapshotDir(ws.dir);
    const result = await runCli(["pin", ids[1], "--dir", ws.dir]);
    assert.equal(result.code, 5);
    assert.match(
      result.stderr,
      new RegExp(
        `^Error: Cannot pin backup "${
          ids[1]
        }": it has a sidecar .*\\(rewriting it would hide that\\)\\n$`,
      ),
    );
    assert.deepEqual(await snapshotDir(ws.dir), edited);
    assert.notDeepEqual(edited, before);
  });
});
