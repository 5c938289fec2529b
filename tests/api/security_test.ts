/**
 * The API's defences through a real server: every route needs a token and the right role,
 * every failure is the documented JSON error, hostile ids never reach a file, a held lock is a
 * 409 that writes nothing, wrong tokens are slowed down, and no token is ever printed or answered.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ApiFixture, startApiFixture } from "../helpers/api_server.ts";
import { sha256File, snapshotDir, withoutAudit } from "../helpers/workspace.ts";
import { ROUTES } from "../../src/api/routes.ts";
import { newToken } from "../../src/api/auth.ts";
import { LOCK_KEY } from "../../src/core/lock.ts";

const HOLDER_SCRIPT = fileURLToPath(new URL("../helpers/lock_holder.ts", import.meta.url));
const DASHBOARD_DIR = fileURLToPath(new URL("../../src/api/dashboard/", import.meta.url));
const UNAUTHORIZED_CHALLENGE = 'Bearer realm="backup-manager"';

/** One request of the matrix: a route with its `:id` filled in, and the role it needs. */
interface Probe {
  method: string;
  path: string;
  role: "viewer" | "admin";
  body?: string;
}

/** Every route of the table as requests, `/api/backup` once per `action`. */
function probesOf(backupId: string, jobId: string): Probe[] {
  const probes: Probe[] = [];
  for (const route of ROUTES) {
    const id = route.path.startsWith("/api/v1/jobs/") ? jobId : backupId;
    const path = route.path.replace(":id", encodeURIComponent(id));
    if (route.method === "GET" && path === "/api/backup") {
      probes.push(
        { method: "GET", path: "/api/backup?action=list", role: "viewer" },
        { method: "GET", path: "/api/backup?action=status", role: "viewer" },
        { method: "GET", path: `/api/backup?action=download&id=${backupId}`, role: "admin" },
      );
    } else if (route.method === "POST" && path === "/api/backup") {
      for (const action of ["create", "restore", "cleanup"]) {
        probes.push({
          method: "POST",
          path,
          role: "admin",
          body: JSON.stringify({ action, backupId, confirm: "app.db" }),
        });
      }
    } else {
      probes.push({
        method: route.method,
        path,
        role: route.role,
        ...(route.method === "GET" || route.method === "DELETE" ? {} : { body: "{}" }),
      });
    }
  }
  return probes;
}

function label(probe: Probe, extra = ""): string {
  return `${probe.method} ${probe.path}${probe.body ? ` ${probe.body}` : ""}${extra}`;
}

