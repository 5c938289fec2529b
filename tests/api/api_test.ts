/**
 * Every endpoint of the API through a real server on a free port, over a SQLite database: the
 * source document's `/api/backup` and the resource API, jobs and their events, downloads that
 * match the file byte for byte, restores that need their confirmation, and the audit log.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { type ApiFixture, startApiFixture } from "../helpers/api_server.ts";
import { countRows, execSql, sha256File } from "../helpers/workspace.ts";
import { readAudit } from "../../src/core/audit.ts";

/** Polls a job until it ends. */
export async function waitForJob(api: ApiFixture, url: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 1200; i++) {
    const response = await api.request(url);
    const { job } = await response.json();
    if (job.state !== "running") return job;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`job ${url} did not finish`);
}

async function json(response: Response): Promise<Record<string, unknown>> {
  assert.match(response.headers.get("content-type") ?? "", /application\/json/);
  return await response.json();
}

Deno.test("the source document's /api/backup endpoints on SQLite", async (t) => {
  const api = await startApiFixture({ backups: 1 });
  try {
    await t.step(
      "list shows each backup with id, type, createdAt, size, checksum, state",
      async () => {
        const body = await json(await api.request("/api/backup?action=list"));
        assert.equal(body.success, true);
        const [backup] = body.backups as Record<string, unknown>[];
        assert.match(String(backup.id), /^full_\d{8}T\d{9}Z$/);
        assert.equal(backup.type, "full");
        assert.equal(backup.state, "ok");
        assert.match(String(backup.checksum), /^[0-9a-f]{64}$/);
        assert.equal(typeof backup.size, "number");
        assert.equal(backup.description, null);
        assert.ok(!Number.isNaN(Date.parse(String(backup.createdAt))));
      },
    );

    await t.step("status has the document's figures and the health verdict", async () => {
      const body = await json(await api.request("/api/backup?action=status"));
      const status = body.status as Record<string, unknown>;
      assert.equal(status.totalBackups, 1);
      assert.equal(status.lastBackupType, "full");
      assert.equal(typeof status.totalSize, "number");
      assert.equal(status.averageBackupSize, status.totalSize);
      assert.ok(["healthy", "warning", "critical"].includes(String(status.systemHealth)));
      assert.ok(Array.isArray(status.reasons));
    });

    let created: Record<string, unknown>;
    await t.step("POST create waits for the backup and answers 201 with it", async () => {
      const response = await api.request("/api/backup", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ action: "create", type: "schema", description: "before v2" }),
      });
      assert.equal(response.status, 201);
      const body = await json(response);
      created = body.backup as Record<string, unknown>;
      assert.equal(created.type, "schema");
      assert.equal(created.description, "before v2");
      assert.equal((body.job as Record<string, unknown>).state, "succeeded");
    });

    await t.step("download streams the stored file with length, name and SHA-256", async () => {
      const response = await api.request(`/api/backup?action=download&id=${created.id}`);
      assert.equal(response.status, 200);
      const bytes = new Uint8Array(await response.arrayBuffer());
      const file = join(api.dir, `${created.id}.sql.gz`);
      assert.deepEqual(bytes, await Deno.readFile(file));
      assert.equal(response.headers.get("content-length"), String(bytes.length));
      assert.equal(
        response.headers.get("content-disposition"),
        `attachment; filename="${created.id}.sql.gz"`,
      );
      assert.equal(response.headers.get("x-checksum-sha256"), await sha256File(file));
      assert.match(new TextDecoder().decode(gunzipSync(bytes)), /CREATE TABLE/);
    });

    await t.step("restore without confirmation is refused and changes nothing", async () => {
      execSql(api.database, "DELETE FROM accounts");
      const response = await api.request("/api/backup", {
        method: "POST",
        body: JSON.stringify({ action: "restore", backupId: "full_" }),
      });
      assert.equal(response.status, 400);
      const { error } = await json(response) as { error: Record<string, string> };
      assert.equal(error.code, "confirmation_required");
      assert.match(error.message, /"confirm": "app\.db"/);
      assert.equal(countRows(api.database, "accounts"), 0);
    });

    await t.step("restore dryRun reports the plan", async () => {
      const body = await json(
        await api.request("/api/backup", {
          method: "POST",
          body: JSON.stringify({ action: "restore", backupId: "full_", dryRun: true }),
        }),
      );
      const plan = body.plan as {
        tables: { name: string; backupRows: number; currentRows: number }[];
      };
      assert.deepEqual(plan.tables.find((t) => t.name === "accounts"), {
        name: "accounts",
        backupRows: 3,
        currentRows: 0,
      });
    });

    await t.step("restore with the target's name restores, after a safety backup", async () => {
      const response = await api.request("/api/backup", {
        method: "POST",
        body: JSON.stringify({ action: "restore", backupId: "full_", confirm: "app.db" }),
      });
      assert.equal(response.status, 200);
      const body = await json(response);
      const restore = body.restore as Record<string, string>;
      assert.match(restore.safetyBackup, /^pre-restore_/);
      assert.equal(countRows(api.database, "accounts"), 3);
    });

    await t.step("cleanup dryRun plans, cleanup applies the policy", async () => {
      const plan = await json(
        await api.request("/api/backup", {
          method: "POST",
          body: JSON.stringify({ action: "cleanup", dryRun: true }),
        }),
      );
      assert.equal((plan.cleanup as Record<string, unknown>).dryRun, true);
      const done = await json(
        await api.request("/api/backup", { method: "POST", body: '{"action":"cleanup"}' }),
      );
      assert.equal((done.cleanup as Record<string, unknown>).dryRun, false);
    });

    await t.step("every action is in the audit log with the token's name and address", async () => {
      const entries = await readAudit(api.dir);
      const api_ = entries.filter((e) => e.actor === "api");
      assert.deepEqual(
        [...new Set(api_.map((e) => e.action))].sort(),
        ["create", "restore"],
      );
      for (const entry of api_) {
        assert.deepEqual(entry.client, { token: "ops", address: "127.0.0.1" });
      }
      const log = await Deno.readTextFile(join(api.dir, "audit.jsonl"));
      assert.ok(!log.includes(api.adminToken));
    });
  } finally {
    assert.equal(await api.stop(), 0);
  }
});

