/**
 * Bad input gets one clear line on stderr, the documented exit code, no stack trace, and
 * nothing written.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ExitCode } from "../../src/core/errors.ts";
import { AUDIT_KEY, readAudit } from "../../src/core/audit.ts";
import { type CliResult, FakeClock, runCli, runScript } from "../helpers/cli.ts";
import {
  ignoresPermissions,
  makeDatabase,
  sha256File,
  snapshotDir,
  withWorkspace,
  type Workspace,
} from "../helpers/workspace.ts";

/** Asserts a failure: the exit code, exactly `line` on stderr, nothing on stdout. */
function assertFails(result: CliResult, code: number, line: string): void {
  assert.equal(result.stderr, `${line}\n`, `stderr of a run that exited ${result.code}`);
  assert.equal(result.code, code);
  assert.equal(result.stdout, "");
  assert.doesNotMatch(result.stderr, /^\s+at /m); // no stack trace
}

/** A workspace with a database and `count` full backups taken a minute apart. */
async function withBackups(
  count: number,
  fn: (ws: Workspace, ids: string[], clock: FakeClock) => Promise<void>,
): Promise<void> {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock();
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const created = await runCli(
        ["create", "--database", ws.database, "--dir", ws.dir, "--format", "json"],
        { clock },
      );
      assert.equal(created.code, 0, created.stderr);
      ids.push(JSON.parse(created.stdout).id);
      clock.advance();
    }
    await fn(ws, ids, clock);
  });
}

Deno.test("an unknown command exits 2 with one line naming it", async () => {
  assertFails(
    await runCli(["bogus"]),
    ExitCode.Usage,
    'Error: Unknown command "bogus" (see --help)',
  );
});

Deno.test("a mistyped command suggests the right one on the same line", async () => {
  assertFails(
    await runCli(["lst"]),
    ExitCode.Usage,
    'Error: Unknown command "lst" (Did you mean list?) (see --help)',
  );
});

Deno.test("an unknown flag exits 2 and writes nothing", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    assertFails(
      await runCli(["create", "--database", ws.database, "--dir", ws.dir, "--compress"]),
      ExitCode.Usage,
      'Error: Unknown option "--compress" (Did you mean --compression?) (see --help)',
    );
    assert.equal(await snapshotDir(ws.dir), null);
  });
});

Deno.test("a missing required id exits 2 naming the argument", async () => {
  assertFails(
    await runCli(["pin"]),
    ExitCode.Usage,
    'Error: Missing required argument "id" (see --help)',
  );
  // restore takes an id or --at TIME
  assertFails(
    await runCli(["restore"]),
    ExitCode.Usage,
    "Error: Cannot restore: give a backup id (see list), or --at TIME",
  );
});

Deno.test("a bad --format value exits 2 listing the allowed values", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    assertFails(
      await runCli(["list", "--dir", ws.dir, "--format", "xml"]),
      ExitCode.Usage,
      'Error: Invalid value "xml" for --format: expected "table" or "json"',
    );
    assertFails(
      await runCli(["create", "--database", ws.database, "--dir", ws.dir, "--format", "table"]),
      ExitCode.Usage,
      'Error: Invalid value "table" for --format: expected "text" or "json"',
    );
    assert.equal(await snapshotDir(ws.dir), null);
  });
});

Deno.test("a bad --type value exits 2 and creates no backup directory", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    for (const type of ["incremental", "pre-restore"]) {
      assertFails(
        await runCli(["create", "--database", ws.database, "--dir", ws.dir, "--type", type]),
        ExitCode.Usage,
        `Error: Invalid value "${type}" for --type: expected "full", "schema" or "base"`,
      );
    }
    assert.equal(await snapshotDir(ws.dir), null);
  });
});

Deno.test("bad --limit, --keep-last and --keep-days values exit 2", async () => {
  await withBackups(1, async (ws) => {
    const before = await snapshotDir(ws.dir);
    for (const value of ["0", "-1", "ten", "2.5"]) {
      assertFails(
        await runCli(["list", "--dir", ws.dir, "--limit", value]),
        ExitCode.Usage,
        `Error: Invalid value "${value}" for --limit: expected a whole number ≥ 1`,
      );
    }
    for (const flag of ["--keep-last", "--keep-days"]) {
      assertFails(
        await runCli(["cleanup", "--dir", ws.dir, flag, "-3"]),
        ExitCode.Usage,
        `Error: Invalid value "-3" for ${flag}: expected a whole number ≥ 0`,
      );
    }
    assertFails(
      await runCli(["cleanup", "--dir", ws.dir], { env: { BACKUP_MAX_BACKUPS: "many" } }),
      ExitCode.Usage,
      'Error: Invalid value "many" for BACKUP_MAX_BACKUPS (setting "retention.keepLast"): expected a whole number ≥ 0',
    );
    assert.deepEqual(await snapshotDir(ws.dir), before);
  });
});