/** Sends `probe` with a raw `Authorization` header (`null`: none); reads the whole answer. */
async function send(
  api: ApiFixture,
  probe: Probe,
  authorization: string | null,
): Promise<{ status: number; headers: Headers; text: string }> {
  const headers = new Headers();
  if (authorization !== null) headers.set("authorization", authorization);
  const response = await api.request(probe.path, {
    method: probe.method,
    token: null,
    headers,
    body: probe.body,
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** A good request: it clears the address's failure count, so the matrix is never slowed down. */
async function clearFailures(api: ApiFixture): Promise<void> {
  const response = await api.request("/api/v1/jobs", { token: api.viewerToken });
  assert.equal(response.status, 200);
  await response.body?.cancel();
}

/** Asserts the documented error shape and returns the error object. */
async function expectError(
  response: Response,
  status: number,
  code: string,
): Promise<Record<string, unknown> & { message: string }> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
  const body = JSON.parse(text);
  assert.deepEqual(Object.keys(body).sort(), ["error", "success"], text);
  assert.equal(body.success, false);
  assert.equal(body.error.code, code, text);
  assert.equal(typeof body.error.message, "string");
  assert.ok(body.error.message.length > 0 && !body.error.message.includes("\n"), text);
  return body.error;
}

/** The dashboard's paths: the page, uPlot, and every file of the dashboard folder. */
async function dashboardPaths(): Promise<string[]> {
  const paths = ["/", "/assets/app.js", "/assets/uplot.js", "/assets/uplot.css"];
  for await (const entry of Deno.readDir(DASHBOARD_DIR)) {
    if (entry.isFile && entry.name !== "index.html") paths.push(`/assets/${entry.name}`);
  }
  return [...new Set(paths)];
}

async function backupIds(api: ApiFixture): Promise<string[]> {
  const response = await api.request("/api/v1/backups");
  const { backups } = await response.json() as { backups: { id: string }[] };
  return backups.map((b) => b.id);
}

async function waitForJob(api: ApiFixture, url: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 1200; i++) {
    const { job } = await (await api.request(url)).json();
    if (job.state !== "running") return job;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`job ${url} did not finish`);
}

Deno.test("every route but liveness and the dashboard needs a valid token and the right role", async (t) => {
  const api = await startApiFixture({ backups: 2 });
  try {
    const [backupId] = await backupIds(api);
    const started = await api.request(`/api/v1/backups/${backupId}/verify`, {
      method: "POST",
      body: "{}",
    });
    const { job } = await started.json();
    assert.equal((await waitForJob(api, job.url)).state, "succeeded");
    const probes = probesOf(backupId, job.id);
    assert.ok(probes.length >= 20, `only ${probes.length} requests made from ROUTES`);
    assert.ok(probes.some((p) => p.path === "/metrics"));
    const before = await snapshotDir(api.dir);

    await t.step("without a token every route answers 401 with a Bearer challenge", async () => {
      for (const probe of probes) {
        const { status, headers, text } = await send(api, probe, null);
        assert.equal(status, 401, `${label(probe)}: ${text}`);
        assert.equal(headers.get("www-authenticate"), UNAUTHORIZED_CHALLENGE, label(probe));
        const body = JSON.parse(text);
        assert.deepEqual(body, {
          success: false,
          error: {
            code: "unauthorized",
            message: 'A token is needed: send "Authorization: Bearer <token>"',
          },
        });
        await clearFailures(api);
      }
    });

    await t.step("a wrong or malformed Authorization header is a 401 on every route", async () => {
      const wrong = newToken().token;
      const headers = [
        `Bearer ${wrong}`,
        `Bearer ${api.adminToken}x`,
        `Bearer ${api.adminToken.slice(0, -1)}`,
        "Bearer",
        "Bearer ",
        `Basic ${btoa(`ops:${api.adminToken}`)}`,
        `Basic ${api.adminToken}`,
        `Token ${api.adminToken}`,
        `Bearer ${api.adminToken} ${api.adminToken}`,
        `Bearer ${"a".repeat(600)}`,
        api.adminToken,
      ];
      for (const probe of probes) {
        for (const header of headers) {
          const { status, headers: answer, text } = await send(api, probe, header);
          assert.equal(status, 401, `${label(probe, ` with "${header.slice(0, 40)}"`)}: ${text}`);
          assert.equal(answer.get("www-authenticate"), UNAUTHORIZED_CHALLENGE);
          assert.equal(JSON.parse(text).error.code, "unauthorized");
          await clearFailures(api);
        }
      }
    });

    await t.step(
      "an unknown path without a token is a 401, not a 404: auth comes first",
      async () => {
        const response = await api.request("/api/v2/nothing", { token: null });
        await expectError(response, 401, "unauthorized");
        await clearFailures(api);
      },
    );

    await t.step("the viewer gets 403 for admin routes and 200 for viewer routes", async () => {
      for (const probe of probes) {
        const { status, text } = await send(api, probe, `Bearer ${api.viewerToken}`);
        if (probe.role === "admin") {
          assert.equal(status, 403, `${label(probe)}: ${text}`);
          const { error } = JSON.parse(text);
          assert.equal(error.code, "forbidden");
          assert.match(
            error.message,
            /the token "grafana" is a viewer \(it needs the admin role\)$/,
          );
        } else {
          assert.equal(status, 200, `${label(probe)}: ${text}`);
        }
      }
      const download = probes.find((p) => p.path.includes("action=download"))!;
      assert.equal(download.role, "admin");
    });

    await t.step("nothing a refused request asked for was done", async () => {
      assert.deepEqual(await snapshotDir(api.dir), before);
      const { jobs } = await (await api.request("/api/v1/jobs")).json();
      assert.deepEqual(jobs.map((j: { kind: string }) => j.kind), ["verify"]);
    });

    await t.step("liveness and the dashboard's files need no token", async () => {
      for (const authorization of [null, `Bearer ${newToken().token}`, "Basic x"]) {
        const headers: Record<string, string> = authorization ? { authorization } : {};
        const health = await api.request("/healthz", { token: null, headers });
        assert.equal(health.status, 200);
        assert.deepEqual(await health.json(), { ok: true });
        for (const path of await dashboardPaths()) {
          const response = await api.request(path, { token: null, headers });
          await response.body?.cancel();
          assert.notEqual(response.status, 401, path);
          assert.ok(
            response.status === 200 || response.status === 404,
            `${path}: ${response.status}`,
          );
        }
      }
      await clearFailures(api);
    });
  } finally {
    assert.equal(await api.stop(), 0);
  }
});

Deno.test("every failure is the documented JSON error with its status and code", async (t) => {
  const api = await startApiFixture({ backups: 2 });
  try {
    const ids = await backupIds(api);
    const post = (path: string, body: BodyInit) => api.request(path, { method: "POST", body });

    await t.step("a body that is not JSON is 400 invalid_json", async () => {
      for (const path of ["/api/v1/backups", "/api/backup", `/api/v1/backups/${ids[0]}/pin`]) {
        const error = await expectError(
          await post(path, '{"action": "create",'),
          400,
          "invalid_json",
        );
        assert.equal(error.message, "Cannot read the request body: it is not valid JSON");
      }
    });

    await t.step("a JSON array, string or null body is 400 invalid_json", async () => {
      for (const body of ["[]", '[{"action": "create"}]', '"create"', "null", "42"]) {
        for (const path of ["/api/v1/backups", "/api/backup"]) {
          const error = await expectError(await post(path, body), 400, "invalid_json");
          assert.equal(error.message, "Cannot read the request body: expected a JSON object");
        }
      }
    });

    await t.step("an unknown action is 400 unknown_action, for GET and POST", async () => {
      const get = await expectError(
        await api.request("/api/backup?action=delete"),
        400,
        "unknown_action",
      );
      assert.equal(
        get.message,
        'Invalid request: unknown action "delete" (expected one of "list", "status", "download")',
      );
      assert.equal(get.field, "action");
      for (const action of ["delete", "__proto__", "constructor", "toString", 5]) {
        const error = await expectError(
          await post("/api/backup", JSON.stringify({ action })),
          400,
          "unknown_action",
        );
        assert.equal(
          error.message,
          `Invalid request: unknown action "${action}" (expected one of "create", "restore", "cleanup")`,
        );
        assert.equal(error.field, "action");
      }
    });

    await t.step("a missing action is 400 unknown_action naming the choices", async () => {
      for (const path of ["/api/backup", "/api/backup?id=x", "/api/backup?action="]) {
        const error = await expectError(await api.request(path), 400, "unknown_action");
        assert.match(error.message, /^Invalid request: /);
        assert.match(error.message, /"list", "status", "download"/);
      }
      for (const body of ["{}", "", '{"type": "full"}']) {
        const error = await expectError(await post("/api/backup", body), 400, "unknown_action");
        assert.equal(
          error.message,
          'Invalid request: "action" is required (one of "create", "restore", "cleanup")',
        );
      }
    });

    await t.step("a field of the wrong type is 400 invalid_field naming the field", async () => {
      const create = "/api/v1/backups";
      const verify = `/api/v1/backups/${ids[0]}/verify`;
      const restore = `/api/v1/backups/${ids[0]}/restore`;
      const type = 'expected "full" or "schema"';
      const flag = "expected true or false";
      const cases: [string, unknown, string, string][] = [
        [create, { type: 5 }, "type", type],
        [create, { type: "incremental" }, "type", type],
        [create, { description: 5 }, "description", "expected text"],
        [create, { pin: { reason: 5 } }, "pin.reason", "expected text"],
        [verify, { restoreTest: "yes" }, "restoreTest", flag],
        [restore, { dryRun: 1 }, "dryRun", flag],
        ["/api/v1/cleanup", { dryRun: "true" }, "dryRun", flag],
        ["/api/backup", { action: "create", type: [] }, "type", type],
        ["/api/backup", { action: "restore", backupId: 7 }, "backupId", "expected a backup id"],
        ["/api/backup", { action: "restore" }, "backupId", "expected a backup id"],
      ];
      for (const [path, body, field, problem] of cases) {
        const error = await expectError(
          await post(path, JSON.stringify(body)),
          400,
          "invalid_field",
        );
        assert.equal(error.field, field, `${path} ${JSON.stringify(body)}`);
        assert.equal(error.message, `Invalid request: "${field}" ${problem}`);
      }
      const limit = await expectError(
        await api.request("/api/v1/backups?limit=0"),
        400,
        "invalid_field",
      );
      assert.equal(limit.field, "limit");
    });

    await t.step("an unknown field is 400 invalid_field naming it", async () => {
      const cases: [string, unknown, string][] = [
        ["/api/v1/backups", { typo: 1 }, "typo"],
        ["/api/v1/backups", { pin: { reason: "x", until: "never" } }, "pin.until"],
        ["/api/backup", { action: "create", typo: 1 }, "typo"],
        ["/api/v1/cleanup", { force: true }, "force"],
      ];
      for (const [path, body, field] of cases) {
        const error = await expectError(
          await post(path, JSON.stringify(body)),
          400,
          "invalid_field",
        );
        assert.equal(error.field, field);
        assert.equal(error.message, `Invalid request: unknown field "${field}"`);
      }
    });

    await t.step("an unknown backup or job is 404 not_found", async () => {
      const message =
        'Cannot find backup "nothing-like-this": no backup id contains it (run "list" to see the ids)';
      for (
        const response of [
          await api.request("/api/v1/backups/nothing-like-this"),
          await api.request("/api/v1/backups/nothing-like-this/download"),
          await post("/api/v1/backups/nothing-like-this/verify", "{}"),
          await api.request("/api/backup?action=download&id=nothing-like-this"),
        ]
      ) {
        assert.equal((await expectError(response, 404, "not_found")).message, message);
      }
      const job = await expectError(await api.request("/api/v1/jobs/j_nope"), 404, "not_found");
      assert.equal(job.message, 'No job "j_nope" (jobs are kept for an hour)');
    });

    await t.step(
      "an id matching several backups is 409 ambiguous_id with the candidates",
      async () => {
        for (const path of ["/api/v1/backups/full_", "/api/backup?action=download&id=full_"]) {
          const error = await expectError(await api.request(path), 409, "ambiguous_id");
          assert.deepEqual((error.candidates as string[]).toSorted(), ids.toSorted());
          assert.match(error.message, /^Cannot choose a backup for "full_": it matches 2 backups/);
        }
      },
    );

    await t.step("an unknown route is 404 not_found", async () => {
      const error = await expectError(await api.request("/api/v2/backups"), 404, "not_found");
      assert.equal(error.message, "No endpoint GET /api/v2/backups (see /api/openapi.json)");
      await expectError(await api.request("/api/v1/backups/x/y/z"), 404, "not_found");
      await expectError(await api.request("/api/v1/backups/"), 404, "not_found");
    });

    await t.step("a wrong method is 405 method_not_allowed with the Allow header", async () => {
      const cases: [string, string, string[]][] = [
        ["PUT", "/api/v1/backups", ["GET", "POST"]],
        ["DELETE", "/api/v1/status", ["GET"]],
        ["PATCH", `/api/v1/backups/${ids[0]}`, ["GET"]],
        ["GET", "/api/v1/cleanup", ["POST"]],
      ];
      for (const [method, path, allowed] of cases) {
        const response = await api.request(path, { method });
        const allow = response.headers.get("allow");
        const error = await expectError(response, 405, "method_not_allowed");
        assert.equal(error.message, `Cannot ${method} ${path}: it allows ${allowed.join(", ")}`);
        // RFC 9110 §15.5.6: a 405 MUST carry Allow
        assert.ok(allow, `${method} ${path}: no Allow header`);
        for (const name of allowed) assert.match(allow, new RegExp(`\\b${name}\\b`));
      }
    });

    await t.step(
      "a body over 64 KiB is 413, with a declared length or a chunked stream",
      async () => {
        const big = JSON.stringify({ description: "x".repeat(70 * 1024) });
        const message = "Cannot read the request body: it is larger than 64 KiB";
        for (const path of ["/api/v1/backups", "/api/backup"]) {
          const declared = await expectError(await post(path, big), 413, "payload_too_large");
          assert.equal(declared.message, message);
          const chunk = new TextEncoder().encode(" ".repeat(8 * 1024));
          let sent = 0;
          const stream = new ReadableStream<Uint8Array>({
            pull(controller) {
              if (sent++ < 12) controller.enqueue(chunk);
              else controller.close();
            },
          });
          const chunked = await post(path, stream);
          assert.equal((await expectError(chunked, 413, "payload_too_large")).message, message);
        }
        // exactly the limit is read (and refused for what it says), one byte more is not
        const invalid = '{"description": 5}';
        const exact = invalid + " ".repeat(64 * 1024 - invalid.length);
        await expectError(await post("/api/v1/backups", exact), 400, "invalid_field");
        await expectError(await post("/api/v1/backups", exact + " "), 413, "payload_too_large");
      },
    );

    await t.step("no failed request made a backup or a job", async () => {
      assert.deepEqual((await backupIds(api)).toSorted(), ids.toSorted());
      const { jobs } = await (await api.request("/api/v1/jobs")).json();
      assert.deepEqual(jobs, []);
    });
  } finally {
    assert.equal(await api.stop(), 0);
  }
});

/** Hostile ids as they go into a path segment (already percent-encoded where they need it). */
function hostileIds(secretPath: string): string[] {
  return [
    "..%2F..%2Fetc%2Fpasswd",
    "..%2Fsecret.txt",
    "..%5Csecret.txt",
    "%2e%2e",
    "%2e%2e%2fsecret.txt",
    "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "%2Fetc%2Fpasswd",
    encodeURIComponent(secretPath),
    "..",
    "backup-manager.json",
    "..%2Fbackup-manager.json",
    "audit.jsonl",
    LOCK_KEY,
    "full_x%00",
    "%00",
    "%252e%252e%252f%252e%252e%252fsecret.txt",
    "%252e%252e",
    "secret.txt",
    "%E0%A4%A",
  ];
}

/** Sends a request line as written (no client-side normalisation) and reads the answer. */
async function rawRequest(url: string, target: string, token: string): Promise<string> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    const request = `GET ${target} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n` +
      `Authorization: Bearer ${token}\r\nConnection: close\r\n\r\n`;
    await conn.write(new TextEncoder().encode(request));
    let text = "";
    const buffer = new Uint8Array(64 * 1024);
    const decoder = new TextDecoder();
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += decoder.decode(buffer.subarray(0, n), { stream: true });
    }
    return text;
  } finally {
    conn.close();
  }
}

