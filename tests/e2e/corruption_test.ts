/**
 * Damaged backups: a flipped byte, a truncated file, a missing, edited or unparsable sidecar.
 * For each, `verify` fails and says why, `restore --force` refuses with one line, the target
 * database is byte-for-byte untouched and no safety backup is written.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { parseMeta, serializeMeta } from "../../src/core/backup_file.ts";
import { ExitCode } from "../../src/core/errors.ts";
import { FakeClock, runCli } from "../helpers/cli.ts";
import {
  execSql,
  listNames,
  makeDatabase,
  sha256File,
  snapshotDir,
  withoutAudit,
  withWorkspace,
  type Workspace,
} from "../helpers/workspace.ts";

interface Damage {
  name: string;
  /** Damages backup `id` in `dir`. */
  apply(dir: string, id: string): Promise<void>;
  /** The failing check line `verify` prints, as a pattern. */
  verifySays: RegExp;
  /** Exit code and the whole stderr line of `restore --force`. */
  restoreCode: number;
  restoreSays(id: string): RegExp;
}

/** A sidecar as plain JSON, for editing by hand. */
interface SidecarJson {
  formatVersion: number;
  tables: { rows: number }[];
  description?: string;
  file?: unknown;
}

async function editSidecar(
  dir: string,
  id: string,
  edit: (meta: SidecarJson) => void,
): Promise<void> {
  const path = join(dir, `${id}.meta.json`);
  const meta = JSON.parse(await Deno.readTextFile(path));
  edit(meta);
  await Deno.writeTextFile(path, JSON.stringify(meta, null, 2) + "\n");
}

/** The one line `restore` says for a data file whose damage is `detail` (a pattern). */
const dataRefusal = (detail: string) => (id: string) =>
  new RegExp(
    `^Error: Cannot restore backup "${id}": its data file "${id}\\.sql\\.gz" ${detail}; restore another backup\n$`,
  );
const changedBytes = dataRefusal(
  "is damaged \\(bytes changed: \\d+ bytes as recorded, but another SHA-256\\)",
);
const editedSidecar = (id: string) =>
  new RegExp(
    `^Error: Backup "${id}" has a sidecar that was edited after it was written \\(its self-checksum does not match\\)\n$`,
  );

