/**
 * Every command end to end, in-process, against real SQLite files in temporary directories and a
 * fake clock.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { parseMeta } from "../../src/core/backup_file.ts";
import { AUDIT_KEY } from "../../src/core/audit.ts";
import { FakeClock, runCli } from "../helpers/cli.ts";

/** The version of the SQLite library here, which wrote the backup and would load it. */
function sqliteVersion(): string {
  const db = new DatabaseSync(":memory:");
  try {
    return String(db.prepare("SELECT sqlite_version() AS v").get()?.v);
  } finally {
    db.close();
  }
}
import {
  countRows,
  execSql,
  listNames,
  makeDatabase,
  sha256File,
  snapshotDir,
  withWorkspace,
  type Workspace,
} from "../helpers/workspace.ts";

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

/** `create` with the workspace's database and directory; returns the new sidecar as JSON. */
async function create(
  ws: Workspace,
  clock: FakeClock,
  extra: string[] = [],
): Promise<Record<string, unknown> & { id: string }> {
  const result = await runCli(
    ["create", "--database", ws.database, "--dir", ws.dir, "--format", "json", ...extra],
    { clock },
  );
  assert.equal(result.stderr, "");
  assert.equal(result.code, 0);
  return JSON.parse(result.stdout);
}

/** Reads a backup's sidecar from disk (checked: schema and self-checksum). */
async function readSidecar(ws: Workspace, id: string) {
  return parseMeta(await Deno.readFile(join(ws.dir, `${id}.meta.json`)), id);
}

/** `list --format json` ids, newest first. */
async function listIds(ws: Workspace, extra: string[] = []): Promise<string[]> {
  const result = await runCli(["list", "--dir", ws.dir, "--format", "json", ...extra]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout).map((b: { id: string }) => b.id);
}

Deno.test("create writes a gzip file and a sidecar with every documented field", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 3, events: 5, userVersion: 7, applicationId: 4242 });
    const clock = new FakeClock("2026-11-23T10:15:00.123Z");
    const printed = await create(ws, clock, ["--description", "before migration 8"]);
    const id = "full_20261123T101500123Z";
    assert.equal(printed.id, id);
    assert.deepEqual(await listNames(ws.dir), [AUDIT_KEY, `${id}.meta.json`, `${id}.sql.gz`]);

    const meta = await readSidecar(ws, id);
    assert.deepEqual(printed, JSON.parse(JSON.stringify(meta)));
    const gz = await Deno.readFile(join(ws.dir, `${id}.sql.gz`));
    const sql = gunzipSync(gz);
    const sqliteVersion = (() => {
      const db = new DatabaseSync(":memory:");
      try {
        return String(db.prepare("SELECT sqlite_version() AS v").get()?.v);
      } finally {
        db.close();
      }
    })();
    assert.equal(meta.id, id);
    assert.equal(meta.type, "full");
    assert.equal(meta.engine, "sqlite");
    assert.deepEqual(meta.database, { name: "app.db", path: ws.database });
    assert.equal(meta.createdAt, "2026-11-23T10:15:00.123Z");
    assert.equal(
      meta.durationMs,
      new Date(meta.finishedAt).getTime() - new Date(meta.createdAt).getTime(),
    );
    assert.equal(meta.engineVersion, sqliteVersion);
    assert.deepEqual(meta.tables.map((t) => [t.name, t.rows]), [["accounts", 3], ["events", 5]]);
    assert.deepEqual(meta.totals, { tables: 2, rows: 8 });
    assert.equal(meta.sizes.compressed, gz.length);
    assert.equal(meta.sizes.raw, sql.length);
    assert.equal(meta.file.sha256, await sha256File(join(ws.dir, `${id}.sql.gz`)));
    assert.equal(meta.file.name, `${id}.sql.gz`);
    assert.equal(meta.description, "before migration 8");
    assert.equal(meta.settings.user_version, 7);
    assert.equal(meta.settings.application_id, 4242);
    assert.match(new TextDecoder().decode(sql), /CREATE TABLE accounts/);
  });
});

