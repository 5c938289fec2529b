/**
 * `replicate` and `restore --at` through the command line, in-process with the real clock: an
 * application writes bursts of rows while `replicate` runs every 200 ms; each moment between
 * bursts restores to exactly the rows committed by then; `--dry-run` says what it would use;
 * replacing the database needs `--force` and leaves a `pre-restore` backup; `list --pitr` shows the
 * generation's span and `status` the lag (a warning past pitr.maxLag); mistakes are one line.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { runCli } from "../helpers/cli.ts";
import { withWorkspace } from "../helpers/workspace.ts";
import { systemClock } from "../../src/core/clock.ts";
import { replicateWhileWriting, sleep } from "../helpers/pitr_writer.ts";
import { ExitCode } from "../../src/core/errors.ts";

function rowsIn(path: string): number {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return Number(db.prepare("SELECT count(*) AS n FROM events").get()!.n);
  } finally {
    db.close();
  }
}

Deno.test("replicate ships the WAL as it is written; restore --at gives each moment back", async () => {
  await withWorkspace(async (ws) => {
    const app = new DatabaseSync(ws.database);
    app.exec(`PRAGMA journal_mode = WAL;
      CREATE TABLE events (id INTEGER PRIMARY KEY, at TEXT, body BLOB);`);
    const config = join(ws.root, "backup-manager.json");
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        database: ws.database,
        backupDir: ws.dir,
        timezone: "UTC",
        pitr: { interval: "200ms", checkpointBytes: 64 * 1024, maxLag: "2s" },
      }),
    );
    const cli = (args: string[], extra: Parameters<typeof runCli>[1] = {}) =>
      runCli(["--config", config, ...args], { clock: systemClock, ...extra });

    const insert = app.prepare("INSERT INTO events (at, body) VALUES (?, randomblob(700))");
    const { replicated, moments } = await replicateWhileWriting({
      cli,
      app,
      bursts: 4,
      write: async (burst) => {
        for (let t = 0; t < 5; t++) {
          app.exec("BEGIN");
          for (let i = 0; i < 20 + burst * 30; i++) insert.run(new Date().toISOString());
          app.exec("COMMIT");
          await sleep(20);
        }
      },
      warmupMs: 400,
      settleMs: 700, // more than three steps: every commit of the burst is seen
    });
    assert.equal(replicated.code, 0, replicated.stderr + replicated.stdout);
    assert.match(replicated.stdout, /replicating .*app\.db to .*pitr every 200ms/);
    assert.match(replicated.stdout, /generation g\d{8}T\d{9}Z started: the first snapshot/);
    assert.match(replicated.stdout, /stopped: \d+ commits shipped/);

    for (const [i, moment] of moments.entries()) {
      const out = join(ws.root, `at-${i}.db`);
      const result = await cli(["restore", "--at", moment.at, "--to", out]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(rowsIn(out), moment.rows, `moment ${i} (${moment.at})`);
    }

    // list --pitr: one generation, its span from the snapshot to the newest shipped commit
    const generations = await cli(["list", "--pitr", "--format", "json"]);
    assert.equal(generations.code, 0, generations.stderr);
    const listed = JSON.parse(generations.stdout);
    assert.equal(listed.generations.length, 1, generations.stdout);
    const [generation] = listed.generations;
    assert.ok(generation.commits >= 20 && generation.segments > 0, generations.stdout);
    assert.ok(generation.from < moments[0].at && generation.to <= moments[3].at);
    assert.equal(listed.newestShipped, generation.to);
    assert.ok(listed.ageSeconds >= 0);
    const table = await cli(["list", "--pitr"]);
    assert.match(table.stdout, /^generation +from +to +segments +commits +stored\n/);
    assert.match(table.stdout, /newest shipped commit \S+ \(\d+ s ago\), in /);

    // status: replication's figures; idle since the last shipping is no lag
    const idle = JSON.parse((await cli(["status", "--format", "json"])).stdout);
    assert.equal(idle.replication.generations, 1);
    assert.equal(idle.replication.newestShipped, generation.to);
    assert.equal(idle.replication.lagSeconds, 0);
    assert.ok(!idle.reasons.some((r: { rule: string }) => r.rule === "replication"));
    // a commit nobody ships: past pitr.maxLag, a warning naming the setting
    insert.run(new Date().toISOString());
    await sleep(2500);
    const behind = JSON.parse((await cli(["status", "--format", "json"])).stdout);
    assert.ok(behind.replication.lagSeconds >= 2, JSON.stringify(behind.replication));
    const reason = behind.reasons.find((r: { rule: string }) => r.rule === "replication");
    assert.match(
      reason.message,
      /^replication is \d+ s behind the database, more than pitr\.maxLag 2 s/,
    );
    const text = await cli(["status"]);
    assert.match(text.stdout, /replication +1 generation, newest from \S+, newest commit shipped/);

    const dry = await cli(["restore", "--at", moments[1].at, "--dry-run", "--format", "json"]);
    assert.equal(dry.code, 0, dry.stderr);
    const plan = JSON.parse(dry.stdout);
    assert.match(plan.generation, /^g\d{8}T\d{9}Z$/);
    assert.ok(plan.segments > 0 && plan.commits >= 10, dry.stdout + replicated.stdout);
    assert.ok(plan.reflects <= moments[1].at);

    // into place: refused without --force (no terminal), then a safety backup first
    app.close();
    const refused = await cli(["restore", "--at", moments[0].at]);
    assert.equal(refused.code, ExitCode.Refused, refused.stderr);
    assert.match(refused.stderr, /exists and would be replaced \(use --force\)/);
    const restored = await cli(["restore", "--at", moments[0].at, "--force"]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /safety backup of the previous database: pre-restore_/);
    assert.equal(rowsIn(ws.database), moments[0].rows);
    const list = await cli(["list", "--format", "json"]);
    assert.equal(JSON.parse(list.stdout)[0].type, "pre-restore");
  });
});

Deno.test("restore --at mistakes are one line with their exit code, nothing touched", async () => {
  await withWorkspace(async (ws) => {
    const db = new DatabaseSync(ws.database);
    db.exec("PRAGMA journal_mode = WAL; CREATE TABLE t (x)");
    db.close();
    const common = ["--database", ws.database, "--dir", ws.dir];
    const cases: [string[], number, RegExp][] = [
      [
        ["restore", "--at", "yesterday", ...common],
        ExitCode.Usage,
        /Invalid value "yesterday" for --at/,
      ],
      [["restore", "full_x", "--at", "latest", ...common], ExitCode.Usage, /not both/],
      [["restore", ...common], ExitCode.Usage, /give a backup id/],
      [["restore", "--at", "latest", ...common], ExitCode.NotFound, /no replicated snapshot/],
    ];
    const env = {
      BACKUP_AGE_RECIPIENTS: "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
    };
    for (const [args, code, message] of cases) {
      const result = await runCli(args, { env });
      assert.equal(result.code, code, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    }
  });
});
