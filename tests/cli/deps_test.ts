import assert from "node:assert/strict";
import { join } from "node:path";
import { type CommandDeps, contextFor } from "../../src/cli/deps.ts";
import { Interrupts } from "../../src/cli/interrupts.ts";
import { FakeClock, runCli } from "../helpers/cli.ts";
import { makeDatabase, withWorkspace } from "../helpers/workspace.ts";

/** Command dependencies with a fake io seeing `env` and the config file in `cwd`. */
function depsWith(env: Record<string, string>, cwd: string): CommandDeps {
  return {
    io: {
      stdout: () => {},
      stderr: () => {},
      isTerminal: false,
      prompt: () => Promise.resolve(null),
      env,
      cwd,
    },
    clock: new FakeClock(),
    interrupts: new Interrupts(),
    setExitCode: () => {},
  };
}

Deno.test("contextFor() gives gzip level 6 and a job per core by default", async () => {
  await withWorkspace((ws) => {
    const context = contextFor({}, depsWith({}, ws.root));
    assert.deepEqual(context.compression, { format: "gzip", level: 6 });
    assert.equal(context.jobs, navigator.hardwareConcurrency);
    return Promise.resolve();
  });
});

Deno.test("contextFor() takes compression and jobs from the file, then the environment, then --compression / --jobs", async () => {
  await withWorkspace(async (ws) => {
    await Deno.writeTextFile(
      join(ws.root, "backup-manager.json"),
      JSON.stringify({ compression: "gzip:9", jobs: 5 }),
    );
    const file = contextFor({}, depsWith({}, ws.root));
    assert.deepEqual([file.compression, file.jobs], [{ format: "gzip", level: 9 }, 5]);
    const env = { BACKUP_COMPRESSION: "zstd", BACKUP_JOBS: "3" };
    const fromEnv = contextFor({}, depsWith(env, ws.root));
    assert.deepEqual([fromEnv.compression, fromEnv.jobs], [{ format: "zstd", level: 3 }, 3]);
    const flags = contextFor({ compression: { format: "none" }, jobs: 1 }, depsWith(env, ws.root));
    assert.deepEqual([flags.compression, flags.jobs], [{ format: "none" }, 1]);
  });
});

Deno.test("contextFor() takes stallTimeout from the file, then BACKUP_STALL_TIMEOUT, then --stall-timeout; off is 0", async () => {
  await withWorkspace(async (ws) => {
    assert.equal(contextFor({}, depsWith({}, ws.root)).stallTimeoutMs, 600_000);
    await Deno.writeTextFile(
      join(ws.root, "backup-manager.json"),
      JSON.stringify({ stallTimeout: "30m" }),
    );
    assert.equal(contextFor({}, depsWith({}, ws.root)).stallTimeoutMs, 1_800_000);
    const env = { BACKUP_STALL_TIMEOUT: "off" };
    assert.equal(contextFor({}, depsWith(env, ws.root)).stallTimeoutMs, 0);
    assert.equal(
      contextFor({ stallTimeout: "90s" }, depsWith(env, ws.root)).stallTimeoutMs,
      90_000,
    );
  });
});

Deno.test("copy --stall-timeout soon is a usage error (exit 2) that touches nothing", async () => {
  await withWorkspace(async (ws) => {
    const to = join(ws.root, "elsewhere");
    const result = await runCli([
      "copy",
      "full_",
      "--to",
      to,
      "--dir",
      ws.dir,
      "--stall-timeout",
      "soon",
    ]);
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.equal(result.stderr, `Error: Invalid value "soon" for --stall-timeout: ${STALL_HINT}\n`);
    assert.equal(await Deno.stat(ws.dir).catch(() => undefined), undefined);
    assert.equal(await Deno.stat(to).catch(() => undefined), undefined);
  });
});

const STALL_HINT =
  'expected a duration like "90s", "15m", "6h", "7d" or "1h30m", or "off" (or "0") to disable it';