Deno.test("create never records a password or a secret of the database location", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const printed = await create(ws, new FakeClock(), ["--database", `sqlite:${ws.database}`]);
    const text = await Deno.readTextFile(join(ws.dir, `${printed.id}.meta.json`));
    assert.doesNotMatch(text, /password|secret/i);
    assert.deepEqual(JSON.parse(text).database, { name: "app.db", path: ws.database });
  });
});

Deno.test("create in text format prints the id, tables, rows and sizes", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 3, events: 1200 });
    const result = await runCli(["create", "--database", ws.database, "--dir", ws.dir], {
      clock: new FakeClock("2026-11-23T10:15:00.123Z"),
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    const meta = await readSidecar(ws, "full_20261123T101500123Z");
    const lines = result.stdout.split("\n");
    assert.equal(lines[0], "Created backup full_20261123T101500123Z");
    assert.equal(lines[1], `  database    ${ws.database}`);
    assert.equal(lines[2], "  tables      2, rows 1,203");
    assert.match(
      lines[3],
      /^ {2}size {8}\d+(\.\d)? (B|KiB) SQL, \d+(\.\d)? (B|KiB) compressed \(gzip:6\)$/,
    );
    assert.equal(lines[4], `  sha256      ${meta.file.sha256}`);
    assert.match(result.stdout, /\naccounts +3\nevents +1200\n$/);
  });
});

Deno.test("create writes files with mode 0600 in a directory with mode 0700", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const { id } = await create(ws, new FakeClock());
    assert.equal((await Deno.stat(ws.dir)).mode! & 0o777, 0o700);
    for (const name of [`${id}.sql.gz`, `${id}.meta.json`]) {
      assert.equal((await Deno.stat(join(ws.dir, name))).mode! & 0o777, 0o600, name);
    }
  });
});

Deno.test("create --type schema records the tables but restores them empty", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock();
    const { id } = await create(ws, clock, ["--type", "schema"]);
    assert.match(id, /^schema_/);
    const target = join(ws.root, "schema.db");
    const restored = await runCli(["restore", id, "--to", target, "--dir", ws.dir], { clock });
    assert.equal(restored.code, 0, restored.stderr);
    assert.equal(countRows(target, "accounts"), 0);
    const verified = await runCli(["verify", id, "--restore-test", "--dir", ws.dir], { clock });
    assert.equal(verified.code, 0, verified.stdout);
  });
});

Deno.test("list shows the newest first, 10 by default, and --limit changes that", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock();
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      ids.push((await create(ws, clock)).id);
      clock.advance(HOUR);
    }
    const newestFirst = [...ids].reverse();
    assert.deepEqual(await listIds(ws), newestFirst.slice(0, 10));
    assert.deepEqual(await listIds(ws, ["--limit", "3"]), newestFirst.slice(0, 3));
    assert.deepEqual(await listIds(ws, ["--limit", "50"]), newestFirst);

    const table = await runCli(["list", "--dir", ws.dir]);
    assert.equal(table.code, 0);
    const lines = table.stdout.trimEnd().split("\n");
    assert.match(lines[0], /^id +type +created \(UTC\) +rows +size +state +description$/);
    assert.deepEqual(lines.slice(1, 11).map((l) => l.split(/ +/)[0]), newestFirst.slice(0, 10));
    assert.equal(lines[11], "(2 older backups not shown; use --limit)");
    assert.match(lines[1], /^full_20261123T211500000Z +full +2026-11-23 21:15:00 +8 +\S+ B +ok$/);
  });
});