const DAMAGES: Damage[] = [
  {
    name: "a flipped byte in the .sql.gz",
    async apply(dir, id) {
      const path = join(dir, `${id}.sql.gz`);
      const bytes = await Deno.readFile(path);
      bytes[Math.floor(bytes.length / 2)] ^= 0x01;
      await Deno.writeFile(path, bytes);
    },
    verifySays:
      /\n {2}FAIL data file: its data file ".+\.sql\.gz" is damaged \(bytes changed: \d+ bytes as recorded, but another SHA-256\)\n/,
    restoreCode: ExitCode.Integrity,
    restoreSays: changedBytes,
  },
  {
    name: "a flipped byte in the gzip trailer",
    async apply(dir, id) {
      const path = join(dir, `${id}.sql.gz`);
      const bytes = await Deno.readFile(path);
      bytes[bytes.length - 6] ^= 0x80; // CRC-32
      await Deno.writeFile(path, bytes);
    },
    verifySays:
      /\n {2}FAIL data file: its data file ".+" is damaged \(bytes changed: .+\)\n {2}FAIL gzip: the gzip stream is damaged \(.+\)\n/,
    restoreCode: ExitCode.Integrity,
    restoreSays: changedBytes,
  },
  {
    name: "a truncated .sql.gz",
    async apply(dir, id) {
      const path = join(dir, `${id}.sql.gz`);
      const bytes = await Deno.readFile(path);
      await Deno.writeFile(path, bytes.subarray(0, Math.floor(bytes.length / 2)));
    },
    verifySays: /\n {2}FAIL data file: its data file ".+" is truncated \(\d+ of \d+ bytes\)\n/,
    restoreCode: ExitCode.Integrity,
    restoreSays: dataRefusal(
      "is truncated \\(\\d+ of \\d+ bytes\\); an upload or copy stopped early",
    ),
  },
  {
    name: "a missing .sql.gz",
    apply: (dir, id) => Deno.remove(join(dir, `${id}.sql.gz`)),
    verifySays: /\n {2}FAIL data file: its data file ".+\.sql\.gz" is missing\n/,
    restoreCode: ExitCode.Integrity,
    restoreSays: (id) =>
      new RegExp(
        `^Error: Cannot restore backup "${id}": its data file "${id}\\.sql\\.gz" is missing; restore another backup\n$`,
      ),
  },
  {
    name: "a missing sidecar",
    apply: (dir, id) => Deno.remove(join(dir, `${id}.meta.json`)),
    verifySays: /^$/, // verify refuses before checking: see the stderr assertion below
    restoreCode: ExitCode.Integrity,
    restoreSays: (id) =>
      new RegExp(
        `^Error: Cannot use backup "${id}": its sidecar "${id}\\.meta\\.json" is missing, so its data cannot be checked \\(left by an interrupted run or a deleted sidecar; use another backup\\)\n$`,
      ),
  },
  {
    name: "a sidecar with an edited row count",
    apply: (dir, id) => editSidecar(dir, id, (meta) => meta.tables[0].rows += 1),
    verifySays:
      /\n {2}FAIL sidecar: Backup ".+" has a sidecar that was edited after it was written \(its self-checksum does not match\)\n/,
    restoreCode: ExitCode.Integrity,
    restoreSays: editedSidecar,
  },
  {
    name: "a sidecar with only its description edited",
    apply: (dir, id) => editSidecar(dir, id, (meta) => meta.description = "edited by hand"),
    verifySays:
      /\n {2}FAIL sidecar: Backup ".+" has a sidecar that was edited after it was written \(its self-checksum does not match\)\n/,
    restoreCode: ExitCode.Integrity,
    restoreSays: editedSidecar,
  },
  {
    name: "a sidecar that is not valid JSON",
    async apply(dir, id) {
      const path = join(dir, `${id}.meta.json`);
      const text = await Deno.readTextFile(path);
      await Deno.writeTextFile(path, text.slice(0, text.length - 20));
    },
    verifySays: /\n {2}FAIL sidecar: Backup ".+" has a sidecar that is not valid JSON\n/,
    restoreCode: ExitCode.Integrity,
    restoreSays: (id) =>
      new RegExp(`^Error: Backup "${id}" has a sidecar that is not valid JSON\n$`),
  },
  {
    name: "a sidecar whose schema is broken",
    apply: (dir, id) => editSidecar(dir, id, (meta) => delete meta.file),
    verifySays: /\n {2}FAIL sidecar: Backup ".+" has an invalid sidecar: field "file": .+\n/,
    restoreCode: ExitCode.Integrity,
    restoreSays: (id) =>
      new RegExp(`^Error: Backup "${id}" has an invalid sidecar: field "file": .+\n$`),
  },
  {
    name: "junk appended to the .sql.gz",
    async apply(dir, id) {
      const path = join(dir, `${id}.sql.gz`);
      const bytes = await Deno.readFile(path);
      await Deno.writeFile(path, new Uint8Array([...bytes, ...new TextEncoder().encode("junk!")]));
    },
    verifySays:
      /\n {2}FAIL data file: its data file ".+" has 5 bytes appended after its end \(its first \d+ bytes match\)\n/,
    restoreCode: ExitCode.Integrity,
    restoreSays: (id) =>
      new RegExp(
        `^Error: Cannot restore backup "${id}": its data file "${id}\\.sql\\.gz" has 5 bytes appended after its end \\(its first (\\d+) bytes match\\); cut it to \\1 bytes, or restore another backup\n$`,
      ),
  },
  {
    name: "an empty .sql.gz",
    apply: (dir, id) => Deno.writeFile(join(dir, `${id}.sql.gz`), new Uint8Array()),
    verifySays:
      /\n {2}FAIL data file: its data file ".+" is empty \(0 bytes, the sidecar records \d+\)\n/,
    restoreCode: ExitCode.Integrity,
    restoreSays: dataRefusal("is empty \\(0 bytes, the sidecar records \\d+\\)"),
  },
  {
    name: "a gzip of SQL that is not ours in place of the .sql.gz",
    apply: (dir, id) =>
      Deno.writeFile(
        join(dir, `${id}.sql.gz`),
        gzipSync(
          new TextEncoder().encode("PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\nCOMMIT;\n"),
        ),
      ),
    verifySays:
      /\n {2}FAIL data file: its data file ".+" is not a backup-manager dump \(its SQL has no backup-manager header\)\n/,
    restoreCode: ExitCode.Integrity,
    restoreSays: dataRefusal(
      "is not a backup-manager dump \\(its SQL has no backup-manager header\\)",
    ),
  },
  {
    name: "a PostgreSQL dump in place of a SQLite .sql.gz",
    apply: (dir, id) =>
      Deno.writeFile(
        join(dir, `${id}.sql.gz`),
        gzipSync(new TextEncoder().encode(POSTGRES_DUMP_START + "SELECT 1;\n")),
      ),
    verifySays:
      /\n {2}FAIL data file: its data file ".+" holds a PostgreSQL dump, the sidecar describes a SQLite backup\n/,
    restoreCode: ExitCode.Integrity,
    restoreSays: dataRefusal(
      "holds a PostgreSQL dump, the sidecar describes a SQLite backup",
    ),
  },
  {
    name: "a sidecar of a newer format version",
    apply: (dir, id) => editSidecar(dir, id, (meta) => meta.formatVersion = 7),
    verifySays:
      /\n {2}FAIL sidecar: Backup ".+" was made by a newer backup-manager \(format 7, this one reads 1\): upgrade backup-manager to use it\n/,
    restoreCode: ExitCode.Integrity,
    restoreSays: (id) =>
      new RegExp(
        `^Error: Backup "${id}" was made by a newer backup-manager \\(format 7, this one reads 1\\): upgrade backup-manager to use it\n$`,
      ),
  },
];