Deno.test("create of a missing database file exits 3 and creates no backup directory", async () => {
  await withWorkspace(async (ws) => {
    const missing = join(ws.root, "missing.db");
    assertFails(
      await runCli(["create", "--database", missing, "--dir", ws.dir]),
      ExitCode.NotFound,
      `Error: Cannot back up "${missing}": the database does not exist (check --database or DATABASE_URL)`,
    );
    assert.equal(await snapshotDir(ws.dir), null);
    await assert.rejects(Deno.stat(missing), Deno.errors.NotFound); // never created empty
  });
});

Deno.test("create of a file that is not a database exits 8 and leaves no file behind", async () => {
  await withWorkspace(async (ws) => {
    const notDb = join(ws.root, "notes.txt");
    await Deno.writeTextFile(notDb, "hello, not a database\n".repeat(100));
    const before = await sha256File(notDb);
    assertFails(
      await runCli(["create", "--database", notDb, "--dir", ws.dir]),
      ExitCode.Database,
      `Error: Cannot read database "${notDb}": file is not a database (is it a SQLite database?)`,
    );
    // The backup directory may have been made before the database was opened, but holds nothing
    // except the audit log's record of the failure.
    assert.deepEqual(Object.keys(await snapshotDir(ws.dir) ?? {}), [AUDIT_KEY]);
    assert.deepEqual(
      (await readAudit(ws.dir)).map((e) => [e.action, e.outcome, e.target, e.error]),
      [[
        "create",
        "failed",
        notDb,
        `Cannot read database "${notDb}": file is not a database (is it a SQLite database?)`,
      ]],
    );
    assert.equal(await sha256File(notDb), before);
  });
});

Deno.test("a backup directory that is a file exits 7 for every command and writes nothing", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const file = join(ws.root, "not-a-dir");
    await Deno.writeTextFile(file, "x");
    const line =
      `Error: Cannot read backup directory "${file}": it is a file, not a directory (check --dir or BACKUP_DIR)`;
    const dbBefore = await sha256File(ws.database);
    for (
      const argv of [
        ["list"],
        ["create", "--database", ws.database],
        ["verify", "--all"],
        ["restore", "full", "--database", ws.database, "--force"],
        ["cleanup", "--keep-last", "1"],
        ["status", "--database", ws.database],
      ]
    ) {
      assertFails(await runCli([...argv, "--dir", file]), ExitCode.Storage, line);
    }
    assertFails(
      await runCli(["list"], { env: { BACKUP_DIR: file } }),
      ExitCode.Storage,
      line,
    );
    assert.equal(await Deno.readTextFile(file), "x");
    assert.equal(await sha256File(ws.database), dbBefore);
    assert.deepEqual(await snapshotDir(ws.root), {
      "app.db": dbBefore,
      "not-a-dir": await sha256File(file),
    });
  });
});

Deno.test("an unreadable backup directory exits 7 for list and create", async () => {
  if (ignoresPermissions()) {
    // Running as root: mode 000 does not stop root from reading, so this case cannot fail here.
    // The "directory is a file" test above covers the same error path.
    return;
  }
  await withBackups(1, async (ws) => {
    const before = await snapshotDir(ws.dir);
    await Deno.chmod(ws.dir, 0o000);
    try {
      const line =
        `Error: Cannot read backup directory "${ws.dir}": permission denied (check the directory's permissions)`;
      assertFails(await runCli(["list", "--dir", ws.dir]), ExitCode.Storage, line);
      assertFails(
        await runCli(["create", "--database", ws.database, "--dir", ws.dir]),
        ExitCode.Storage,
        line,
      );
    } finally {
      await Deno.chmod(ws.dir, 0o700);
    }
    assert.deepEqual(await snapshotDir(ws.dir), before);
  });
});

Deno.test("an unknown id exits 3 for restore and verify and changes nothing", async () => {
  await withBackups(1, async (ws) => {
    const dirBefore = await snapshotDir(ws.dir);
    const dbBefore = await sha256File(ws.database);
    const line =
      'Error: Cannot find backup "20991231": no backup id contains it (run "list" to see the ids)';
    assertFails(
      await runCli(["restore", "20991231", "--database", ws.database, "--dir", ws.dir, "--force"]),
      ExitCode.NotFound,
      line,
    );
    assertFails(
      await runCli(["verify", "20991231", "--database", ws.database, "--dir", ws.dir]),
      ExitCode.NotFound,
      line,
    );
    assert.deepEqual(await snapshotDir(ws.dir), dirBefore);
    assert.equal(await sha256File(ws.database), dbBefore);
  });
});

Deno.test("an ambiguous id exits 4 and lists every candidate", async () => {
  await withBackups(3, async (ws, ids) => {
    const dirBefore = await snapshotDir(ws.dir);
    const dbBefore = await sha256File(ws.database);
    // ids are newest first in the message, as `list` shows them
    const candidates = [...ids].reverse().map((id) => `"${id}"`).join(", ");
    assertFails(
      await runCli(["restore", "full_2026", "--database", ws.database, "--dir", ws.dir, "--force"]),
      ExitCode.Ambiguous,
      `Error: Cannot choose a backup for "full_2026": it matches 3 backups (${candidates}); give more of the id`,
    );
    assertFails(
      await runCli(["verify", "T10", "--dir", ws.dir]),
      ExitCode.Ambiguous,
      `Error: Cannot choose a backup for "T10": it matches 3 backups (${candidates}); give more of the id`,
    );
    assert.deepEqual(await snapshotDir(ws.dir), dirBefore);
    assert.equal(await sha256File(ws.database), dbBefore);
  });
});