Deno.test("list in json format gives each backup's figures", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const { id } = await create(ws, new FakeClock(), ["--description", "nightly"]);
    const result = await runCli(["list", "--dir", ws.dir, "--format", "json"]);
    const [entry] = JSON.parse(result.stdout);
    assert.deepEqual(
      { ...entry, sizeRaw: typeof entry.sizeRaw, sizeCompressed: typeof entry.sizeCompressed },
      {
        id,
        type: "full",
        createdAt: "2026-11-23T10:15:00.000Z",
        good: true,
        problem: null,
        engine: "sqlite",
        database: "app.db",
        tables: 2,
        rows: 8,
        sizeCompressed: "number",
        sizeRaw: "number",
        holds: null,
        server: null,
        parts: [],
        description: "nightly",
        verification: null,
        pinned: false,
        pinnedAt: null,
        pinReason: null,
        encrypted: false,
        recipients: null,
        signed: false,
        signedBy: null,
        trusted: null,
      },
    );
  });
});

Deno.test("list of an empty or missing directory says so and creates nothing", async () => {
  await withWorkspace(async (ws) => {
    const result = await runCli(["list", "--dir", ws.dir]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, `No backups in "${ws.dir}" (create one with "create")\n`);
    assert.equal(await snapshotDir(ws.dir), null);
    assert.equal((await runCli(["list", "--dir", ws.dir, "--format", "json"])).stdout, "[]\n");
  });
});

Deno.test("an id argument accepts the whole id or any part that matches exactly one backup", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock("2026-11-23T10:15:00.123Z");
    await create(ws, clock);
    clock.set("2026-11-24T08:00:00.456Z");
    const { id } = await create(ws, clock, ["--type", "schema"]);
    assert.equal(id, "schema_20261124T080000456Z");
    for (const query of [id, "schema", "20261124", "T0800", "456Z", "1124T08"]) {
      const result = await runCli(["verify", query, "--dir", ws.dir, "--format", "json"], {
        clock,
      });
      assert.equal(result.code, 0, `${query}: ${result.stderr}`);
      assert.equal(JSON.parse(result.stdout)[0].id, id, query);
    }
  });
});

Deno.test("restore --dry-run prints row counts of backup and current database and changes nothing", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 3, events: 5 });
    const clock = new FakeClock();
    const { id } = await create(ws, clock);
    execSql(ws.database, "INSERT INTO accounts (name, balance) VALUES ('new', 1), ('new2', 2);");
    execSql(ws.database, "DELETE FROM events; CREATE TABLE extra (x);");
    const dbBefore = await sha256File(ws.database);
    const dirBefore = await snapshotDir(ws.dir);

    const text = await runCli(
      ["restore", id, "--dry-run", "--database", ws.database, "--dir", ws.dir],
      { clock },
    );
    assert.equal(text.code, 0, text.stderr);
    assert.equal(
      text.stdout,
      `Dry run: restore ${id} (full, 2026-11-23T10:15:00.000Z) into ${ws.database}\n` +
        "  target exists and would be replaced (after a safety backup)\n" +
        "  migration: backup none, current none\n" +
        `  versions: backup ${sqliteVersion()}, target ${sqliteVersion()}\n\n` +
        "table     backup rows  current rows\n" +
        "accounts            3             5\n" +
        "events              5             0\n" +
        "extra               -             0\n" +
        "Nothing was changed.\n",
    );
    const json = await runCli(
      ["restore", id, "--dry-run", "--format", "json", "--database", ws.database, "--dir", ws.dir],
      { clock },
    );
    assert.deepEqual(JSON.parse(json.stdout).tables, [
      { name: "accounts", backupRows: 3, currentRows: 5 },
      { name: "events", backupRows: 5, currentRows: 0 },
      { name: "extra", backupRows: null, currentRows: 0 },
    ]);
    assert.equal(await sha256File(ws.database), dbBefore);
    assert.deepEqual(await snapshotDir(ws.dir), dirBefore);
  });
});