const refusals: [string, string[], string][] = [
  ...["create", "restore full_", "verify --all", "auto --once"].map(
    (command): [string, string[], string] => [
      `${command} --stall-timeout soon`,
      [...command.split(" "), "--stall-timeout", "soon"],
      `Error: Invalid value "soon" for --stall-timeout: ${STALL_HINT}\n`,
    ],
  ),
  [
    "create --compression brotli",
    ["create", "--compression", "brotli"],
    'Error: Invalid value "brotli" for --compression: expected "gzip[:1-9]", "zstd[:1-19]" or "none"\n',
  ],
  [
    "create --compression gzip:11",
    ["create", "--compression", "gzip:11"],
    'Error: Invalid value "gzip:11" for --compression: expected "gzip[:1-9]", "zstd[:1-19]" or "none"\n',
  ],
  [
    "create --jobs 0",
    ["create", "--jobs", "0"],
    'Error: Invalid value "0" for --jobs: expected a whole number ≥ 1\n',
  ],
  [
    "restore --jobs two",
    ["restore", "full_", "--jobs", "two"],
    'Error: Invalid value "two" for --jobs: expected a whole number ≥ 1\n',
  ],
  [
    "verify --jobs -1",
    ["verify", "--all", "--jobs=-1"],
    'Error: Invalid value "-1" for --jobs: expected a whole number ≥ 1\n',
  ],
  [
    "auto --jobs 1.5",
    ["auto", "--once", "--jobs", "1.5"],
    'Error: Invalid value "1.5" for --jobs: expected a whole number ≥ 1\n',
  ],
  [
    "auto --compression lz4",
    ["auto", "--once", "--compression", "lz4"],
    'Error: Invalid value "lz4" for --compression: expected "gzip[:1-9]", "zstd[:1-19]" or "none"\n',
  ],
];

for (const [name, args, message] of refusals) {
  Deno.test(`${name} is a usage error (exit 2) that touches nothing`, async () => {
    await withWorkspace(async (ws) => {
      makeDatabase(ws.database);
      const result = await runCli([...args, "--database", ws.database, "--dir", ws.dir]);
      assert.equal(result.code, 2, result.stdout + result.stderr);
      assert.equal(result.stderr, message);
      assert.equal(await Deno.stat(ws.dir).catch(() => undefined), undefined);
    });
  });
}

Deno.test("create, restore, verify and auto list --jobs in their help; create and auto list --compression", async () => {
  for (const command of ["create", "restore", "verify", "auto"]) {
    const help = await runCli([command, "--help"]);
    assert.match(help.stdout, /--jobs <n>/, command);
    assert.equal(/--compression <format>/.test(help.stdout), ["create", "auto"].includes(command));
  }
});

Deno.test("auto --once --compression zstd writes a .sql.zst backup and verifies it", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { events: 100 });
    const result = await runCli([
      "auto",
      "--once",
      "--compression",
      "zstd:2",
      "--jobs",
      "1",
      "--database",
      ws.database,
      "--dir",
      ws.dir,
    ]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const names = [...Deno.readDirSync(ws.dir)].map((e) => e.name);
    const data = names.filter((n) => n.startsWith("full_") && !n.endsWith(".meta.json"));
    assert.equal(data.length, 1, names.join(", "));
    assert.match(data[0], /\.sql\.zst$/);
    const sidecar = JSON.parse(
      await Deno.readTextFile(join(ws.dir, data[0].replace(".sql.zst", ".meta.json"))),
    );
    assert.deepEqual([sidecar.file.compressionLevel, sidecar.verification.outcome], [2, "passed"]);
  });
});

Deno.test("create, restore, verify, copy and auto list --stall-timeout in their help", async () => {
  for (const command of ["create", "restore", "verify", "copy", "auto"]) {
    const help = await runCli([command, "--help"]);
    assert.match(help.stdout, /--stall-timeout <duration>/, command);
  }
});
