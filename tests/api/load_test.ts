/**
 * The API under a burst of reads while a large backup runs: every read is answered with a
 * correct body, the backup is not disturbed (it succeeds and verifies), and nothing is logged
 * as an error.
 */
import assert from "node:assert/strict";
import { type ApiFixture, startApiFixture } from "../helpers/api_server.ts";
import { countRows, execSql, makeLargeDatabase } from "../helpers/workspace.ts";

const READS = 50;

interface Listed {
  id: string;
  state: string;
  checksum: string;
  size: number;
}

async function waitForJob(api: ApiFixture, url: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 2400; i++) {
    const { job } = await (await api.request(url)).json();
    if (job.state !== "running") return job;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`job ${url} did not finish`);
}

/** The `i`th read of the burst: list or status, old or new API, viewer or admin. */
function read(api: ApiFixture, i: number) {
  const kinds = [
    { path: "/api/v1/backups", field: "backups" },
    { path: "/api/v1/status", field: "status" },
    { path: "/api/backup?action=list", field: "backups" },
    { path: "/api/backup?action=status", field: "status" },
    { path: "/api/v1/backups?limit=1", field: "backups" },
  ] as const;
  const kind = kinds[i % kinds.length];
  const token = i % 2 ? api.viewerToken : api.adminToken;
  return { ...kind, token, response: api.request(kind.path, { token }) };
}

Deno.test("fifty concurrent list and status reads are answered while a large backup is made, which then verifies", async () => {
  const api = await startApiFixture({ backups: 2 });
  try {
    // about 180 MB of SQL: a create of a few seconds
    makeLargeDatabase(api.database);
    execSql(
      api.database,
      "INSERT INTO items (name, body, score) SELECT name, body, score FROM items",
    );
    execSql(
      api.database,
      "INSERT INTO items (name, body, score) SELECT name, body, score FROM items",
    );
    const rows = countRows(api.database, "items");
    assert.equal(rows, 400_000);
    const before = await (await api.request("/api/v1/backups")).json() as { backups: Listed[] };
    const existing = before.backups.map((b) => b.id);
    assert.equal(existing.length, 2);

    const started = await api.request("/api/v1/backups", {
      method: "POST",
      body: '{"description": "large"}',
    });
    assert.equal(started.status, 202);
    const { job } = await started.json();
    assert.equal(job.state, "running");

    const reads = Array.from({ length: READS }, (_, i) => read(api, i));
    const answers = await Promise.all(reads.map(async (r) => {
      const response = await r.response;
      return { ...r, status: response.status, body: await response.json(), at: Date.now() };
    }));
    const done = await waitForJob(api, job.url);

    assert.equal(new Set(answers.map((a) => `${a.path} ${a.token}`)).size, 10);
    for (const answer of answers) {
      const what = `${answer.path} (${answer.token === api.adminToken ? "admin" : "viewer"})`;
      assert.equal(answer.status, 200, `${what}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.success, true, what);
      if (answer.field === "backups") {
        const backups = answer.body.backups as Listed[];
        const ids = backups.map((b) => b.id);
        // the backup being written is either absent or complete: never a half-written file
        for (const backup of backups) {
          assert.ok(["ok", "verified"].includes(backup.state), `${what}: ${backup.id}`);
          assert.match(backup.checksum, /^[0-9a-f]{64}$/);
          assert.ok(backup.size > 0);
          assert.match(backup.id, /^full_\d{8}T\d{9}Z$/);
        }
        if (answer.path.endsWith("limit=1")) {
          assert.equal(backups.length, 1, what);
        } else {
          for (const id of existing) assert.ok(ids.includes(id), `${what} lacks ${id}`);
          assert.ok(backups.length === 2 || backups.length === 3, what);
        }
      } else {
        const status = answer.body.status as Record<string, unknown>;
        assert.ok(status.totalBackups === 2 || status.totalBackups === 3, what);
        assert.ok(["healthy", "warning", "critical"].includes(String(status.systemHealth)));
        assert.ok(Array.isArray(status.reasons));
      }
    }

    assert.equal(done.state, "succeeded", JSON.stringify(done));
    const finishedAt = Date.parse(String(done.finishedAt));
    assert.ok(
      answers.some((a) => a.at < finishedAt),
      "every read was answered only after the backup had finished",
    );
    const backup = (done.result as { backup: { id: string; rows: number; tables: number } })
      .backup;
    assert.equal(backup.rows, rows + 8);
    assert.equal(backup.tables, 3);

    const verify = await api.request(`/api/v1/backups/${backup.id}/verify`, {
      method: "POST",
      body: '{"restoreTest": true}',
    });
    assert.equal(verify.status, 202);
    const verified = await waitForJob(api, (await verify.json()).job.url);
    assert.equal(verified.state, "succeeded", JSON.stringify(verified));
    const { backup: view } = await (await api.request(`/api/v1/backups/${backup.id}`)).json();
    assert.equal(view.state, "verified");
    assert.equal(view.verification.outcome, "passed");

    const problems = api.output().split("\n").filter((line) => /^\S+ (error|warn) /.test(line));
    assert.deepEqual(problems, []);
  } finally {
    assert.equal(await api.stop(), 0);
  }
});