Deno.test("restore --force takes a pre-restore safety backup and brings the data back", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 3, events: 5, userVersion: 7 });
    const clock = new FakeClock();
    const { id } = await create(ws, clock);
    clock.advance();
    execSql(
      ws.database,
      "UPDATE accounts SET balance = -1; DELETE FROM events WHERE id > 2; PRAGMA user_version = 8;",
    );
    const result = await runCli(
      ["restore", id.slice(-10), "--force", "--database", ws.database, "--dir", ws.dir],
      { clock },
    );
    assert.equal(result.code, 0, result.stderr);
    const safety = "pre-restore_20261123T101600000Z";
    assert.equal(
      result.stdout,
      `Restored ${id} into ${ws.database} (${result.stdout.match(/\((.+) read\)/)![1]} read)\n` +
        `  safety backup of the previous database: ${safety}\n`,
    );
    assert.deepEqual(await listIds(ws), [safety, id]);
    const safetyMeta = await readSidecar(ws, safety);
    assert.equal(safetyMeta.type, "pre-restore");
    assert.deepEqual(safetyMeta.tables.map((t) => [t.name, t.rows]), [["accounts", 3], [
      "events",
      2,
    ]]);
    assert.equal(safetyMeta.settings.user_version, 8);

    assert.equal(countRows(ws.database, "events"), 5);
    const db = new DatabaseSync(ws.database, { readOnly: true });
    try {
      assert.deepEqual(
        db.prepare("SELECT balance FROM accounts ORDER BY id").all().map((r) => r.balance),
        [0, 100, 200],
      );
      assert.equal(db.prepare("PRAGMA user_version").get()?.user_version, 7);
    } finally {
      db.close();
    }
    const verified = await runCli(["verify", "--all", "--dir", ws.dir], { clock });
    assert.equal(verified.code, 0, verified.stdout);
  });
});

Deno.test("restore --force over a WAL database left by a crashed app keeps its last writes in the safety backup", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 3 });
    const clock = new FakeClock();
    const { id } = await create(ws, clock);
    clock.advance();
    // An app in WAL mode whose last commit is still only in the -wal file when it dies: the
    // files are copied while its connection is open, as a crash would leave them.
    const app = new DatabaseSync(ws.database);
    const target = join(ws.root, "crashed.db");
    try {
      app.exec("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;");
      app.exec("INSERT INTO accounts (name, balance) VALUES ('only in the wal', 1);");
      await Deno.copyFile(ws.database, target);
      await Deno.copyFile(`${ws.database}-wal`, `${target}-wal`);
    } finally {
      app.close();
    }
    assert.ok((await Deno.stat(`${target}-wal`)).size > 0);
    const result = await runCli(
      ["restore", id, "--force", "--database", target, "--dir", ws.dir],
      { clock },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(countRows(target, "accounts"), 3);
    assert.deepEqual(await listNames(ws.root), ["app.db", "backups", "crashed.db"]);
    const safety = await readSidecar(ws, "pre-restore_20261123T101600000Z");
    assert.equal(safety.tables.find((t) => t.name === "accounts")?.rows, 4);
  });
});

Deno.test({
  name: "restore --force refuses while another connection has the WAL database open",
  // An idle connection does not stop wal_checkpoint(TRUNCATE); leaving WAL mode is the check.
  fn: async () => {
    await withWorkspace(async (ws) => {
      makeDatabase(ws.database, { accounts: 3 });
      const clock = new FakeClock();
      const { id } = await create(ws, clock);
      clock.advance();
      const app = new DatabaseSync(ws.database);
      try {
        app.exec(
          "PRAGMA journal_mode = WAL; INSERT INTO accounts (name, balance) VALUES ('x', 1);",
        );
        const before = await sha256File(ws.database);
        const result = await runCli(
          ["restore", id, "--force", "--database", ws.database, "--dir", ws.dir],
          { clock },
        );
        assert.equal(result.code, 6);
        assert.equal(
          result.stderr,
          `Error: Cannot replace "${ws.database}": another process has it open (stop the application and retry)\n`,
        );
        assert.equal(await sha256File(ws.database), before);
        assert.equal(Number(app.prepare("SELECT count(*) AS n FROM accounts").get()?.n), 4);
      } finally {
        app.close();
      }
    });
  },
});

Deno.test("restore confirmed with yes on a terminal replaces the database", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 3 });
    const clock = new FakeClock();
    const { id } = await create(ws, clock);
    execSql(ws.database, "DELETE FROM accounts;");
    clock.advance();
    const result = await runCli(["restore", id, "--database", ws.database, "--dir", ws.dir], {
      clock,
      isTerminal: true,
      answers: ["yes"],
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(countRows(ws.database, "accounts"), 3);
    assert.equal((await listIds(ws)).length, 2); // the safety backup
  });
});