/** How our PostgreSQL dumps start (`src/engines/postgres/_script.ts`). */
const POSTGRES_DUMP_START = "--\n-- PostgreSQL database dump\n--\n\n" +
  '-- Dumped from database version 15.8\n-- Dumped by backup-manager (database "app")\n';

/** A database with two backups; the newer one (`id`) is the one the tests damage. */
async function withTwoBackups(
  fn: (ws: Workspace, id: string, older: string, clock: FakeClock) => Promise<void>,
): Promise<void> {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 50, events: 2000 });
    const clock = new FakeClock();
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const result = await runCli(
        ["create", "--database", ws.database, "--dir", ws.dir, "--format", "json"],
        { clock },
      );
      assert.equal(result.code, 0, result.stderr);
      ids.push(JSON.parse(result.stdout).id);
      clock.advance();
    }
    await fn(ws, ids[1], ids[0], clock);
  });
}

for (const damage of DAMAGES) {
  Deno.test(`restore refuses ${damage.name} and leaves the target untouched`, async () => {
    await withTwoBackups(async (ws, id, _older, clock) => {
      await damage.apply(ws.dir, id);
      const dirBefore = await snapshotDir(ws.dir);
      const rootBefore = await snapshotDir(ws.root);
      const runs: [string, string[], boolean][] = [
        ["--force", ["--force"], false],
        ["--dry-run", ["--dry-run"], false],
        ["a terminal", [], true],
      ];
      for (const [how, flags, isTerminal] of runs) {
        const questions: string[] = [];
        const result = await runCli(
          ["restore", id, ...flags, "--database", ws.database, "--dir", ws.dir],
          { clock, isTerminal, answers: ["yes"], questions },
        );
        assert.match(result.stderr, damage.restoreSays(id), how);
        assert.equal(result.code, damage.restoreCode, how);
        assert.equal(result.stdout, "", how);
        assert.deepEqual(questions, [], `${how}: a damaged backup is never offered`);
        // the audit log may record the failed --force run; nothing else changes
        assert.deepEqual(
          withoutAudit(await snapshotDir(ws.dir)),
          withoutAudit(dirBefore),
          `${how}: no safety backup`,
        );
        assert.deepEqual(await snapshotDir(ws.root), rootBefore, `${how}: target untouched`);
      }
    });
  });

  Deno.test(`verify fails on ${damage.name} with exit 5 and says what is wrong`, async () => {
    await withTwoBackups(async (ws, id, older, clock) => {
      await damage.apply(ws.dir, id);
      const dbBefore = await sha256File(ws.database);
      const one = await runCli(["verify", id, "--dir", ws.dir], { clock });
      assert.equal(one.code, ExitCode.Integrity);
      if (damage.name === "a missing sidecar") {
        assert.equal(one.stdout, "");
        assert.match(one.stderr, damage.restoreSays(id));
      } else {
        assert.match(one.stdout, new RegExp(`^FAIL ${id}\n`));
        assert.match(one.stdout, damage.verifySays);
        assert.equal(one.stderr, "1 of 1 backup(s) failed verification\n");
      }
      const all = await runCli(["verify", "--all", "--dir", ws.dir], { clock });
      if (damage.name === "a missing sidecar") {
        // Without its sidecar the file is not a backup: --all checks the backups that exist.
        assert.equal(all.code, 0, all.stdout);
        assert.equal(all.stdout.split("\n")[0], `PASS ${older}`);
      } else {
        assert.equal(all.code, ExitCode.Integrity, all.stdout);
        assert.match(all.stdout, new RegExp(`^FAIL ${id}\n[^]*\nPASS ${older}\n`));
        assert.equal(all.stderr, "1 of 2 backup(s) failed verification\n");
      }
      assert.equal(await sha256File(ws.database), dbBefore);
    });
  });
}