Deno.test("hostile ids never reach a file outside the store and never delete one", async (t) => {
  const api = await startApiFixture({ backups: 2 });
  const secretPath = join(api.root, "secret.txt");
  const secret = `SENTINEL-${crypto.randomUUID()}`;
  try {
    await Deno.writeTextFile(secretPath, secret);
    const store = withoutAudit(await snapshotDir(api.dir));
    const database = await sha256File(api.database);
    const config = await Deno.readTextFile(join(api.root, "backup-manager.json"));
    const answers: string[] = [];
    const check = (what: string, status: number, text: string) => {
      answers.push(text);
      assert.notEqual(status, 200, `${what}: ${text}`);
      assert.ok(status >= 400 && status < 500, `${what}: ${status} ${text}`);
      assert.ok(!text.includes(secret), `${what} answered the sentinel`);
      assert.ok(!text.includes("root:x:0:0"), `${what} answered /etc/passwd`);
      assert.ok(!text.includes(config.slice(0, 40)), `${what} answered the config file`);
    };

    await t.step("as a path segment of every route that takes an id", async () => {
      for (const id of hostileIds(secretPath)) {
        const requests: [string, string, string?][] = [
          ["GET", `/api/v1/backups/${id}`],
          ["GET", `/api/v1/backups/${id}/download`],
          ["POST", `/api/v1/backups/${id}/verify`, '{"restoreTest": true}'],
          ["POST", `/api/v1/backups/${id}/restore`, '{"confirm": "app.db"}'],
          ["POST", `/api/v1/backups/${id}/restore`, '{"dryRun": true}'],
          ["POST", `/api/v1/backups/${id}/pin`, '{"reason": "x"}'],
          ["DELETE", `/api/v1/backups/${id}/pin`],
          ["GET", `/api/v1/jobs/${id}`],
          ["GET", `/api/v1/jobs/${id}/events`],
        ];
        for (const [method, path, body] of requests) {
          const response = await api.request(path, { method, body });
          check(`${method} ${path}`, response.status, await response.text());
        }
      }
    });

    await t.step("as the id of ?action=download and the backupId of a restore", async () => {
      for (const id of [...hostileIds(secretPath), secretPath, "../secret.txt", "/etc/passwd"]) {
        const download = await api.request(`/api/backup?action=download&id=${id}`);
        check(`download ${id}`, download.status, await download.text());
        let backupId: string;
        try {
          backupId = decodeURIComponent(id);
        } catch {
          backupId = id;
        }
        for (const extra of [{ confirm: "app.db" }, { dryRun: true }]) {
          const restore = await api.request("/api/backup", {
            method: "POST",
            body: JSON.stringify({ action: "restore", backupId, ...extra }),
          });
          check(`restore ${id}`, restore.status, await restore.text());
        }
      }
    });

    await t.step("in a request line the client did not normalise", async () => {
      const targets = [
        "/api/v1/backups/../../secret.txt",
        "/api/v1/backups/../../../../../../etc/passwd",
        "/../secret.txt",
        "/assets/../../secret.txt",
        "/assets/..%2F..%2Fsecret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt",
        "/assets/..%5C..%5Csecret.txt",
        "/assets/app.js/../../../secret.txt",
        `/api/v1/backups/${encodeURIComponent(secretPath)}/download`,
        "/api/v1/backups/..%2f..%2fsecret.txt/download",
      ];
      for (const target of targets) {
        const text = await rawRequest(api.url, target, api.adminToken);
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
        check(`raw ${target}`, status, text);
      }
    });

    await t.step("nothing was written, deleted or restored", async () => {
      assert.equal(await Deno.readTextFile(secretPath), secret);
      assert.deepEqual(withoutAudit(await snapshotDir(api.dir)), store);
      assert.equal(await sha256File(api.database), database);
      assert.equal(await Deno.readTextFile(join(api.root, "backup-manager.json")), config);
      const { jobs } = await (await api.request("/api/v1/jobs")).json();
      assert.deepEqual(jobs, []);
      assert.ok(answers.length > 200);
    });
  } finally {
    assert.equal(await api.stop(), 0);
  }
});