Deno.test("restore --to a new path creates that database and takes no safety backup", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 4, events: 6 });
    const clock = new FakeClock();
    const { id } = await create(ws, clock);
    const dbBefore = await sha256File(ws.database);
    const target = join(ws.root, "restored", "copy.db");
    const result = await runCli(["restore", id, "--to", target, "--dir", ws.dir], { clock });
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /safety backup/);
    assert.equal(countRows(target, "accounts"), 4);
    assert.equal(countRows(target, "events"), 6);
    assert.deepEqual(await listIds(ws), [id]);
    assert.equal(await sha256File(ws.database), dbBefore);
    assert.deepEqual(await listNames(join(ws.root, "restored")), ["copy.db"]); // no temporaries
  });
});

Deno.test("verify records its outcome in the sidecar, which still verifies afterwards", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock();
    const { id } = await create(ws, clock);
    clock.set("2026-11-24T00:00:00.000Z");
    const result = await runCli(["verify", id, "--dir", ws.dir], { clock });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    assert.match(result.stdout, new RegExp(`^PASS ${id}\n`));
    assert.match(result.stdout, /\n {2}ok {3}sidecar: schema and self-checksum valid\n/);
    assert.match(result.stdout, /\n {2}ok {3}checksum: sha256 [0-9a-f]{64}\n/);
    assert.match(result.stdout, /\n {2}ok {3}gzip: \d+ bytes of SQL\n/);
    const meta = await readSidecar(ws, id);
    assert.deepEqual(meta.verification, {
      verifiedAt: "2026-11-24T00:00:00.000Z",
      outcome: "passed",
      restoreTest: false,
      detail: "sidecar, size, checksum, gzip passed",
    });
    const again = await runCli(["verify", id, "--dir", ws.dir], { clock });
    assert.equal(again.code, 0, again.stdout);
  });
});

Deno.test("verify --all --restore-test restores every backup and records it", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 3, events: 40 });
    const clock = new FakeClock();
    const ids = [(await create(ws, clock)).id];
    clock.advance();
    ids.push((await create(ws, clock, ["--type", "schema"])).id);
    clock.advance();
    const result = await runCli(["verify", "--all", "--restore-test", "--dir", ws.dir], {
      clock,
    });
    assert.equal(result.code, 0, result.stdout);
    for (const id of ids) {
      assert.match(result.stdout, new RegExp(`PASS ${id}\n`));
      const meta = await readSidecar(ws, id);
      assert.equal(meta.verification?.outcome, "passed");
      assert.equal(meta.verification?.restoreTest, true);
      assert.equal(meta.verification?.verifiedAt, "2026-11-23T10:17:00.000Z");
    }
    assert.match(
      result.stdout,
      /ok {3}restore test: restored 2 tables, row counts match, integrity_check ok/,
    );
    const list = await runCli(["list", "--dir", ws.dir]);
    assert.match(list.stdout, /verified \(restore\)/);
    const again = await runCli(["verify", "--all", "--dir", ws.dir], { clock });
    assert.equal(again.code, 0, again.stdout);
  });
});

/** Five full backups one day apart; the clock then stands half a day after the newest. */
async function withFiveDailyBackups(
  fn: (ws: Workspace, idsNewestFirst: string[], clock: FakeClock) => Promise<void>,
): Promise<void> {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock("2026-11-01T02:00:00.000Z");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await create(ws, clock)).id);
      clock.advance(DAY);
    }
    clock.advance(-DAY / 2);
    await fn(ws, ids.reverse(), clock);
  });
}

interface Decision {
  id: string;
  action: "keep" | "delete";
  reasons: string[];
}

