/**
 * The audit log: the reader's contract (newest first, limits, filters, torn lines), and one line
 * for every action the commands take, with who, what and the outcome.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { appendAudit, AUDIT_KEY, type AuditEntry, readAudit } from "../../src/core/audit.ts";
import { acquireLock, LOCK_KEY } from "../../src/core/lock.ts";
import { ExitCode } from "../../src/core/errors.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { FakeClock, runCli } from "../helpers/cli.ts";
import { makeDatabase, snapshotDir, withWorkspace, type Workspace } from "../helpers/workspace.ts";

const entry = (n: number, action: AuditEntry["action"] = "create"): AuditEntry => ({
  time: `2026-11-23T10:0${n}:00.000Z`,
  actor: "cli",
  action,
  target: `full_${n}`,
  outcome: "ok",
});

Deno.test("readAudit() returns entries newest first, limited and filtered by action", async () => {
  await withWorkspace(async (ws) => {
    const storage = new LocalStorage(ws.dir);
    assert.deepEqual(await readAudit(storage), []); // no log yet
    for (const [n, action] of [[1, "create"], [2, "run"], [3, "verify"], [4, "run"]] as const) {
      await appendAudit(storage, entry(n, action));
    }
    assert.deepEqual((await readAudit(storage)).map((e) => e.target), [
      "full_4",
      "full_3",
      "full_2",
      "full_1",
    ]);
    assert.deepEqual((await readAudit(ws.dir, { limit: 2 })).map((e) => e.target), [
      "full_4",
      "full_3",
    ]);
    assert.deepEqual(
      (await readAudit(storage, { actions: ["run"], limit: 5 })).map((e) => e.target),
      ["full_4", "full_2"],
    );
    assert.equal((await Deno.stat(join(ws.dir, AUDIT_KEY))).mode! & 0o777, 0o600);
  });
});

Deno.test("readAudit() skips a torn last line and lines that are not entries", async () => {
  await withWorkspace(async (ws) => {
    const storage = new LocalStorage(ws.dir);
    await appendAudit(storage, entry(1));
    await storage.append(AUDIT_KEY, new TextEncoder().encode('{"not":"an entry"}\n'));
    await appendAudit(storage, entry(2));
    await storage.append(AUDIT_KEY, new TextEncoder().encode('{"time":"2026-11-23T10:0')); // crash
    assert.deepEqual((await readAudit(storage)).map((e) => e.target), ["full_2", "full_1"]);
  });
});

Deno.test("appendAudit() keeps an error message on one line", async () => {
  await withWorkspace(async (ws) => {
    const storage = new LocalStorage(ws.dir);
    await appendAudit(storage, { ...entry(1), outcome: "failed", error: "disk full\n  at x" });
    assert.equal((await readAudit(storage))[0].error, "disk full at x");
    assert.equal((await Deno.readTextFile(join(ws.dir, AUDIT_KEY))).split("\n").length, 2);
  });
});

Deno.test("every create, verify, restore and cleanup delete writes one audit line", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock("2026-11-23T10:00:00.000Z");
    const cli = async (argv: string[]) => {
      const result = await runCli([...argv, "--dir", ws.dir], { clock });
      assert.equal(result.code, 0, result.stderr);
      clock.advance();
    };
    await cli(["create", "--database", ws.database]);
    await cli(["create", "--database", ws.database]);
    await cli(["verify", "full_20261123T100000000Z", "--database", ws.database]);
    await cli(["restore", "full_20261123T100000000Z", "--force", "--database", ws.database]);
    await cli(["cleanup", "--keep-last", "1"]);
    const lines = (await readAudit(ws.dir)).reverse().map((e) => ({
      time: e.time,
      actor: e.actor,
      action: e.action,
      target: e.target,
      outcome: e.outcome,
      keys: Object.keys(e.details ?? {}).sort().join(","),
    }));
    assert.deepEqual(
      lines,
      [
        ["10:00", "create", "full_20261123T100000000Z", "bytes,durationMs,rows,tables,type"],
        ["10:01", "create", "full_20261123T100100000Z", "bytes,durationMs,rows,tables,type"],
        ["10:02", "verify", "full_20261123T100000000Z", "restoreTest"],
        ["10:03", "create", "pre-restore_20261123T100300000Z", "bytes,durationMs,rows,tables,type"],
        ["10:03", "restore", "full_20261123T100000000Z", "safetyBackup,to"],
        ["10:04", "delete", "full_20261123T100000000Z", "reasons"],
      ].map(([time, action, target, keys]) => ({
        time: `2026-11-23T${time}:00.000Z`,
        actor: "cli",
        action,
        target,
        outcome: "ok",
        keys,
      })),
    );
  });
});

Deno.test("a refused request writes no audit line; a failed verification writes a failed one", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock("2026-11-23T10:00:00.000Z");
    await runCli(["create", "--database", ws.database, "--dir", ws.dir], { clock });
    const before = await snapshotDir(ws.dir);
    const refused = await runCli(
      ["restore", "full_2026", "--database", ws.database, "--dir", ws.dir],
      { clock },
    );
    assert.equal(refused.code, ExitCode.Refused);
    const unknown = await runCli(["verify", "nope", "--dir", ws.dir], { clock });
    assert.equal(unknown.code, ExitCode.NotFound);
    assert.deepEqual(await snapshotDir(ws.dir), before);

    await Deno.writeFile(join(ws.dir, "full_20261123T100000000Z.sql.gz"), new Uint8Array(10));
    const damaged = await runCli(["verify", "full_2026", "--dir", ws.dir], { clock });
    assert.equal(damaged.code, ExitCode.Integrity);
    const [last] = await readAudit(ws.dir, { limit: 1 });
    assert.equal(last.action, "verify");
    assert.equal(last.outcome, "failed");
    assert.match(
      last.error!,
      /^data file: its data file "full_\S+" is truncated \(10 of \d+ bytes\)/,
    );
  });
});

/** A store with one backup (taken at 10:00) whose lock an "auto cycle" holds while `fn` runs. */
async function withHeldLock(fn: (ws: Workspace, clock: FakeClock) => Promise<void>) {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock("2026-11-23T10:00:00.000Z");
    await runCli(["create", "--database", ws.database, "--dir", ws.dir], { clock });
    await runCli(["verify", "--all", "--database", ws.database, "--dir", ws.dir], { clock });
    const lock = await acquireLock(ws.dir, { command: "auto cycle", clock });
    try {
      await fn(ws, clock);
    } finally {
      await lock.release();
    }
  });
}