/** A `lock_holder.ts` process holding the lock of `directory` until killed. */
async function holdLock(directory: string): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", HOLDER_SCRIPT, directory, "600000"],
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  reader.releaseLock();
  if (text.trim() !== "won") {
    child.kill("SIGKILL");
    await child.status;
    throw new Error(`the lock holder did not win: ${text}`);
  }
  return child;
}

Deno.test("while another process holds the lock, every change is a 409 busy that writes nothing", async (t) => {
  const api = await startApiFixture({ backups: 1 });
  let holder: Deno.ChildProcess | undefined;
  try {
    const [id] = await backupIds(api);
    holder = await holdLock(api.dir);
    const lockPath = join(api.dir, LOCK_KEY);
    const held = JSON.parse(await Deno.readTextFile(lockPath));
    assert.equal(held.pid, holder.pid);
    const before = await snapshotDir(api.dir);
    const database = await sha256File(api.database);
    const busyMessage = (command: string) =>
      `Cannot run "api ${command}": "holder ${held.pid}" (pid ${held.pid} on ${held.host}, since ${held.startedAt}) holds the lock "${lockPath}" (wait for it to finish; if that process is gone, remove the file)`;

    await t.step(
      "create, restore with confirm, cleanup, pin and unpin answer 409 busy",
      async () => {
        const legacyRestore = JSON.stringify({
          action: "restore",
          backupId: id,
          confirm: "app.db",
        });
        const cases: [string, string, string, string?][] = [
          ["create", "POST", "/api/v1/backups", '{"description": "blocked"}'],
          ["create", "POST", "/api/backup", '{"action": "create"}'],
          ["restore", "POST", `/api/v1/backups/${id}/restore`, '{"confirm": "app.db"}'],
          ["restore", "POST", "/api/backup", legacyRestore],
          ["cleanup", "POST", "/api/v1/cleanup", "{}"],
          ["cleanup", "POST", "/api/backup", '{"action": "cleanup"}'],
          ["pin", "POST", `/api/v1/backups/${id}/pin`, '{"reason": "x"}'],
          ["unpin", "DELETE", `/api/v1/backups/${id}/pin`],
        ];
        for (const [command, method, path, body] of cases) {
          const response = await api.request(path, { method, body });
          const error = await expectError(response, 409, "busy");
          assert.equal(error.message, busyMessage(command), `${method} ${path}`);
        }
      },
    );

    await t.step("reads and plans still answer", async () => {
      for (
        const [path, body] of [
          ["/api/v1/cleanup", '{"dryRun": true}'],
          [`/api/v1/backups/${id}/restore`, '{"dryRun": true}'],
        ]
      ) {
        const response = await api.request(path, { method: "POST", body });
        assert.equal(response.status, 200, await response.text());
      }
      const status = await api.request("/api/v1/status");
      assert.equal(status.status, 200);
      await status.body?.cancel();
    });

    await t.step(
      "nothing was written to the store or the database, and no job started",
      async () => {
        assert.deepEqual(await snapshotDir(api.dir), before);
        assert.equal(await sha256File(api.database), database);
        assert.equal(JSON.parse(await Deno.readTextFile(lockPath)).pid, holder!.pid);
        const { jobs } = await (await api.request("/api/v1/jobs")).json();
        assert.deepEqual(jobs, []);
      },
    );

    await t.step("once the holder is gone a create works", async () => {
      holder!.kill("SIGKILL");
      await holder!.status;
      holder = undefined;
      const response = await api.request("/api/v1/backups", { method: "POST", body: "{}" });
      assert.equal(response.status, 202);
      const { job } = await response.json();
      assert.equal((await waitForJob(api, job.url)).state, "succeeded");
    });
  } finally {
    if (holder) {
      holder.kill("SIGKILL");
      await holder.status;
    }
    assert.equal(await api.stop(), 0);
  }
});