async function cleanupJson(ws: Workspace, clock: FakeClock, args: string[], env = {}) {
  const result = await runCli(["cleanup", "--dir", ws.dir, "--format", "json", ...args], {
    clock,
    env,
  });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "");
  return JSON.parse(result.stdout) as {
    decisions: Decision[];
    incomplete: { key: string; action: string }[];
    dryRun: boolean;
    policyText: string;
  };
}

Deno.test("cleanup --dry-run lists every backup with its reason and deletes nothing", async () => {
  await withFiveDailyBackups(async (ws, ids, clock) => {
    const before = await snapshotDir(ws.dir);
    const plan = await cleanupJson(ws, clock, ["--keep-last", "2", "--dry-run"]);
    assert.equal(plan.dryRun, true);
    assert.deepEqual(plan.decisions.map((d) => [d.id, d.action, d.reasons]), [
      [ids[0], "keep", ["newest good full backup", "one of the last 2 full backups (#1)"]],
      [ids[1], "keep", ["one of the last 2 full backups (#2)"]],
      [ids[2], "delete", ["beyond the last 2 full backups"]],
      [ids[3], "delete", ["beyond the last 2 full backups"]],
      [ids[4], "delete", ["beyond the last 2 full backups"]],
    ]);
    assert.deepEqual(await snapshotDir(ws.dir), before);

    const text = await runCli(["cleanup", "--dir", ws.dir, "--keep-last", "2", "--dry-run"], {
      clock,
    });
    assert.match(
      text.stdout,
      /^Policy: keep the last 2; pinned backups always \(dry run: nothing is deleted\)\n/,
    );
    assert.match(text.stdout, /\n3 backup\(s\) would be deleted, 2 kept, .+ would be freed\n$/);
    assert.deepEqual(await snapshotDir(ws.dir), before);
  });
});

Deno.test("cleanup deletes exactly what its dry run showed", async () => {
  for (
    const policy of [["--keep-last", "2"], ["--keep-days", "3"], [
      "--keep-last",
      "1",
      "--keep-days",
      "2",
    ]]
  ) {
    await withFiveDailyBackups(async (ws, _ids, clock) => {
      const plan = await cleanupJson(ws, clock, [...policy, "--dry-run"]);
      const done = await cleanupJson(ws, clock, policy);
      assert.equal(done.dryRun, false);
      assert.deepEqual(done.decisions, plan.decisions, policy.join(" "));
      const kept = plan.decisions.filter((d) => d.action === "keep").map((d) => d.id);
      assert.ok(kept.length > 0 && kept.length < 5, policy.join(" "));
      assert.deepEqual(await listIds(ws), kept, policy.join(" "));
      assert.deepEqual(
        await listNames(ws.dir),
        [AUDIT_KEY, ...kept.flatMap((id) => [`${id}.meta.json`, `${id}.sql.gz`])].sort(),
      );
    });
  }
});

Deno.test("cleanup --keep-days keeps every backup younger than the limit", async () => {
  await withFiveDailyBackups(async (ws, ids, clock) => {
    const plan = await cleanupJson(ws, clock, ["--keep-days", "3", "--dry-run"]);
    assert.deepEqual(plan.decisions.map((d) => [d.id, d.action, d.reasons]), [
      [ids[0], "keep", ["newest good full backup", "younger than 3 days"]],
      [ids[1], "keep", ["younger than 3 days"]],
      [ids[2], "keep", ["younger than 3 days"]],
      [ids[3], "delete", ["older than 3 days"]],
      [ids[4], "delete", ["older than 3 days"]],
    ]);
  });
});

Deno.test("cleanup never deletes the newest good backup, even with --keep-last 0 --keep-days 0", async () => {
  await withFiveDailyBackups(async (ws, ids, clock) => {
    const done = await cleanupJson(ws, clock, ["--keep-last", "0", "--keep-days", "0"]);
    assert.deepEqual(done.decisions.filter((d) => d.action === "keep").map((d) => d.id), [ids[0]]);
    assert.deepEqual(await listIds(ws), [ids[0]]);
    const again = await cleanupJson(ws, clock, ["--keep-last", "0", "--keep-days", "0"]);
    assert.deepEqual(again.decisions.map((d) => [d.id, d.action]), [[ids[0], "keep"]]);
    assert.deepEqual(await listIds(ws), [ids[0]]);
  });
});