Deno.test("the resource API on SQLite: jobs, events, pins, verify, cleanup", async (t) => {
  const api = await startApiFixture({ config: { retention: { keepLast: 2 } } });
  try {
    let id = "";
    await t.step("POST /api/v1/backups answers 202 with the job, which succeeds", async () => {
      const response = await api.request("/api/v1/backups", {
        method: "POST",
        body: JSON.stringify({ description: "nightly", pin: { reason: "keep" } }),
      });
      assert.equal(response.status, 202);
      const { job } = await json(response) as { job: Record<string, string> };
      assert.equal(response.headers.get("location"), job.url);
      assert.equal(job.kind, "create");
      const done = await waitForJob(api, job.url);
      assert.equal(done.state, "succeeded", JSON.stringify(done));
      const result = done.result as { backup: { id: string; pinned: boolean } };
      id = result.backup.id;
      assert.equal(result.backup.pinned, true);
      assert.equal(done.target, id);
      assert.equal(done.by, "ops");
    });

    await t.step(
      "GET /api/v1/backups/{id} resolves a part of the id and shows the sidecar",
      async () => {
        const body = await json(await api.request(`/api/v1/backups/${id.slice(5, 20)}`));
        assert.equal((body.backup as Record<string, unknown>).id, id);
        assert.equal((body.meta as Record<string, unknown>).id, id);
      },
    );

    await t.step("events stream progress and one done event", async () => {
      const response = await api.request("/api/v1/backups", { method: "POST", body: "{}" });
      const { job } = await json(response) as { job: Record<string, string> };
      const events = await api.request(`${job.url}/events`);
      assert.match(events.headers.get("content-type") ?? "", /text\/event-stream/);
      const text = await events.text();
      const names = [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
      assert.equal(names.at(-1), "done");
      assert.equal(names.filter((n) => n === "done").length, 1);
      const last = JSON.parse(text.trim().split("\n").at(-1)!.replace(/^data: /, ""));
      assert.equal(last.state, "succeeded");
      assert.ok(last.progress.rows >= 8, JSON.stringify(last.progress));
      assert.ok(last.progress.bytes > 0);
    });

    await t.step("jobs lists them newest first", async () => {
      const { jobs } = await json(await api.request("/api/v1/jobs")) as {
        jobs: { kind: string }[];
      };
      assert.deepEqual(jobs.map((j) => j.kind), ["create", "create"]);
    });

    await t.step("verify with a restore test succeeds and records the verification", async () => {
      const response = await api.request(`/api/v1/backups/${id}/verify`, {
        method: "POST",
        body: JSON.stringify({ restoreTest: true }),
      });
      assert.equal(response.status, 202);
      const { job } = await json(response) as { job: Record<string, string> };
      const done = await waitForJob(api, job.url);
      assert.equal(done.state, "succeeded", JSON.stringify(done));
      const { backup } = await json(await api.request(`/api/v1/backups/${id}`)) as {
        backup: Record<string, unknown>;
      };
      assert.equal(backup.state, "verified");
    });

    await t.step("a damaged backup's verify job fails with the integrity error", async () => {
      const { backups } = await json(await api.request("/api/v1/backups")) as {
        backups: { id: string }[];
      };
      const newest = backups[0].id;
      const file = join(api.dir, `${newest}.sql.gz`);
      const bytes = await Deno.readFile(file);
      bytes[bytes.length - 10] ^= 0xff;
      await Deno.writeFile(file, bytes);
      const broken = await api.request(`/api/v1/backups/${newest}/download`);
      await assert.rejects(broken.arrayBuffer()); // the stream breaks: never a silent bad file
      const { job } = await json(
        await api.request(`/api/v1/backups/${newest}/verify`, { method: "POST" }),
      ) as { job: Record<string, string> };
      const done = await waitForJob(api, job.url);
      assert.equal(done.state, "failed");
      assert.equal((done.error as Record<string, string>).code, "integrity");
      const refused = await api.request(`/api/v1/backups/${newest}/download`);
      assert.equal(refused.status, 422); // its failed verification is in the sidecar now
      assert.equal((await refused.json()).error.code, "integrity");
    });

    await t.step("pin and unpin", async () => {
      const unpinned = await json(
        await api.request(`/api/v1/backups/${id}/pin`, { method: "DELETE" }),
      );
      assert.equal((unpinned.backup as Record<string, unknown>).pinned, false);
      const pinned = await json(
        await api.request(`/api/v1/backups/${id}/pin`, {
          method: "POST",
          body: JSON.stringify({ reason: "audit 2026" }),
        }),
      );
      assert.equal((pinned.backup as Record<string, unknown>).pinReason, "audit 2026");
    });

    await t.step("cleanup plan, then the cleanup job", async () => {
      for (let i = 0; i < 2; i++) {
        const { job } = await json(
          await api.request("/api/v1/backups", { method: "POST", body: "{}" }),
        ) as { job: Record<string, string> };
        assert.equal((await waitForJob(api, job.url)).state, "succeeded");
      }
      const { plan } = await json(
        await api.request("/api/v1/cleanup", { method: "POST", body: '{"dryRun": true}' }),
      ) as { plan: { decisions: { id: string; action: string }[] } };
      const deletes = plan.decisions.filter((d) => d.action === "delete").map((d) => d.id);
      assert.ok(deletes.length >= 1);
      assert.ok(!deletes.includes(id)); // pinned
      const response = await api.request("/api/v1/cleanup", { method: "POST", body: "{}" });
      assert.equal(response.status, 202);
      const { job } = await json(response) as { job: Record<string, string> };
      const done = await waitForJob(api, job.url);
      assert.equal(done.state, "succeeded");
      const { backups } = await json(await api.request("/api/v1/backups")) as {
        backups: { id: string }[];
      };
      for (const gone of deletes) assert.ok(!backups.some((b) => b.id === gone));
    });

    await t.step("restore over the resource API needs the confirmation too", async () => {
      const refused = await api.request(`/api/v1/backups/${id}/restore`, {
        method: "POST",
        body: JSON.stringify({ confirm: "other.db" }),
      });
      assert.equal(refused.status, 400);
      assert.equal(
        ((await refused.json()).error as Record<string, string>).code,
        "confirmation_required",
      );
      const response = await api.request(`/api/v1/backups/${id}/restore`, {
        method: "POST",
        body: JSON.stringify({ confirm: "app.db" }),
      });
      assert.equal(response.status, 202);
      const { job } = await json(response) as { job: Record<string, string> };
      const done = await waitForJob(api, job.url);
      assert.equal(done.state, "succeeded", JSON.stringify(done));
    });

    await t.step("the OpenAPI document lists every route with its body schema", async () => {
      const doc = await json(await api.request("/api/openapi.json")) as {
        openapi: string;
        paths: Record<string, Record<string, { requestBody?: unknown }>>;
      };
      assert.equal(doc.openapi, "3.1.0");
      for (
        const path of [
          "/api/backup",
          "/api/v1/backups",
          "/api/v1/backups/{id}",
          "/api/v1/backups/{id}/verify",
          "/api/v1/backups/{id}/restore",
          "/api/v1/backups/{id}/pin",
          "/api/v1/cleanup",
          "/api/v1/status",
          "/api/v1/jobs/{id}",
          "/api/v1/jobs/{id}/events",
          "/metrics",
          "/healthz",
        ]
      ) {
        assert.ok(doc.paths[path], path);
      }
      assert.ok(doc.paths["/api/v1/backups"].post.requestBody);
      assert.ok(doc.paths["/api/backup"].post.requestBody);
    });

    await t.step("metrics answer in the Prometheus text format", async () => {
      const response = await api.request("/metrics", { token: api.viewerToken });
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type") ?? "", /text\/plain/);
      assert.match(await response.text(), /^# HELP backup_manager_/m);
    });
  } finally {
    assert.equal(await api.stop(), 0);
  }
});