Deno.test("repeated wrong tokens from one address are slowed down, and a right token still works", async () => {
  const api = await startApiFixture();
  try {
    const wrong = newToken().token;
    const took: number[] = [];
    for (let i = 0; i < 8; i++) {
      const started = performance.now();
      const response = await api.request("/api/v1/status", { token: wrong });
      await expectError(response, 401, "unauthorized");
      took.push(performance.now() - started);
    }
    assert.ok(
      took[7] - took[0] >= 200,
      `the 8th failure took ${took[7].toFixed(0)} ms, the 1st ${took[0].toFixed(0)} ms`,
    );
    const right = await api.request("/api/v1/status", { token: api.viewerToken });
    assert.equal(right.status, 200);
    assert.equal((await right.json()).success, true);
    const admin = await api.request("/api/v1/jobs");
    assert.equal(admin.status, 200);
    await admin.body?.cancel();
  } finally {
    assert.equal(await api.stop(), 0);
  }
});

/** Everything a client can see of a session that uses every kind of token, right and wrong. */
async function exercise(api: ApiFixture, envToken: string, wrong: string): Promise<string[]> {
  const seen: string[] = [];
  const keep = async (response: Response) => {
    seen.push(`${response.status} ${JSON.stringify([...response.headers])}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    seen.push(new TextDecoder("latin1").decode(bytes));
    return response.status;
  };
  for (const token of [api.adminToken, api.viewerToken, envToken]) {
    for (
      const path of [
        "/api/v1/status",
        "/api/backup?action=status",
        "/api/backup?action=list",
        "/api/v1/backups",
        "/api/v1/jobs",
        "/api/openapi.json",
        "/metrics",
      ]
    ) {
      assert.equal(await keep(await api.request(path, { token })), 200, path);
    }
  }
  const created = await api.request("/api/v1/backups", {
    method: "POST",
    token: envToken,
    body: '{"description": "by the environment token"}',
  });
  const { job } = await created.clone().json();
  assert.equal(await keep(created), 202);
  const done = await waitForJob(api, job.url);
  assert.equal(done.by, "BACKUP_API_TOKEN");
  assert.equal(await keep(await api.request(`${job.url}/events`, { token: api.viewerToken })), 200);
  assert.equal(await keep(await api.request(job.url)), 200);
  const id = (done.result as { backup: { id: string } }).backup.id;
  assert.equal(await keep(await api.request(`/api/v1/backups/${id}`, { token: envToken })), 200);
  assert.equal(await keep(await api.request(`/api/v1/backups/${id}/download`)), 200);
  const legacy = await api.request("/api/backup", {
    method: "POST",
    body: '{"action": "create", "type": "schema"}',
  });
  assert.equal(await keep(legacy), 201);
  // refusals: wrong and malformed headers, a viewer on an admin route, bad bodies
  for (
    const authorization of [
      `Bearer ${wrong}`,
      `Basic ${btoa(`ops:${wrong}`)}`,
      `Token ${wrong}`,
      `Bearer ${wrong} ${api.adminToken}`,
      `Bearer ${api.adminToken} ${envToken}`,
      wrong,
    ]
  ) {
    const response = await api.request("/api/v1/status", {
      token: null,
      headers: { authorization },
    });
    assert.equal(await keep(response), 401);
    await keep(await api.request("/api/v1/jobs", { token: api.viewerToken }));
  }
  const forbidden = await api.request("/api/v1/backups", {
    method: "POST",
    token: api.viewerToken,
    body: "{}",
  });
  assert.equal(await keep(forbidden), 403);
  assert.equal(
    await keep(await api.request("/api/v1/backups", { method: "POST", body: "{oops" })),
    400,
  );
  // a token in the query string stays out of the access log (it prints only the path)
  const query = await api.request(`/api/backup?action=list&token=${wrong}&key=${envToken}`);
  assert.equal(await keep(query), 200);
  return seen;
}

for (const format of ["human", "json"] as const) {
  Deno.test(`no token appears in the ${format} log, any answer, the audit log or the status`, async () => {
    const envToken = newToken().token;
    const wrong = newToken().token;
    const api = await startApiFixture({
      backups: 1,
      env: { BACKUP_API_TOKEN: envToken },
      args: ["--log-format", format],
    });
    try {
      const seen = await exercise(api, envToken, wrong);
      const status = await (await api.request("/api/v1/status")).text();
      const audit = await Deno.readTextFile(join(api.dir, "audit.jsonl"));
      const output = api.output();
      assert.match(output, /tokens: ops \(admin\), grafana \(viewer\), BACKUP_API_TOKEN \(admin\)/);
      assert.match(output, /GET \/api\/backup|"path":"\/api\/backup"/);
      const secrets = { admin: api.adminToken, viewer: api.viewerToken, env: envToken, wrong };
      const places: Record<string, string> = {
        "the server's output": output,
        "the audit log": audit,
        "the status answer": status,
        "the answers": seen.join("\n"),
      };
      for (const [place, text] of Object.entries(places)) {
        for (const [name, token] of Object.entries(secrets)) {
          assert.ok(!text.includes(token), `the ${name} token is in ${place}`);
          // nor any long piece of it
          assert.ok(!text.includes(token.slice(3, 23)), `part of the ${name} token is in ${place}`);
        }
      }
      assert.match(audit, /"client":\{"token":"BACKUP_API_TOKEN","address":"127\.0\.0\.1"\}/);
    } finally {
      assert.equal(await api.stop(), 0);
    }
  });
}