Deno.test("cleanup deletes nothing while the newest backup is damaged, and says so", async () => {
  await withFiveDailyBackups(async (ws, ids, clock) => {
    await Deno.writeFile(join(ws.dir, `${ids[0]}.sql.gz`), new Uint8Array([1, 2, 3]));
    const before = await snapshotDir(ws.dir);
    const hold = `the newest backup ${
      ids[0]
    } is not good: nothing is deleted until a backup succeeds`;
    const done = await cleanupJson(ws, clock, ["--keep-last", "0", "--keep-days", "0"]);
    assert.equal((done as { hold?: string }).hold, hold);
    assert.ok(done.decisions.every((d) => d.action === "keep" && d.reasons.at(-1) === hold));
    assert.deepEqual(await snapshotDir(ws.dir), before);
    const text = await runCli(["cleanup", "--dir", ws.dir, "--keep-last", "1"], { clock });
    assert.match(text.stdout, new RegExp(`\nNothing is deleted: ${hold}\n`));
    assert.match(text.stdout, /\n0 backup\(s\) deleted, 5 kept, 0 B freed\n$/);

    // a good backup after it lifts the hold; the damaged one then counts for no rule
    clock.advance(DAY);
    await create(ws, clock);
    const after = await cleanupJson(ws, clock, ["--keep-last", "2"]);
    assert.deepEqual(after.decisions.map((d) => d.action), [
      "keep",
      "delete",
      "keep",
      "delete",
      "delete",
      "delete",
    ]);
  });
});

Deno.test("cleanup exits 7 and names the file when a removal fails, and removes the rest", async () => {
  await withFiveDailyBackups(async (ws, ids, clock) => {
    // A directory where the oldest backup's data file should be: it cannot be removed as a file.
    const stuck = join(ws.dir, `${ids[4]}.sql.gz`);
    await Deno.remove(stuck);
    await Deno.mkdir(join(stuck, "inside"), { recursive: true });
    const result = await runCli(["cleanup", "--dir", ws.dir, "--keep-last", "2"], { clock });
    assert.equal(result.code, 7);
    assert.match(
      result.stderr,
      new RegExp(`^Error: Cannot remove "${stuck}": [^\\n]+\\n$`),
    );
    assert.match(
      result.stdout,
      /\n3 backup\(s\) deleted \(1 file\(s\) could not be removed\), 2 kept, .+ freed\n$/,
    );
    assert.deepEqual(await listIds(ws), ids.slice(0, 2));
  });
});

Deno.test("cleanup with no policy deletes nothing and says so", async () => {
  await withFiveDailyBackups(async (ws, _ids, clock) => {
    const before = await snapshotDir(ws.dir);
    const result = await runCli(["cleanup", "--dir", ws.dir], { clock });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Policy: no retention rule set: nothing is deleted\n/);
    assert.match(result.stdout, /\n0 backup\(s\) deleted, 5 kept, 0 B freed\n$/);
    assert.deepEqual(await snapshotDir(ws.dir), before);
    const json = await cleanupJson(ws, clock, []);
    assert.ok(json.decisions.every((d) => d.action === "keep"));
    assert.ok(json.decisions.every((d) => d.reasons.includes("no retention rule set")));
    assert.deepEqual(await snapshotDir(ws.dir), before);
  });
});

