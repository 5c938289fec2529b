/**
 * No run hangs: the stall watchdog against real servers. A PostgreSQL table locked by another
 * session (create, restore) and an S3 endpoint that accepts connections and never answers
 * (create, copy) fail with the stall line and exit 10 within seconds of `--stall-timeout 2s`,
 * leave nothing behind, and the server's backend lets its lock wait go.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startCluster, type TestCluster } from "../helpers/pg_cluster.ts";
import { runCli } from "../helpers/cli.ts";
import { makeDatabase, withWorkspace } from "../helpers/workspace.ts";
import { createDatabase, PG_BIN, psql, uniqueName } from "../helpers/pg_tools.ts";
import { ExitCode } from "../../src/core/errors.ts";
import { withReceiver } from "../helpers/http_receiver.ts";

/** A generous bound: the runs stall after 2 s; a loaded machine must not make the test flaky. */
const WITHIN_MS = 60_000;
/**
 * With a hung store, the leftover sweep before the run and the audit line after it go to that
 * store too, each given up by the S3 client's own timeouts (about 15 s): a wider bound.
 */
const S3_WITHIN_MS = 90_000;

/** A psql session holding `LOCK TABLE <table> IN <mode> MODE` until `release()`. */
async function holdLock(url: string, table: string, mode: string) {
  const parsed = new URL(url);
  const child = new Deno.Command(join(PG_BIN, "psql"), {
    args: ["-X", "-q", "-A", "-t", `--dbname=${parsed.href}`],
    env: { PGAPPNAME: "lock-holder" },
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(
    new TextEncoder().encode(`BEGIN; LOCK TABLE ${table} IN ${mode} MODE; SELECT 'locked';\n`),
  );
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("locked")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the lock holder ended before it held the lock");
    seen += value;
  }
  return {
    async release() {
      await writer.write(new TextEncoder().encode("ROLLBACK;\n"));
      await writer.close();
      await reader.cancel();
      await child.status;
    },
  };
}

/** Our sessions on `database` still there, and any of them waiting for a lock. */
async function ourSessions(cluster: TestCluster, database: string): Promise<string> {
  return (await psql(
    cluster.url,
    `SELECT count(*) || ' sessions, ' || count(*) FILTER (WHERE wait_event_type = 'Lock') || ' waiting'
       FROM pg_stat_activity WHERE application_name = 'backup-manager' AND datname = '${database}'`,
  )).trim();
}

/** Polls {@linkcode ourSessions} until none is left (disconnecting takes a moment). */
async function sessionsGone(cluster: TestCluster, database: string): Promise<string> {
  let state = "";
  for (let i = 0; i < 50; i++) {
    state = await ourSessions(cluster, database);
    if (state === "0 sessions, 0 waiting") break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return state;
}

/** Names in `dir` (none when it does not exist). */
async function filesIn(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.sort();
}

/** The audit log's lines in `dir`. */
async function auditLines(
  dir: string,
): Promise<{ action: string; outcome: string; error?: string }[]> {
  const text = await Deno.readTextFile(join(dir, "audit.jsonl")).catch(() => "");
  return text.split("\n").filter(Boolean).map((line) => JSON.parse(line));
}

Deno.test("the stall watchdog against a PostgreSQL table locked by another session", async (t) => {
  const cluster = await startCluster();
  try {
    await t.step("create fails with the stall line and lets the lock wait go", async () => {
      await withReceiver(200, (receiver) =>
        withWorkspace(async (ws) => {
          const name = uniqueName("locked");
          const url = await createDatabase(cluster.url, name);
          await psql(url, "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100);");
          const lock = await holdLock(url, "t", "ACCESS EXCLUSIVE");
          try {
            const started = performance.now();
            const created = await runCli([
              "create",
              "--database",
              url,
              "--dir",
              ws.dir,
              "--stall-timeout",
              "2s",
            ], {
              env: {
                BACKUP_WEBHOOK_URL: `${receiver.url}/hook`,
                BACKUP_HEALTHCHECK_URL: `${receiver.url}/ping`,
              },
            });
            const took = performance.now() - started;
            assert.equal(created.code, ExitCode.Stalled, created.stderr);
            assert.match(
              created.stderr,
              /^Error: Stalled: no progress for 2 s while dumping the database \(.*"postgres:\/\/postgres@127\.0\.0\.1:\d+\/locked_\w+"\): check for a lock held by another session \(pg_locks\) or a hung database server; nothing was kept\n$/,
            );
            assert.ok(took < WITHIN_MS, `took ${took} ms`);
            assert.equal(await sessionsGone(cluster, name), "0 sessions, 0 waiting");
            const listed = await runCli(["list", "--dir", ws.dir]);
            assert.match(listed.stdout, /^No backups in/);
            assert.deepEqual(
              (await filesIn(ws.dir)).filter((f) => !/^(audit\.jsonl|\.lock.*)$/.test(f)),
              [],
            );
            const audit = await auditLines(ws.dir);
            assert.equal(audit.at(-1)?.action, "create");
            assert.equal(audit.at(-1)?.outcome, "failed");
            assert.match(audit.at(-1)?.error ?? "", /^Stalled: no progress for 2 s/);
            // notified and pinged as any failure
            const hook = JSON.parse(receiver.requests.find((r) => r.path === "/hook")!.body);
            assert.equal(hook.event, "failure");
            assert.match(JSON.stringify(hook), /Stalled: no progress for 2 s while dumping/);
            assert.deepEqual(
              receiver.requests.filter((r) => r.path.startsWith("/ping")).map((r) => r.path),
              ["/ping/start", "/ping/fail"],
            );
          } finally {
            await lock.release();
          }
        }));
    });

    await t.step("auto --once: a stalled cycle fails as any failed cycle, exit 10", async () => {
      await withWorkspace(async (ws) => {
        const name = uniqueName("locked");
        const url = await createDatabase(cluster.url, name);
        await psql(url, "CREATE TABLE t (id int);");
        const lock = await holdLock(url, "t", "ACCESS EXCLUSIVE");
        let ran;
        try {
          ran = await runCli([
            "auto",
            "--once",
            "--retries",
            "0",
            "--database",
            url,
            "--dir",
            ws.dir,
            "--stall-timeout",
            "2s",
          ]);
          assert.equal(await sessionsGone(cluster, name), "0 sessions, 0 waiting");
        } finally {
          await lock.release();
        }
        assert.equal(ran.code, ExitCode.Stalled, ran.stdout + ran.stderr);
        assert.match(ran.stdout, /Stalled: no progress for 2 s while dumping the database/);
        assert.deepEqual(
          (await filesIn(ws.dir)).filter((f) => !/^(audit\.jsonl|\.lock.*)$/.test(f)),
          [],
        );
      });
    });

    await t.step("restore --clean stalls while loading; the target is left as it was", async () => {
      await withWorkspace(async (ws) => {
        const name = uniqueName("target");
        const url = await createDatabase(cluster.url, name);
        await psql(url, "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100);");
        const created = await runCli(["create", "--database", url, "--dir", ws.dir]);
        assert.equal(created.code, 0, created.stderr);
        const id = created.stdout.match(/Created backup (\S+)/)![1];
        await psql(url, "INSERT INTO t VALUES (101);");
        // SHARE lets the safety backup read the table, and makes the restore's DROP TABLE wait
        const lock = await holdLock(url, "t", "SHARE");
        let restored;
        const started = performance.now();
        try {
          restored = await runCli([
            "restore",
            id,
            "--database",
            url,
            "--dir",
            ws.dir,
            "--clean",
            "--force",
            "--stall-timeout",
            "2s",
          ]);
          assert.equal(await sessionsGone(cluster, name), "0 sessions, 0 waiting");
        } finally {
          await lock.release();
        }
        const took = performance.now() - started;
        assert.equal(restored.code, ExitCode.Stalled, restored.stderr);
        assert.match(
          restored.stderr,
          new RegExp(
            `^Error: Stalled: no progress for 2 s while loading into the database \\(backup "${id}" into "postgres://postgres@127\\.0\\.0\\.1:\\d+/${name}"\\): check for a lock held by another session \\(pg_locks\\) or a hung database server; the target was left as it was\\n$`,
          ),
        );
        assert.ok(took < WITHIN_MS, `took ${took} ms`);
        assert.equal((await psql(url, "SELECT count(*) FROM t")).trim(), "101");
        const audit = await auditLines(ws.dir);
        assert.equal(audit.at(-1)?.action, "restore");
        assert.equal(audit.at(-1)?.outcome, "failed");
        assert.equal(
          (await psql(cluster.url, "SELECT count(*) FROM pg_database WHERE datname LIKE 'bm_%'"))
            .trim(),
          "0",
          "no load database is left",
        );
      });
    });

    await t.step(
      "restore stalls reading a target whose table is locked for reads too",
      async () => {
        await withWorkspace(async (ws) => {
          const name = uniqueName("target");
          const url = await createDatabase(cluster.url, name);
          await psql(url, "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100);");
          const created = await runCli(["create", "--database", url, "--dir", ws.dir]);
          const id = created.stdout.match(/Created backup (\S+)/)![1];
          const lock = await holdLock(url, "t", "ACCESS EXCLUSIVE");
          let restored;
          try {
            restored = await runCli([
              "restore",
              id,
              "--database",
              url,
              "--dir",
              ws.dir,
              "--clean",
              "--force",
              "--stall-timeout",
              "2s",
            ]);
            assert.equal(await sessionsGone(cluster, name), "0 sessions, 0 waiting");
          } finally {
            await lock.release();
          }
          assert.equal(restored.code, ExitCode.Stalled, restored.stderr);
          assert.match(restored.stderr, /while reading the target database \("postgres:/);
          assert.equal((await psql(url, "SELECT count(*) FROM t")).trim(), "100");
        });
      },
    );
  } finally {
    await cluster.stop();
  }
});

/** A TCP server on 127.0.0.1 that accepts every connection and never sends a byte. */
function silentServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connections: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const connection of listener) connections.push(connection);
    } catch {
      // closed
    }
  })();
  return {
    endpoint: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    async close() {
      listener.close();
      for (const connection of connections) {
        try {
          connection.close();
        } catch {
          // already closed by the client
        }
      }
      await accepting;
    },
  };
}

