/**
 * PostgreSQL's WAL archive through the command line, in-process, as the server runs it:
 * `wal-push %p` from the data directory (a relative path) stores `pitr/wal.<name>.gz` and its
 * `.json`, mode 0600; `wal-fetch %f %p` gives the same bytes back. A second push of the same
 * content succeeds, of other content fails (exit 5) and leaves the archived file alone; a fetch
 * of a name the archive lacks exits 1 without a word, any other failure (a bad name, a damaged
 * object, no identity for an encrypted segment) 255 with one line and no file or temporary left.
 * With age recipients, segments are stored encrypted and histories not; the same round trip
 * against a bucket (radosgw). Then the pure pieces around it: the last commit in real
 * `pg_waldump` output, a backup label's positions, and the keyword connection string.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { type CliResult, FakeClock, runCli } from "../helpers/cli.ts";
import { ageKeygen, s3Env, withBucket } from "../helpers/s3_cli.ts";
import { lastCommitIn } from "../../src/pitr/pg_last_commit.ts";
import { keywordConnectionString, parseBackupLabel } from "../../src/pitr/pg_base_backup.ts";
import type { WalManifest } from "../../src/pitr/pg_wal_archive.ts";
import type { ConnectionConfig } from "../../src/engines/postgres/_connection.ts";
import { ExitCode } from "../../src/core/errors.ts";
import { WAL_FETCH_FAILED } from "../../src/cli/commands/wal.ts";

const SEGMENT = "000000010000000000000003";
const AGE_HEADER = "age-encryption.org/v1";

/** A backup history file as PostgreSQL 15 archives it (`<segment>.<offset>.backup`). */
const BACKUP_LABEL = `START WAL LOCATION: 0/3000028 (file 000000010000000000000003)
STOP WAL LOCATION: 0/3000100 (file 000000010000000000000003)
CHECKPOINT LOCATION: 0/3000060
BACKUP METHOD: streamed
BACKUP FROM: primary
START TIME: 2026-12-04 18:02:32 UTC
LABEL: backup-manager 20261204T180232321Z
START TIMELINE: 1
STOP TIME: 2026-12-04 18:02:32 UTC
STOP TIMELINE: 1
`;

/** `n` random bytes (getRandomValues fills at most 65536 at a time). */
function randomBytes(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let offset = 0; offset < n; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, Math.min(n, offset + 65536)));
  }
  return bytes;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** What a test works in: a server's data directory, a restoring one, and a store. */
interface Dirs {
  root: string;
  /** The archiving server's data directory (the archiver's cwd), with `pg_wal/`. */
  datadir: string;
  /** The restoring server's data directory (the restore_command's cwd), with `pg_wal/`. */
  restoreDir: string;
  /** `--dir`: the store; the archive is its `pitr/`. */
  store: string;
}