Deno.test("list never shows a data file whose sidecar is missing as a backup", async () => {
  await withTwoBackups(async (ws, id, older) => {
    await Deno.remove(join(ws.dir, `${id}.meta.json`));
    const json = await runCli(["list", "--dir", ws.dir, "--format", "json"]);
    assert.deepEqual(JSON.parse(json.stdout).map((b: { id: string }) => b.id), [older]);
    const table = await runCli(["list", "--dir", ws.dir]);
    assert.doesNotMatch(table.stdout, new RegExp(`^${id}`, "m"), "not a row of its own");
  });
});

Deno.test("list marks a damaged backup and status warns about it", async () => {
  await withTwoBackups(async (ws, id, _older, clock) => {
    await DAMAGES[2].apply(ws.dir, id); // truncated
    const table = await runCli(["list", "--dir", ws.dir]);
    assert.match(table.stdout, new RegExp(`\n${id} +full .+ DAMAGED\n`));
    assert.match(
      table.stdout,
      new RegExp(
        `\n! Backup "${id}": its data file "${id}\\.sql\\.gz" is truncated \\(\\d+ of \\d+ bytes\\)\n$`,
      ),
    );
    const json = JSON.parse((await runCli(["list", "--dir", ws.dir, "--format", "json"])).stdout);
    assert.equal(json[0].good, false);
    const status = JSON.parse(
      (await runCli(
        ["status", "--dir", ws.dir, "--database", ws.database, "--format", "json"],
        { clock },
      )).stdout,
    );
    assert.equal(status.systemHealth, "critical");
    assert.equal(status.goodBackups, 1);
  });
});

Deno.test("a sidecar copied over another backup's sidecar is refused", async () => {
  await withTwoBackups(async (ws, id, older, clock) => {
    await Deno.copyFile(join(ws.dir, `${older}.meta.json`), join(ws.dir, `${id}.meta.json`));
    const dbBefore = await sha256File(ws.database);
    const restore = await runCli(
      ["restore", id, "--force", "--database", ws.database, "--dir", ws.dir],
      { clock },
    );
    assert.equal(restore.code, ExitCode.Integrity);
    assert.equal(
      restore.stderr,
      `Error: Backup "${id}" has a sidecar that describes another backup\n`,
    );
    const verify = await runCli(["verify", id, "--dir", ws.dir], { clock });
    assert.equal(verify.code, ExitCode.Integrity);
    assert.equal(await sha256File(ws.database), dbBefore);
  });
});

Deno.test("verify --restore-test fails a backup whose SQL restores to other row counts", async () => {
  await withTwoBackups(async (ws, id, _older, clock) => {
    // The sidecar is re-sealed consistently, so only the restore test can notice the lie.
    const path = join(ws.dir, `${id}.meta.json`);
    const meta = parseMeta(await Deno.readFile(path), id);
    meta.tables[0].rows += 1;
    await Deno.writeFile(path, serializeMeta(meta));
    const result = await runCli(["verify", id, "--restore-test", "--dir", ws.dir], { clock });
    assert.equal(result.code, ExitCode.Integrity, result.stdout);
    assert.match(
      result.stdout,
      /\n {2}FAIL restore test: table "accounts" has 50 rows, expected 51\n/,
    );
    const list = JSON.parse((await runCli(["list", "--dir", ws.dir, "--format", "json"])).stdout);
    assert.equal(list[0].good, false);
    assert.equal(list[0].verification.outcome, "failed");
  });
});

