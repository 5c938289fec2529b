/**
 * SIGTERM against real processes in the middle of a backup: `auto` finishes the run in progress
 * on the first signal and abandons it cleanly on the second; `create` abandons at once. Either
 * way no partial file and no lock is left behind.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { scriptCommand } from "../helpers/cli.ts";
import {
  listNames,
  makeLargeDatabase,
  withWorkspace,
  type Workspace,
} from "../helpers/workspace.ts";
import { LOCK_KEY } from "../../src/core/lock.ts";
import { readAudit } from "../../src/core/audit.ts";
import { ExitCode } from "../../src/core/errors.ts";

/**
 * Starts `args`, waits until the backup's data file is being written, and sends SIGTERM
 * `signals` times, each after the previous one was acknowledged (signals sent together arrive
 * as one).
 */
async function interrupt(ws: Workspace, args: string[], signals: number) {
  const child = scriptCommand([...args, "--database", ws.database, "--dir", ws.dir]).spawn();
  let stdout = "";
  const reading = (async () => {
    for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) stdout += text;
  })();
  const started = performance.now();
  const waitFor = async (what: string, done: () => Promise<boolean>) => {
    while (!(await done())) {
      assert.ok(performance.now() - started < 20_000, `${what} never happened: ${stdout}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  await waitFor(
    "the backup",
    async () => (await listNames(ws.dir)).some((n) => /\.sql\.gz\..*partial$/.test(n)),
  );
  for (let i = 1; i <= signals; i++) {
    child.kill("SIGTERM");
    if (i < signals) {
      await waitFor(
        "the acknowledgement",
        () => Promise.resolve(stdout.includes("stopping after")),
      );
    }
  }
  const status = await child.status;
  await reading;
  return {
    code: status.code,
    stdout,
    stderr: await new Response(child.stderr).text(),
    names: await listNames(ws.dir),
  };
}

Deno.test("auto finishes the run in progress on SIGTERM, then exits 0 and releases the lock", async () => {
  await withWorkspace(async (ws) => {
    makeLargeDatabase(ws.database);
    const result = await interrupt(ws, ["auto", "--every", "1h"], 1);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, / warn {2}stopping after the run in progress/);
    assert.match(result.stdout, / info {2}run finished: full_\w+ in /);
    assert.match(result.stdout, / info {2}scheduler stopped: asked to stop\n$/);
    const backups = result.names.filter((n) => n.endsWith(".meta.json"));
    assert.equal(backups.length, 1);
    assert.ok(
      !result.names.some((n) => n.endsWith(".partial") || n === LOCK_KEY),
      result.names.join(),
    );
    const [run] = await readAudit(ws.dir, { actions: ["run"] });
    assert.deepEqual([run.actor, run.outcome], ["scheduler", "ok"]);
  });
});

Deno.test("auto abandons the run in progress on a second SIGTERM: no partial file, no lock, exit 130", async () => {
  await withWorkspace(async (ws) => {
    makeLargeDatabase(ws.database);
    const result = await interrupt(ws, ["auto", "--every", "1h"], 2);
    assert.equal(result.code, ExitCode.Interrupted, result.stdout + result.stderr);
    assert.match(result.stdout, / warn {2}abandoning the run in progress/);
    assert.match(
      result.stdout,
      / error run failed \(attempt 1 of 4\): Stopped backing up ".*": interrupted, nothing was kept\n/,
    );
    assert.deepEqual(result.names, ["audit.jsonl"]);
    const [run] = await readAudit(ws.dir, { actions: ["run"] });
    assert.deepEqual([run.outcome, run.error], [
      "failed",
      `Stopped backing up "${ws.database}": interrupted, nothing was kept`,
    ]);
  });
});

Deno.test("create abandons its backup on SIGTERM: no partial file, no lock, exit 130, one line", async () => {
  await withWorkspace(async (ws) => {
    makeLargeDatabase(ws.database);
    const result = await interrupt(ws, ["create"], 1);
    assert.equal(result.code, ExitCode.Interrupted, result.stderr);
    assert.equal(
      result.stderr,
      `Error: Stopped backing up "${ws.database}": interrupted, nothing was kept\n`,
    );
    assert.deepEqual(result.names, ["audit.jsonl"]);
    await assert.rejects(Deno.stat(join(ws.dir, LOCK_KEY)), Deno.errors.NotFound);
  });
});