async function withDirs(fn: (dirs: Dirs) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "bm-pg-wal-archive-test-" });
  try {
    const dirs = {
      root,
      datadir: join(root, "data"),
      restoreDir: join(root, "restore"),
      store: join(root, "store"),
    };
    await Deno.mkdir(join(dirs.datadir, "pg_wal"), { recursive: true });
    await Deno.mkdir(join(dirs.restoreDir, "pg_wal"), { recursive: true });
    await fn(dirs);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** Writes WAL file `name` into the data directory; its path relative to it (as %p). */
async function walFile(dirs: Dirs, name: string, bytes: Uint8Array): Promise<string> {
  await Deno.writeFile(join(dirs.datadir, "pg_wal", name), bytes);
  return `pg_wal/${name}`;
}

/** `wal-push %p` as the archiver runs it: in the data directory. */
function push(
  dirs: Dirs,
  path: string,
  env: Record<string, string> = {},
  store = dirs.store,
  clock = new FakeClock(),
): Promise<CliResult> {
  return runCli(["wal-push", path, "--dir", store], { cwd: dirs.datadir, env, clock });
}

/** `wal-fetch %f pg_wal/RECOVERYXLOG` as recovery runs it: in the restoring data directory. */
function fetch(
  dirs: Dirs,
  name: string,
  env: Record<string, string> = {},
  store = dirs.store,
  dest = "pg_wal/RECOVERYXLOG",
): Promise<CliResult> {
  return runCli(["wal-fetch", name, dest, "--dir", store], { cwd: dirs.restoreDir, env });
}

async function namesIn(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

/** The failure of a wal-fetch: exit 255 and exactly one `Error: wal-fetch NAME: …` line. */
function assertFetchFailed(result: CliResult, name: string, message: RegExp): void {
  assert.equal(result.code, WAL_FETCH_FAILED, result.stderr);
  assert.equal(result.stdout, "");
  const lines = result.stderr.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, result.stderr);
  assert.ok(lines[0].startsWith(`Error: wal-fetch ${name}: `), result.stderr);
  assert.match(lines[0], message);
}

Deno.test("wal-push stores a segment as pitr/wal.<name>.gz + .json (0600); wal-fetch gives the same bytes back", async () => {
  await withDirs(async (dirs) => {
    const bytes = randomBytes(256 * 1024);
    const pushed = await push(dirs, await walFile(dirs, SEGMENT, bytes));
    assert.deepEqual(pushed, { code: 0, stdout: "", stderr: "" }); // quiet on success

    const pitr = join(dirs.store, "pitr");
    assert.deepEqual(await namesIn(pitr), [`wal.${SEGMENT}.gz`, `wal.${SEGMENT}.json`]);
    for (const name of await namesIn(pitr)) {
      assert.equal((await Deno.stat(join(pitr, name))).mode! & 0o777, 0o600, name);
    }
    const manifest: WalManifest = JSON.parse(
      await Deno.readTextFile(join(pitr, `wal.${SEGMENT}.json`)),
    );
    const stored = await Deno.readFile(join(pitr, `wal.${SEGMENT}.gz`));
    assert.equal(manifest.name, SEGMENT);
    assert.equal(manifest.size, bytes.length);
    assert.equal(manifest.sha256, sha256(bytes));
    assert.equal(manifest.pushedAt, "2026-11-23T10:15:00.000Z"); // the CLI's clock
    assert.deepEqual(manifest.stored, {
      key: `wal.${SEGMENT}.gz`,
      sha256: sha256(stored),
      size: stored.length,
    });
    assert.deepEqual([...stored.subarray(0, 2)], [0x1f, 0x8b]); // gzip, not encrypted

    const fetched = await fetch(dirs, SEGMENT);
    assert.deepEqual(fetched, { code: 0, stdout: "", stderr: "" });
    const dest = join(dirs.restoreDir, "pg_wal", "RECOVERYXLOG");
    assert.deepEqual(await Deno.readFile(dest), bytes);
    assert.equal((await Deno.stat(dest)).mode! & 0o777, 0o600);
    assert.deepEqual(await namesIn(join(dirs.restoreDir, "pg_wal")), ["RECOVERYXLOG"]);
    // an absolute %p works too
    const absolute = join(dirs.root, "elsewhere");
    assert.equal((await fetch(dirs, SEGMENT, {}, dirs.store, absolute)).code, 0);
    assert.deepEqual(await Deno.readFile(absolute), bytes);
  });
});

Deno.test("wal-push: the same content again succeeds without writing; other content under the name exits 5 and changes nothing", async () => {
  await withDirs(async (dirs) => {
    const bytes = randomBytes(256 * 1024);
    const path = await walFile(dirs, SEGMENT, bytes);
    assert.equal((await push(dirs, path)).code, 0);
    const pitr = join(dirs.store, "pitr");
    const data = join(pitr, `wal.${SEGMENT}.gz`);
    const manifestPath = join(pitr, `wal.${SEGMENT}.json`);
    const before = { data: await Deno.readFile(data), manifest: await Deno.readFile(manifestPath) };

    // the archiver's retry after a crash: succeeds, the manifest (its pushedAt) is not rewritten
    const later = new FakeClock("2026-11-23T11:00:00.000Z");
    assert.deepEqual(await push(dirs, path, {}, dirs.store, later), {
      code: 0,
      stdout: "",
      stderr: "",
    });
    assert.deepEqual(await Deno.readFile(manifestPath), before.manifest);
    assert.deepEqual(await Deno.readFile(data), before.data);

    // another server's segment of the same name: refused, the archived one stays
    for (const other of [randomBytes(256 * 1024), bytes.subarray(0, bytes.length - 1)]) {
      await Deno.writeFile(join(dirs.datadir, path), other);
      const refused = await push(dirs, path, {}, dirs.store, later);
      assert.equal(refused.code, ExitCode.Integrity, refused.stderr);
      assert.equal(refused.code, 5);
      assert.match(
        refused.stderr,
        new RegExp(
          `^Error: WAL file ${SEGMENT} is already archived with different content .*refusing to overwrite it`,
        ),
      );
      assert.deepEqual(await Deno.readFile(manifestPath), before.manifest);
      assert.deepEqual(await Deno.readFile(data), before.data);
    }
    assert.deepEqual(await namesIn(pitr), [`wal.${SEGMENT}.gz`, `wal.${SEGMENT}.json`]);
    assert.equal((await fetch(dirs, SEGMENT)).code, 0);
    assert.deepEqual(await Deno.readFile(join(dirs.restoreDir, "pg_wal", "RECOVERYXLOG")), bytes);
  });
});

Deno.test("wal-fetch: a name the archive lacks exits 1 without a word; an unreadable store or a bad name exits 255", async () => {
  await withDirs(async (dirs) => {
    assert.equal((await push(dirs, await walFile(dirs, SEGMENT, randomBytes(65536)))).code, 0);
    // past the end of the archive, a timeline that never was, an empty store: all just "not here"
    for (
      const name of ["000000010000000000000004", "00000002.history", "000000020000000000000003"]
    ) {
      assert.deepEqual(await fetch(dirs, name), { code: 1, stdout: "", stderr: "" }, name);
      assert.deepEqual(await namesIn(join(dirs.restoreDir, "pg_wal")), [], name);
    }
    const empty = join(dirs.root, "empty-store");
    assert.deepEqual(await fetch(dirs, SEGMENT, {}, empty), { code: 1, stdout: "", stderr: "" });

    // a store that cannot be read is a failure, not "the archive ends here"
    const notADirectory = join(dirs.root, "a-file");
    await Deno.writeTextFile(notADirectory, "not a store\n");
    assertFetchFailed(await fetch(dirs, SEGMENT, {}, notADirectory), SEGMENT, /Cannot read/);
    assert.deepEqual(await namesIn(join(dirs.restoreDir, "pg_wal")), []);

    // what no server asks for: a failure too
    for (const name of ["RECOVERYXLOG", "00000001000000000000000a", "../" + SEGMENT, ""]) {
      const result = await fetch(dirs, name);
      assertFetchFailed(result, name, /is not a WAL file name/);
      assert.deepEqual(await namesIn(join(dirs.restoreDir, "pg_wal")), [], name);
    }
  });
});

Deno.test("wal-fetch of a damaged stored object exits 255, leaving neither the file nor a temporary", async () => {
  await withDirs(async (dirs) => {
    const bytes = randomBytes(256 * 1024);
    assert.equal((await push(dirs, await walFile(dirs, SEGMENT, bytes))).code, 0);
    const data = join(dirs.store, "pitr", `wal.${SEGMENT}.gz`);
    const stored = await Deno.readFile(data);
    for (const at of [Math.floor(stored.length / 2), stored.length - 5]) {
      const damaged = stored.slice();
      damaged[at] ^= 0x01;
      await Deno.writeFile(data, damaged);
      const result = await fetch(dirs, SEGMENT);
      // the SHA-256 mismatch, or the gzip stream breaking first on a flipped byte mid-stream
      assertFetchFailed(
        result,
        SEGMENT,
        /does not match its recorded SHA-256|invalid|incorrect|unexpected end/,
      );
      assert.ok(!await exists(join(dirs.restoreDir, "pg_wal", "RECOVERYXLOG")), `byte ${at}`);
      assert.deepEqual(await namesIn(join(dirs.restoreDir, "pg_wal")), [], `byte ${at}`);
    }
    // put back, it fetches again
    await Deno.writeFile(data, stored);
    assert.equal((await fetch(dirs, SEGMENT)).code, 0);
    assert.deepEqual(await Deno.readFile(join(dirs.restoreDir, "pg_wal", "RECOVERYXLOG")), bytes);
  });
});

Deno.test("wal-push and wal-fetch carry a timeline history and a backup label as they are", async () => {
  await withDirs(async (dirs) => {
    const history = new TextEncoder().encode(
      "1\t0/3000100\tno recovery target specified\n",
    );
    const label = new TextEncoder().encode(BACKUP_LABEL);
    const labelName = "000000010000000000000003.00000028.backup";
    assert.equal((await push(dirs, await walFile(dirs, "00000002.history", history))).code, 0);
    assert.equal((await push(dirs, await walFile(dirs, labelName, label))).code, 0);
    const pitr = join(dirs.store, "pitr");
    assert.deepEqual(await namesIn(pitr), [
      `wal.${labelName}.gz`,
      `wal.${labelName}.json`,
      "wal.00000002.history.gz",
      "wal.00000002.history.json",
    ]);

    assert.equal(
      (await fetch(dirs, "00000002.history", {}, dirs.store, "pg_wal/RECOVERYHISTORY"))
        .code,
      0,
    );
    assert.deepEqual(
      await Deno.readFile(join(dirs.restoreDir, "pg_wal", "RECOVERYHISTORY")),
      history,
    );
    assert.equal((await fetch(dirs, labelName)).code, 0);
    assert.deepEqual(await Deno.readFile(join(dirs.restoreDir, "pg_wal", "RECOVERYXLOG")), label);
  });
});

Deno.test("with age recipients a segment is stored encrypted, a history is not; fetching the segment needs the identity", async () => {
  await withDirs(async (dirs) => {
    const key = await ageKeygen(dirs.root);
    const recipients = { BACKUP_AGE_RECIPIENTS: key.recipient };
    const withIdentity = { ...recipients, BACKUP_AGE_IDENTITY_FILE: key.identityFile };
    const bytes = randomBytes(256 * 1024);
    const history = new TextEncoder().encode("1\t0/3000100\tno recovery target specified\n");
    assert.deepEqual(await push(dirs, await walFile(dirs, SEGMENT, bytes), recipients), {
      code: 0,
      stdout: "",
      stderr: "",
    });
    const historyPath = await walFile(dirs, "00000002.history", history);
    assert.equal((await push(dirs, historyPath, recipients)).code, 0);

    const pitr = join(dirs.store, "pitr");
    const segment = await Deno.readFile(join(pitr, `wal.${SEGMENT}.gz`));
    assert.equal(new TextDecoder().decode(segment.subarray(0, AGE_HEADER.length)), AGE_HEADER);
    const segmentManifest: WalManifest = JSON.parse(
      await Deno.readTextFile(join(pitr, `wal.${SEGMENT}.json`)),
    );
    assert.equal(segmentManifest.stored.encrypted, true);
    assert.equal(segmentManifest.sha256, sha256(bytes));
    const historyStored = await Deno.readFile(join(pitr, "wal.00000002.history.gz"));
    assert.notEqual(
      new TextDecoder().decode(historyStored.subarray(0, AGE_HEADER.length)),
      AGE_HEADER,
    );
    assert.deepEqual([...historyStored.subarray(0, 2)], [0x1f, 0x8b]);
    const historyManifest: WalManifest = JSON.parse(
      await Deno.readTextFile(join(pitr, "wal.00000002.history.json")),
    );
    assert.equal(historyManifest.stored.encrypted, undefined);

    assert.equal((await fetch(dirs, SEGMENT, withIdentity)).code, 0);
    const dest = join(dirs.restoreDir, "pg_wal", "RECOVERYXLOG");
    assert.deepEqual(await Deno.readFile(dest), bytes);
    await Deno.remove(dest);

    // without the identity: a failure PostgreSQL stops on, no file, no temporary
    assertFetchFailed(await fetch(dirs, SEGMENT, recipients), SEGMENT, /no identity was given/);
    assertFetchFailed(await fetch(dirs, SEGMENT), SEGMENT, /no identity was given/);
    // another key's identity cannot open it either
    const other = await ageKeygen(dirs.root, "other");
    const wrong = { ...recipients, BACKUP_AGE_IDENTITY_FILE: other.identityFile };
    assertFetchFailed(await fetch(dirs, SEGMENT, wrong), SEGMENT, /decrypt/i);
    assert.deepEqual(await namesIn(join(dirs.restoreDir, "pg_wal")), []);
    // the history reads without it
    assert.equal((await fetch(dirs, "00000002.history", recipients)).code, 0);
    assert.deepEqual(await Deno.readFile(dest), history);
  });
});

Deno.test("wal-push and wal-fetch against a bucket: keys under prefix/pitr/, the same bytes back", async () => {
  await withBucket((bucket) =>
    withDirs(async (dirs) => {
      const env = s3Env(bucket.server, dirs.root);
      const url = bucket.url("db-1");
      const bytes = randomBytes(256 * 1024);
      const pushed = await push(dirs, await walFile(dirs, SEGMENT, bytes), env, url);
      assert.deepEqual(pushed, { code: 0, stdout: "", stderr: "" });
      assert.deepEqual(await bucket.keys("db-1/"), [
        `db-1/pitr/wal.${SEGMENT}.gz`,
        `db-1/pitr/wal.${SEGMENT}.json`,
      ]);
      const manifest: WalManifest = JSON.parse(
        new TextDecoder().decode(await bucket.read(`db-1/pitr/wal.${SEGMENT}.json`)),
      );
      assert.equal(manifest.sha256, sha256(bytes));

      // again: succeeds; other content: refused
      assert.equal((await push(dirs, `pg_wal/${SEGMENT}`, env, url)).code, 0);
      await walFile(dirs, SEGMENT, randomBytes(1024));
      assert.equal((await push(dirs, `pg_wal/${SEGMENT}`, env, url)).code, ExitCode.Integrity);

      const fetched = await fetch(dirs, SEGMENT, env, url);
      assert.deepEqual(fetched, { code: 0, stdout: "", stderr: "" });
      assert.deepEqual(await Deno.readFile(join(dirs.restoreDir, "pg_wal", "RECOVERYXLOG")), bytes);
      assert.deepEqual(await fetch(dirs, "000000010000000000000004", env, url), {
        code: 1,
        stdout: "",
        stderr: "",
      });
    })
  );
});

/** Lines of `pg_waldump --rmgr=Transaction` from a PostgreSQL 15 server (and its last error). */
const WALDUMP =
  `rmgr: Transaction len (rec/tot):     66/    66, tx:        720, lsn: 0/0150B268, prev 0/0150B1E8, desc: COMMIT 2026-12-04 18:07:14.536814 UTC; inval msgs: catcache 21
rmgr: Transaction len (rec/tot):     66/    66, tx:        722, lsn: 0/01511820, prev 0/015117A8, desc: COMMIT 2026-12-04 18:07:14.876275 UTC; inval msgs: catcache 21; sync
rmgr: Transaction len (rec/tot):     46/    46, tx:        726, lsn: 0/01527BF8, prev 0/01527BB8, desc: COMMIT 2026-12-04 18:07:15.187974 UTC; subxacts: 727
rmgr: Transaction len (rec/tot):     34/    34, tx:        725, lsn: 0/01527B50, prev 0/01527B10, desc: ABORT 2026-12-04 18:07:15.187862 UTC
`;
const WALDUMP_ERROR =
  "pg_waldump: error: error in WAL record at 0/1527C60: invalid record length at 0/1527CD8: wanted 24, got 0\n";

Deno.test("lastCommitIn() finds the last commit or abort in pg_waldump output", () => {
  const cases: [string, string, string | undefined][] = [
    [
      "commits then an abort: the abort is last",
      WALDUMP + WALDUMP_ERROR,
      "2026-12-04T18:07:15.187Z",
    ],
    [
      "the last of several commits",
      WALDUMP.split("\n").slice(0, 2).join("\n"),
      "2026-12-04T18:07:14.876Z",
    ],
    [
      "a commit without a fraction of a second",
      "rmgr: Transaction len (rec/tot):     34/    34, tx:        731, lsn: 0/0300A1B8, prev 0/0300A180, desc: COMMIT 2026-12-04 18:10:00 UTC\n",
      "2026-12-04T18:10:00.000Z",
    ],
    [
      "a fraction of one digit",
      "rmgr: Transaction len (rec/tot):     34/    34, tx:        731, lsn: 0/0300A1B8, prev 0/0300A180, desc: COMMIT 2026-12-04 18:10:00.5 UTC\n",
      "2026-12-04T18:10:00.500Z",
    ],
    [
      "a two-phase commit (its transaction id comes before the time)",
      "rmgr: Transaction len (rec/tot):     34/    34, tx:          0, lsn: 0/0300A1B8, prev 0/0300A180, desc: COMMIT_PREPARED 725: 2026-12-04 18:07:26.709588 UTC\n" +
      "rmgr: Transaction len (rec/tot):     34/    34, tx:          0, lsn: 0/0300A1F0, prev 0/0300A1B8, desc: ABORT_PREPARED 726: 2026-12-04 18:07:27.1 UTC\n",
      "2026-12-04T18:07:27.100Z",
    ],
    [
      "an abort alone",
      "rmgr: Transaction len (rec/tot):     34/    34, tx:        725, lsn: 0/01527B50, prev 0/01527B10, desc: ABORT 2026-12-04 18:07:15.187862 UTC\n",
      "2026-12-04T18:07:15.187Z",
    ],
    [
      "records of other kinds only",
      `rmgr: Heap        len (rec/tot):     59/    59, tx:        726, lsn: 0/01527BB8, prev 0/01527B78, desc: INSERT off 4 flags 0x00, blkref #0: rel 1663/5/16384 blk 0
rmgr: Standby     len (rec/tot):     50/    50, tx:          0, lsn: 0/01527C28, prev 0/01527BF8, desc: RUNNING_XACTS nextXid 728 latestCompletedXid 727 oldestRunningXid 728
rmgr: XLOG        len (rec/tot):    114/   114, tx:          0, lsn: 0/01527C60, prev 0/01527C28, desc: CHECKPOINT_ONLINE redo 0/1527C28; tli 1; prev tli 1; fpw true; xid 0:728; oid 24576; multi 1; offset 0; oldest xid 716 in DB 1; oldest multi 1 in DB 1; oldest/newest commit timestamp xid: 0/0; oldest running xid 728; online
${WALDUMP_ERROR}`,
      undefined,
    ],
    ["nothing at all", "", undefined],
    ["only the error of a segment without records", WALDUMP_ERROR, undefined],
  ];
  for (const [label, output, expected] of cases) {
    assert.equal(lastCommitIn(output)?.toISOString(), expected, label);
  }
});

Deno.test("parseBackupLabel() reads the positions and timeline of a backup history file", () => {
  assert.deepEqual(parseBackupLabel(BACKUP_LABEL), {
    timeline: 1,
    startLsn: "0/3000028",
    stopLsn: "0/3000100",
    startWal: "000000010000000000000003",
    stopWal: "000000010000000000000003",
  });
  // a later timeline, the stop in another segment
  const promoted = BACKUP_LABEL
    .replace(
      "STOP WAL LOCATION: 0/3000100 (file 000000010000000000000003)",
      "STOP WAL LOCATION: 16/B374D848 (file 0000000200000016000000B3)",
    )
    .replace("START TIMELINE: 1", "START TIMELINE: 2")
    .replace(
      "START WAL LOCATION: 0/3000028 (file 000000010000000000000003)",
      "START WAL LOCATION: 16/A0000028 (file 0000000200000016000000A0)",
    );
  assert.deepEqual(parseBackupLabel(promoted), {
    timeline: 2,
    startLsn: "16/A0000028",
    stopLsn: "16/B374D848",
    startWal: "0000000200000016000000A0",
    stopWal: "0000000200000016000000B3",
  });
  assert.throws(
    () => parseBackupLabel(BACKUP_LABEL.replace(/^STOP WAL LOCATION.*\n/m, "")),
    /has no "STOP WAL LOCATION" line/,
  );
  assert.throws(
    () => parseBackupLabel(BACKUP_LABEL.replace("(file 000000010000000000000003)", "")),
    /"START WAL LOCATION" is unreadable/,
  );
});

Deno.test("keywordConnectionString() quotes every value and never holds the password", () => {
  const config: ConnectionConfig = {
    host: "db.example.com",
    port: 5433,
    user: "backup",
    password: "s3cret pass'word\\",
    database: "app",
    sslMode: "require",
    connectTimeout: 10,
  };
  assert.equal(
    keywordConnectionString(config),
    "host='db.example.com' port=5433 user='backup' dbname='app'",
  );
  const odd = keywordConnectionString({
    ...config,
    host: "/var/run/postgresql dir",
    user: "o'brien",
    database: "my db \\ 'quoted'",
  });
  assert.equal(
    odd,
    "host='/var/run/postgresql dir' port=5433 user='o\\'brien' dbname='my db \\\\ \\'quoted\\''",
  );
  for (const text of [keywordConnectionString(config), odd]) {
    assert.ok(!text.includes("s3cret"), text);
    assert.ok(!text.includes("password"), text);
  }
});