Deno.test("a backup whose SQL fails to load leaves the target untouched though its checksum matches", async () => {
  await withTwoBackups(async (ws, id, _older, clock) => {
    // A sidecar re-sealed over bad SQL, as a buggy writer would leave it: only loading can tell.
    const cases: [string, number, string][] = [
      [
        "BEGIN;\nCREATE TABLE accounts (id INTEGER PRIMARY KEY);\nINSERT INTO nope VALUES (2);\nCOMMIT;\n",
        ExitCode.Database,
        "Error: Cannot restore: SQLite rejected the script: no such table: nope",
      ],
      [
        "BEGIN;\nCREATE TABLE accounts (id INTEGER PRIMARY KEY);\nINSERT INTO accounts VALUES (1),\n",
        ExitCode.Integrity,
        "Error: Cannot restore: the SQL script ends in the middle of a statement (the backup is truncated)",
      ],
      [
        "BEGIN;\nCREATE TABLE accounts (id INTEGER PRIMARY KEY);\n",
        ExitCode.Integrity,
        "Error: Cannot restore: the SQL script never commits (the backup is truncated)",
      ],
    ];
    for (const [body, code, line] of cases) {
      const sql = "-- backup-manager SQLite dump\n" + body;
      const gz = gzipSync(new TextEncoder().encode(sql));
      await Deno.writeFile(join(ws.dir, `${id}.sql.gz`), gz);
      const path = join(ws.dir, `${id}.meta.json`);
      const meta = parseMeta(await Deno.readFile(path), id);
      meta.sizes = { raw: sql.length, compressed: gz.length };
      meta.file.sha256 = createHash("sha256").update(gz).digest("hex");
      delete meta.verification;
      await Deno.writeFile(path, serializeMeta(meta));

      const dbBefore = await sha256File(ws.database);
      const rootBefore = await listNames(ws.root);
      const result = await runCli(
        ["restore", id, "--force", "--database", ws.database, "--dir", ws.dir],
        { clock },
      );
      clock.advance();
      assert.equal(result.stderr, `${line}\n`);
      assert.equal(result.code, code);
      assert.equal(result.stdout, "");
      assert.equal(await sha256File(ws.database), dbBefore, sql);
      assert.deepEqual(await listNames(ws.root), rootBefore, "no temporary file is left");
    }
  });
});

Deno.test("the data files of two backups swapped: each names the other's", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database, { accounts: 50, events: 2000 });
    const clock = new FakeClock();
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      execSql(ws.database, `INSERT INTO accounts (name, balance) VALUES ('run ${i}', ${i})`);
      const made = await runCli(
        ["create", "--database", ws.database, "--dir", ws.dir, "--format", "json"],
        { clock },
      );
      ids.push(JSON.parse(made.stdout).id);
      clock.advance();
    }
    const [a, b] = ids.map((id) => join(ws.dir, `${id}.sql.gz`));
    const bytesA = await Deno.readFile(a);
    await Deno.writeFile(a, await Deno.readFile(b));
    await Deno.writeFile(b, bytesA);
    for (const [id, other] of [[ids[0], ids[1]], [ids[1], ids[0]]]) {
      const says = `its data file "${id}.sql.gz" holds backup "${other}"'s data (files swapped)`;
      const before = await sha256File(ws.database);
      for (const flags of [["--force"], ["--dry-run"]]) {
        const restored = await runCli(
          ["restore", id, ...flags, "--database", ws.database, "--dir", ws.dir],
          { clock },
        );
        assert.equal(restored.code, ExitCode.Integrity);
        assert.equal(
          restored.stderr,
          `Error: Cannot restore backup "${id}": ${says}; give each data file its own backup's name, or restore another backup\n`,
        );
      }
      assert.equal(await sha256File(ws.database), before);
      const verified = await runCli(["verify", id, "--dir", ws.dir], { clock });
      assert.equal(verified.code, ExitCode.Integrity);
      assert.match(
        verified.stdout,
        new RegExp(`\n {2}FAIL data file: ${says.replace(/[().]/g, "\\$&")}\n`),
      );
    }
  });
});