Deno.test("list and status ignore the audit log and the lock file", async () => {
  await withHeldLock(async (ws, clock) => {
    const names = Object.keys(await snapshotDir(ws.dir) ?? {});
    assert.ok(names.includes(AUDIT_KEY) && names.includes(LOCK_KEY), names.join(", "));
    const list = await runCli(["list", "--dir", ws.dir, "--format", "json"], { clock });
    assert.deepEqual(JSON.parse(list.stdout).map((b: { id: string }) => b.id), [
      "full_20261123T100000000Z",
    ]);
    const status = await runCli(
      ["status", "--database", ws.database, "--dir", ws.dir, "--format", "json"],
      { clock },
    );
    const report = JSON.parse(status.stdout);
    assert.equal(report.totalBackups, 1);
    assert.equal(report.systemHealth, "healthy", JSON.stringify(report.reasons));
  });
});

Deno.test("create, restore and cleanup refuse with exit 6 while another run holds the lock", async () => {
  await withHeldLock(async (ws, clock) => {
    const before = await snapshotDir(ws.dir);
    for (
      const [command, argv] of [
        ["create", ["create", "--database", ws.database]],
        ["restore", ["restore", "full_2026", "--force", "--database", ws.database]],
        ["cleanup", ["cleanup", "--keep-last", "1"]],
      ] as const
    ) {
      const result = await runCli([...argv, "--dir", ws.dir], { clock });
      assert.equal(result.code, ExitCode.Refused, command);
      assert.equal(
        result.stderr,
        `Error: Cannot run "${command}": "auto cycle" (pid ${Deno.pid} on ${Deno.hostname()}, ` +
          `since 2026-11-23T10:00:00.000Z) holds the lock "${join(ws.dir, LOCK_KEY)}" (wait ` +
          "for it to finish; if that process is gone, remove the file)\n",
      );
    }
    assert.deepEqual(await snapshotDir(ws.dir), before);
    const dryRun = await runCli(["cleanup", "--keep-last", "1", "--dry-run", "--dir", ws.dir]);
    assert.equal(dryRun.code, 0, "a dry run needs no lock");
  });
});