Deno.test({
  name: "the stall watchdog against an S3 endpoint that accepts and never answers",
  // the SDK's sockets to the silent server close on their own timeouts, after the run
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const server = silentServer();
    const env = {
      AWS_ENDPOINT_URL: server.endpoint,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test-secret",
      AWS_REGION: "us-east-1",
    };
    try {
      await t.step("copy --to fails with the stall line, no hang", async () => {
        await withWorkspace(async (ws) => {
          makeDatabase(ws.database);
          const created = await runCli(["create", "--database", ws.database, "--dir", ws.dir]);
          assert.equal(created.code, 0, created.stderr);
          const id = created.stdout.match(/Created backup (\S+)/)![1];
          const started = performance.now();
          const copied = await runCli(
            ["copy", id, "--dir", ws.dir, "--to", "s3://silent/db", "--stall-timeout", "2s"],
            { env },
          );
          const took = performance.now() - started;
          assert.equal(copied.code, ExitCode.Stalled, copied.stderr);
          assert.match(
            copied.stderr,
            new RegExp(
              `^Error: Stalled: no progress for 2 s while writing to the destination store \\(backup "${id}" to "s3://silent/db"\\): check that store \\(a hung S3 endpoint or network mount\\); nothing was kept\\n$`,
            ),
          );
          assert.ok(took < S3_WITHIN_MS, `took ${took} ms`);
        });
      });

      await t.step(
        "create --copy-to keeps the backup and reports the stalled copy (exit 7)",
        async () => {
          await withWorkspace(async (ws) => {
            makeDatabase(ws.database);
            const started = performance.now();
            const created = await runCli(
              [
                "create",
                "--database",
                ws.database,
                "--dir",
                ws.dir,
                "--copy-to",
                "s3://silent/db",
                "--stall-timeout",
                "2s",
              ],
              { env },
            );
            const took = performance.now() - started;
            assert.equal(created.code, ExitCode.Storage, created.stderr);
            assert.match(
              created.stderr,
              /^Error: Stalled: no progress for 2 s while listing the destination store \("s3:\/\/silent\/db"\): check that store \(a hung S3 endpoint or network mount\) \(no backup was copied there; the next run tries again\)\n$/,
            );
            assert.match(created.stdout, /^Created backup full_/);
            assert.ok(took < S3_WITHIN_MS, `took ${took} ms`);
          });
        },
      );

      await t.step(
        "verify of a backup in the bucket fails with the stall line, no hang",
        async () => {
          const started = performance.now();
          const verified = await runCli(
            ["verify", "full_", "--dir", "s3://silent/db", "--stall-timeout", "2s"],
            { env },
          );
          const took = performance.now() - started;
          assert.equal(verified.code, ExitCode.Stalled, verified.stderr);
          // the failure's audit line goes to the hung store too: a warning, then the stall line
          assert.match(verified.stderr, /^Warning: Cannot write the audit log: .*\n/);
          assert.ok(
            verified.stderr.endsWith(
              'Error: Stalled: no progress for 2 s while reading the backup (backup "full_" in "s3://silent/db"): check the store (a hung S3 endpoint or network mount); nothing was recorded\n',
            ),
            verified.stderr,
          );
          assert.ok(took < S3_WITHIN_MS, `took ${took} ms`);
        },
      );

      await t.step("create into the bucket fails with the stall line, no hang", async () => {
        await withWorkspace(async (ws) => {
          makeDatabase(ws.database);
          const started = performance.now();
          const created = await runCli(
            [
              "create",
              "--database",
              ws.database,
              "--dir",
              "s3://silent/db",
              "--stall-timeout",
              "2s",
            ],
            { env: { ...env, XDG_STATE_HOME: ws.root } },
          );
          const took = performance.now() - started;
          assert.equal(created.code, ExitCode.Stalled, created.stderr);
          assert.match(
            created.stderr,
            /Error: Stalled: no progress for 2 s while writing to the store \("s3:\/\/silent\/db"\): check the store/,
          );
          assert.ok(took < S3_WITHIN_MS, `took ${took} ms`);
        });
      });
    } finally {
      await server.close();
    }
  },
});