Deno.test("a SQLite backup restored into PostgreSQL is refused in one line before any connection", async () => {
  await withTwoBackups(async (ws, id, _older, clock) => {
    // nothing listens on port 1: the refusal comes before any attempt to connect
    const target = "postgres://nobody@127.0.0.1:1/app";
    for (const flags of [["--force"], ["--dry-run"]]) {
      const result = await runCli(
        ["restore", id, ...flags, "--database", target, "--dir", ws.dir],
        { clock },
      );
      assert.equal(
        result.stderr,
        `Error: Cannot restore backup "${id}": a SQLite backup cannot restore into PostgreSQL (choose a PostgreSQL backup, or a SQLite --database)\n`,
      );
      assert.equal(result.code, ExitCode.Integrity);
    }
  });
});

Deno.test("list names a data file whose sidecar is missing, and verify refuses it", async () => {
  await withTwoBackups(async (ws, id, older, clock) => {
    await Deno.remove(join(ws.dir, `${id}.meta.json`));
    const table = await runCli(["list", "--dir", ws.dir]);
    assert.match(table.stdout, new RegExp(`\n${older} +full `));
    assert.ok(
      table.stdout.endsWith(
        `\n! Data file "${id}.sql.gz" has no sidecar "${id}.meta.json": not a backup (left by an interrupted run or a deleted sidecar; cleanup removes it)\n`,
      ),
      table.stdout,
    );
    const status = JSON.parse(
      (await runCli(
        ["status", "--dir", ws.dir, "--database", ws.database, "--format", "json"],
        { clock },
      )).stdout,
    );
    assert.equal(status.incompleteFiles, 1);
  });
});

Deno.test("a sidecar sealed again over SQL that is not ours is refused before the SQL runs", async () => {
  await withTwoBackups(async (ws, id, _older, clock) => {
    // the sizes and SHA-256 vouch for the file: only its first line tells it is not ours
    const sql = "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\nDROP TABLE accounts;\nCOMMIT;\n";
    const gz = gzipSync(new TextEncoder().encode(sql));
    await Deno.writeFile(join(ws.dir, `${id}.sql.gz`), gz);
    const path = join(ws.dir, `${id}.meta.json`);
    const meta = parseMeta(await Deno.readFile(path), id);
    meta.sizes = { raw: sql.length, compressed: gz.length };
    meta.file.sha256 = createHash("sha256").update(gz).digest("hex");
    await Deno.writeFile(path, serializeMeta(meta));
    const says =
      `its data file "${id}.sql.gz" is not a backup-manager dump (its SQL has no backup-manager header)`;
    const before = await sha256File(ws.database);
    for (const flags of [["--force"], ["--dry-run"]]) {
      const result = await runCli(
        ["restore", id, ...flags, "--database", ws.database, "--dir", ws.dir],
        { clock },
      );
      assert.equal(
        result.stderr,
        `Error: Cannot restore backup "${id}": ${says}; restore another backup\n`,
      );
      assert.equal(result.code, ExitCode.Integrity);
    }
    assert.equal(await sha256File(ws.database), before);
    const verified = await runCli(["verify", id, "--dir", ws.dir], { clock });
    assert.equal(verified.code, ExitCode.Integrity);
    assert.ok(verified.stdout.includes(`\n  FAIL content: ${says}\n`), verified.stdout);
  });
});

Deno.test("verify --restore-test of a SQLite backup against PostgreSQL is refused, recording nothing", async () => {
  await withTwoBackups(async (ws, id, _older, clock) => {
    const before = await snapshotDir(ws.dir);
    const result = await runCli(
      [
        "verify",
        id,
        "--restore-test",
        "--database",
        "postgres://nobody@127.0.0.1:1/app",
        "--dir",
        ws.dir,
      ],
      { clock },
    );
    assert.equal(result.code, ExitCode.Integrity);
    assert.equal(
      result.stderr,
      `Error: Cannot restore-test backup "${id}": a SQLite backup cannot restore into PostgreSQL (choose a PostgreSQL backup, or a SQLite --database)\n`,
    );
    assert.deepEqual(
      withoutAudit(await snapshotDir(ws.dir)),
      withoutAudit(before),
      "no verdict in the sidecar",
    );
  });
});