Deno.test("cleanup removes files of interrupted runs older than 15 minutes and keeps fresh ones", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock();
    const { id } = await create(ws, clock);
    const now = clock.now().getTime();
    const files: Record<string, number> = {
      "full_20261123T090000000Z.sql.gz.partial": now - 16 * 60_000,
      "full_20261123T090000000Z.meta.json.partial": now - 16 * 60_000,
      "full_20261123T091000000Z.sql.gz": now - 60 * 60_000, // sidecar never arrived
      "full_20261123T101400000Z.sql.gz.partial": now - 14 * 60_000,
      "full_20261123T101430000Z.sql.gz": now - 30_000,
    };
    for (const [name, mtime] of Object.entries(files)) {
      const path = join(ws.dir, name);
      await Deno.writeFile(path, new Uint8Array([0x1f, 0x8b, 0]));
      await Deno.utime(path, mtime / 1000, mtime / 1000);
    }
    const plan = await cleanupJson(ws, clock, ["--keep-last", "5", "--dry-run"]);
    assert.deepEqual(
      plan.incomplete.map((i) => [i.key, i.action]).sort(),
      [
        ["full_20261123T090000000Z.meta.json.partial", "delete"],
        ["full_20261123T090000000Z.sql.gz.partial", "delete"],
        ["full_20261123T091000000Z.sql.gz", "delete"],
        ["full_20261123T101400000Z.sql.gz.partial", "keep"],
        ["full_20261123T101430000Z.sql.gz", "keep"],
      ],
    );
    assert.equal((await listNames(ws.dir)).length, 8); // with the audit log
    const done = await cleanupJson(ws, clock, ["--keep-last", "5"]);
    assert.deepEqual(done.incomplete, plan.incomplete);
    assert.deepEqual(
      await listNames(ws.dir),
      [
        AUDIT_KEY,
        `${id}.meta.json`,
        `${id}.sql.gz`,
        "full_20261123T101400000Z.sql.gz.partial",
        "full_20261123T101430000Z.sql.gz",
      ].sort(),
    );
  });
});

Deno.test("DATABASE_URL and BACKUP_DIR are honoured and flags win over them", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 3 });
    const other = join(ws.root, "other.db");
    makeDatabase(other, { accounts: 9 });
    const otherDir = join(ws.root, "other-backups");
    const clock = new FakeClock();
    const env = { DATABASE_URL: `sqlite:${ws.database}`, BACKUP_DIR: ws.dir };

    const fromEnv = await runCli(["create", "--format", "json"], { env, clock });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    assert.equal(JSON.parse(fromEnv.stdout).totals.rows, 8);
    assert.equal((await listIds(ws)).length, 1);
    clock.advance();

    const fromFlags = await runCli(
      ["create", "--format", "json", "--database", other, "--dir", otherDir],
      { env, clock },
    );
    assert.equal(fromFlags.code, 0, fromFlags.stderr);
    assert.equal(JSON.parse(fromFlags.stdout).totals.rows, 14);
    assert.equal((await listIds(ws)).length, 1);
    assert.equal((await listNames(otherDir)).length, 3); // backup, sidecar, audit log

    const listed = await runCli(["list", "--format", "json"], { env });
    assert.deepEqual(JSON.parse(listed.stdout).map((b: { id: string }) => b.id), await listIds(ws));
  });
});

Deno.test("BACKUP_RETENTION_DAYS and BACKUP_MAX_BACKUPS set the policy and flags win over them", async () => {
  await withFiveDailyBackups(async (ws, ids, clock) => {
    const env = { BACKUP_RETENTION_DAYS: "2", BACKUP_MAX_BACKUPS: "1" };
    const fromEnv = await cleanupJson(ws, clock, ["--dry-run"], env);
    assert.equal(
      fromEnv.policyText,
      "keep the last 1 and 2 days; pinned backups always",
    );
    assert.deepEqual(fromEnv.decisions.filter((d) => d.action === "keep").map((d) => d.id), [
      ids[0],
      ids[1],
    ]);
    const fromFlags = await cleanupJson(ws, clock, ["--dry-run", "--keep-last", "4"], env);
    assert.deepEqual(
      fromFlags.decisions.filter((d) => d.action === "keep").map((d) => d.id),
      ids.slice(0, 4),
    );
    const days = await cleanupJson(ws, clock, ["--dry-run", "--keep-days", "0"], {
      BACKUP_RETENTION_DAYS: "30",
    });
    assert.deepEqual(days.decisions.filter((d) => d.action === "keep").map((d) => d.id), [
      ids[0],
    ]);
  });
});