Deno.test("restore without --force and without a terminal exits 6 and touches nothing", async () => {
  await withBackups(1, async (ws, [id]) => {
    const dirBefore = await snapshotDir(ws.dir);
    const dbBefore = await sha256File(ws.database);
    assertFails(
      await runCli(["restore", id, "--database", ws.database, "--dir", ws.dir]),
      ExitCode.Refused,
      `Error: Cannot restore backup "${id}": "${ws.database}" would be replaced and there is no terminal to confirm (use --force)`,
    );
    assert.deepEqual(await snapshotDir(ws.dir), dirBefore); // no safety backup either
    assert.equal(await sha256File(ws.database), dbBefore);
  });
});

Deno.test("restore declined at the prompt exits 6 and touches nothing", async () => {
  await withBackups(1, async (ws, [id]) => {
    const dirBefore = await snapshotDir(ws.dir);
    const dbBefore = await sha256File(ws.database);
    for (const answers of [["no"], ["y"], [""], []]) { // [] is end of input
      const questions: string[] = [];
      assertFails(
        await runCli(["restore", id, "--database", ws.database, "--dir", ws.dir], {
          isTerminal: true,
          answers,
          questions,
        }),
        ExitCode.Refused,
        `Error: Cannot restore backup "${id}": not confirmed (nothing was changed)`,
      );
      assert.deepEqual(questions, [
        `Replace "${ws.database}" with backup ${id}? A safety backup is taken first. Type "yes" to continue:`,
      ]);
    }
    assert.deepEqual(await snapshotDir(ws.dir), dirBefore);
    assert.equal(await sha256File(ws.database), dbBefore);
  });
});

Deno.test("verify with neither an id nor --all, or with both, exits 2", async () => {
  await withBackups(1, async (ws, [id]) => {
    const dirBefore = await snapshotDir(ws.dir);
    const line = "Error: Cannot verify: give one backup id or --all (not both, not neither)";
    assertFails(await runCli(["verify", "--dir", ws.dir]), ExitCode.Usage, line);
    assertFails(await runCli(["verify", id, "--all", "--dir", ws.dir]), ExitCode.Usage, line);
    assert.deepEqual(await snapshotDir(ws.dir), dirBefore);
  });
});

Deno.test("an unreachable PostgreSQL server exits 8 without printing the password", async () => {
  await withWorkspace(async (ws) => {
    const result = await runCli([
      "create",
      "--database",
      "postgres://admin:s3cret@db.example.invalid/app",
      "--dir",
      ws.dir,
    ]);
    assertFails(
      result,
      ExitCode.Database,
      'Error: Cannot connect to PostgreSQL at "postgres://admin@db.example.invalid:5432/app": unknown host "db.example.invalid" (check the host name)',
    );
    assert.equal(await snapshotDir(ws.dir), null);
  });
});

Deno.test("the real process exits with the documented code and prints one line, no stack trace", async () => {
  await withWorkspace(async (ws) => {
    const missing = join(ws.root, "missing.db");
    const cases: [string[], number, string][] = [
      [["bogus"], ExitCode.Usage, 'Error: Unknown command "bogus" (see --help)'],
      [
        ["create", "--database", missing, "--dir", ws.dir],
        ExitCode.NotFound,
        `Error: Cannot back up "${missing}": the database does not exist (check --database or DATABASE_URL)`,
      ],
      [
        ["auto", "--dir", ws.dir],
        ExitCode.Usage,
        'Error: Cannot run "auto": no schedule is set (use --every 6h or --cron "0 2 * * *", BACKUP_INTERVAL or BACKUP_CRON, "schedule" in the config file, or --once)',
      ],
    ];
    for (const [argv, code, line] of cases) {
      assertFails(await runScript(argv, { cwd: ws.root }), code, line);
    }
    assert.equal(await snapshotDir(ws.dir), null);
  });
});

Deno.test("restore in a real process without a terminal refuses (stdin is not a terminal)", async () => {
  await withBackups(1, async (ws, [id]) => {
    const dbBefore = await sha256File(ws.database);
    const dirBefore = await snapshotDir(ws.dir);
    assertFails(
      await runScript(["restore", id, "--database", ws.database, "--dir", ws.dir]),
      ExitCode.Refused,
      `Error: Cannot restore backup "${id}": "${ws.database}" would be replaced and there is no terminal to confirm (use --force)`,
    );
    assert.equal(await sha256File(ws.database), dbBefore);
    assert.deepEqual(await snapshotDir(ws.dir), dirBefore);
  });
});
