/**
 * `serve` and `token` through the command line: the refusals that keep tokens off the network in
 * clear text (one line, exit 2), HTTPS with the fixture certificate, where it listens, the
 * scheduler in the same process, and a stop that waits for the running job.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import https from "node:https";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "../../src/cli/main.ts";
import type { Io } from "../../src/cli/io.ts";
import { Interrupts } from "../../src/cli/interrupts.ts";
import { systemClock } from "../../src/core/clock.ts";
import { newToken } from "../../src/api/auth.ts";
import { LOCK_KEY } from "../../src/core/lock.ts";
import { startApiFixture } from "../helpers/api_server.ts";
import { type CliResult, runCli } from "../helpers/cli.ts";
import {
  execSql,
  listNames,
  makeDatabase,
  makeLargeDatabase,
  sha256File,
  withWorkspace,
  type Workspace,
} from "../helpers/workspace.ts";

const TLS_DIR = fileURLToPath(new URL("../fixtures/tls/", import.meta.url));
const CERT = join(TLS_DIR, "cert.pem");
const KEY = join(TLS_DIR, "key.pem");

const NO_TOKEN =
  'Error: Cannot start the API without a token (make one with "backup-manager token", then set BACKUP_API_TOKEN or "api.tokens")\n';

function plainHttpRefused(host: string): string {
  return `Error: Cannot serve plain HTTP on "${host}": tokens would cross the network in clear text (use --tls-cert and --tls-key, or --insecure-http behind a TLS-terminating proxy)\n`;
}

/**
 * `serve` expected to refuse: runs it in-process; should it start after all, a signal stops it
 * after a while so the test fails on the exit code instead of hanging.
 */
async function refusedServe(
  ws: Workspace,
  args: string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  const interrupts = new Interrupts();
  const timer = setTimeout(() => interrupts.receive(), 10_000);
  try {
    return await runCli(["serve", "--database", ws.database, "--dir", ws.dir, ...args], {
      env,
      interrupts,
      cwd: ws.root,
    });
  } finally {
    clearTimeout(timer);
  }
}

function assertOneLineRefusal(result: CliResult, stderr?: string | RegExp): void {
  assert.equal(result.code, 2, result.stderr + result.stdout);
  assert.equal(result.stdout, "");
  assert.match(result.stderr, /^Error: [^\n]+\n$/);
  if (typeof stderr === "string") assert.equal(result.stderr, stderr);
  else if (stderr) assert.match(result.stderr, stderr);
}

/** A `serve` started in-process with exactly `argv`, its output captured. */
interface Served {
  url: string;
  output(): string;
  stop(): Promise<number>;
}

async function startServe(
  argv: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<Served> {
  let output = "";
  const io: Io = {
    stdout: (text) => output += text,
    stderr: (text) => output += text,
    isTerminal: false,
    prompt: () => Promise.resolve(null),
    env: { ...options.env },
    cwd: options.cwd,
  };
  const interrupts = new Interrupts();
  const exited = run(argv, io, systemClock, interrupts);
  let ended: number | undefined;
  exited.then((code) => ended = code);
  for (let waited = 0;; waited += 20) {
    const url = /serving the API and dashboard on (\S+?);/.exec(output)?.[1];
    if (url) {
      return {
        url,
        output: () => output,
        stop: () => {
          interrupts.receive();
          return exited;
        },
      };
    }
    if (ended !== undefined) throw new Error(`serve exited with ${ended}: ${output}`);
    if (waited > 20_000) {
      interrupts.receive();
      await exited;
      throw new Error(`serve did not start: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function statusOf(url: string, init: RequestInit = {}): Promise<number> {
  const response = await fetch(url, init);
  await response.body?.cancel();
  return response.status;
}

/** The fixture certificate is its own CA (`CA:TRUE`), which rustls refuses as a server's
 * certificate in `fetch` (`CaUsedAsEndEntity`); `node:https` trusts it as `ca`, as nodemailer
 * does in the STARTTLS tests. */
const TRUSTED_CA = Deno.readTextFileSync(CERT);

/** A GET over HTTPS; `ca` is the only certificate trusted (none: the system's). */
function httpsGet(
  url: string,
  options: { ca?: string; token?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = https.request(url, {
      agent: false,
      ...(options.ca ? { ca: options.ca } : {}),
      headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
    }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => body += chunk);
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end();
  });
}

Deno.test("serve refuses to start without any token, in one line with exit 2", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    assertOneLineRefusal(await refusedServe(ws, ["--listen", "127.0.0.1:0"]), NO_TOKEN);
    // an empty variable is no token either
    assertOneLineRefusal(
      await refusedServe(ws, ["--listen", "127.0.0.1:0"], { BACKUP_API_TOKEN: "  " }),
      NO_TOKEN,
    );
  });
});

Deno.test("serve refuses plain HTTP on an address other than loopback", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const env = { BACKUP_API_TOKEN: newToken().token };
    const cases: [string[], Record<string, string>, string][] = [
      [["--listen", "0.0.0.0:0"], env, "0.0.0.0"],
      [["--listen", "[::]:0"], env, "::"],
      [["--listen", "192.0.2.10:8000"], env, "192.0.2.10"],
      [[], { ...env, BACKUP_API_LISTEN: "0.0.0.0:0" }, "0.0.0.0"],
    ];
    for (const [args, environment, host] of cases) {
      assertOneLineRefusal(await refusedServe(ws, args, environment), plainHttpRefused(host));
    }
  });
});

Deno.test("serve refuses a BACKUP_API_TOKEN that is short or has spaces", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const message =
      'Error: Invalid BACKUP_API_TOKEN: expected at least 16 printable characters without spaces (make one with "backup-manager token")\n';
    for (
      const token of ["short", "fifteen-chars-x", "sixteen chars ok", "tab\there-and-long-enough"]
    ) {
      const result = await refusedServe(ws, ["--listen", "127.0.0.1:0"], {
        BACKUP_API_TOKEN: token,
      });
      assertOneLineRefusal(result, message);
      assert.ok(!result.stderr.includes(token));
    }
  });
});

Deno.test("serve names where a bad listen address came from", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const env = { BACKUP_API_TOKEN: newToken().token };
    const expected = (value: string, source: string) =>
      `Error: Invalid value "${value}" for ${source}: expected HOST:PORT, e.g. 127.0.0.1:8000 or [::1]:8000\n`;
    assertOneLineRefusal(await refusedServe(ws, ["--listen", "127.0.0.1:99999"], env));
    assertOneLineRefusal(
      await refusedServe(ws, ["--listen", "nonsense"], env),
      expected("nonsense", "--listen"),
    );
    assertOneLineRefusal(
      await refusedServe(ws, [], { ...env, BACKUP_API_LISTEN: "nonsense" }),
      expected("nonsense", "BACKUP_API_LISTEN"),
    );
  });
});

Deno.test("a bad certificate, key or path is a one-line exit-2 error", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const env = { BACKUP_API_TOKEN: newToken().token };
    const missing = join(ws.root, "missing.pem");
    const garbage = join(ws.root, "garbage.pem");
    await Deno.writeTextFile(garbage, "not a certificate\n");
    const listen = ["--listen", "127.0.0.1:0"];
    assertOneLineRefusal(
      await refusedServe(ws, [...listen, "--tls-cert", missing, "--tls-key", KEY], env),
      new RegExp(`^Error: Cannot read "${missing}" \\(api\\.tls\\.cert\\): `),
    );
    assertOneLineRefusal(
      await refusedServe(ws, [...listen, "--tls-cert", CERT, "--tls-key", missing], env),
      new RegExp(`^Error: Cannot read "${missing}" \\(api\\.tls\\.key\\): `),
    );
    assertOneLineRefusal(
      await refusedServe(ws, [...listen, "--tls-cert", garbage, "--tls-key", KEY], env),
      /^Error: Cannot start TLS: .+ \(check --tls-cert and --tls-key\)\n$/,
    );
    assertOneLineRefusal(
      await refusedServe(ws, [...listen, "--tls-cert", CERT, "--tls-key", CERT], env),
      /^Error: Cannot start TLS: .+ \(check --tls-cert and --tls-key\)\n$/,
    );
    assertOneLineRefusal(
      await refusedServe(ws, [...listen, "--tls-cert", CERT], env),
      /api\.tls\.key/,
    );
  });
});

Deno.test("a listen address in use is a one-line exit-2 error", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const port = (taken.addr as Deno.NetAddr).port;
      const result = await refusedServe(ws, ["--listen", `127.0.0.1:${port}`], {
        BACKUP_API_TOKEN: newToken().token,
      });
      assertOneLineRefusal(
        result,
        `Error: Cannot listen on 127.0.0.1:${port}: the address is in use\n`,
      );
    } finally {
      taken.close();
    }
  });
});

Deno.test("serve --insecure-http listens on 0.0.0.0 and answers plain HTTP", async () => {
  const api = await startApiFixture({ args: ["--listen", "0.0.0.0:0", "--insecure-http"] });
  try {
    const { port } = new URL(api.url);
    assert.equal(new URL(api.url).hostname, "0.0.0.0");
    const local = `http://127.0.0.1:${port}`;
    assert.equal(await statusOf(`${local}/healthz`), 200);
    assert.equal(
      await statusOf(`${local}/api/v1/status`, {
        headers: { authorization: `Bearer ${api.viewerToken}` },
      }),
      200,
    );
    assert.equal(await statusOf(`${local}/api/v1/status`), 401);
  } finally {
    assert.equal(await api.stop(), 0);
  }
});

Deno.test("with --tls-cert and --tls-key serve answers HTTPS that trusts the fixture certificate", async () => {
  const api = await startApiFixture({ args: ["--tls-cert", CERT, "--tls-key", KEY] });
  try {
    assert.match(api.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const health = await httpsGet(`${api.url}/healthz`, { ca: TRUSTED_CA });
    assert.deepEqual(health, { status: 200, body: '{\n  "ok": true\n}\n' });
    const status = await httpsGet(`${api.url}/api/v1/status`, {
      ca: TRUSTED_CA,
      token: api.viewerToken,
    });
    assert.equal(status.status, 200);
    assert.equal(JSON.parse(status.body).success, true);
    assert.equal((await httpsGet(`${api.url}/api/v1/status`, { ca: TRUSTED_CA })).status, 401);
    const localhost = api.url.replace("127.0.0.1", "localhost");
    assert.equal((await httpsGet(`${localhost}/healthz`, { ca: TRUSTED_CA })).status, 200);
    // a client that does not trust the certificate refuses it; plain HTTP gets no answer
    await assert.rejects(httpsGet(`${api.url}/healthz`), /self-signed certificate/);
    const plain = await fetch(api.url.replace("https:", "http:") + "/healthz").then(
      async (r) => {
        await r.body?.cancel();
        return r.status;
      },
      () => "refused",
    );
    assert.notEqual(plain, 200);
  } finally {
    assert.equal(await api.stop(), 0);
  }
});

Deno.test("with TLS serve may listen on 0.0.0.0 without --insecure-http", async () => {
  const api = await startApiFixture({
    args: ["--listen", "0.0.0.0:0", "--tls-cert", CERT, "--tls-key", KEY],
  });
  try {
    const { port, protocol } = new URL(api.url);
    assert.equal(protocol, "https:");
    const health = await httpsGet(`https://127.0.0.1:${port}/healthz`, { ca: TRUSTED_CA });
    assert.equal(health.status, 200);
  } finally {
    assert.equal(await api.stop(), 0);
  }
});

Deno.test("TLS files named in a config file are found next to the file, wherever serve runs", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    await Deno.mkdir(join(ws.root, "tls"));
    await Deno.copyFile(CERT, join(ws.root, "tls", "cert.pem"));
    await Deno.copyFile(KEY, join(ws.root, "tls", "key.pem"));
    const token = newToken();
    const configPath = join(ws.root, "backup-manager.json");
    await Deno.writeTextFile(
      configPath,
      JSON.stringify({
        database: "app.db",
        backupDir: "backups",
        api: {
          listen: "127.0.0.1:0",
          tokens: [{ name: "ops", sha256: token.sha256, role: "admin" }],
          tls: { cert: "tls/cert.pem", key: "tls/key.pem" },
        },
      }),
    );
    // the process runs elsewhere (the repository), as `serve --config /etc/…` from `/` would
    const served = await startServe(["--config", configPath, "serve"]);
    try {
      assert.match(served.url, /^https:/);
      assert.equal((await httpsGet(`${served.url}/healthz`, { ca: TRUSTED_CA })).status, 200);
    } finally {
      assert.equal(await served.stop(), 0);
    }
  });
});

Deno.test("api.listen, then BACKUP_API_LISTEN, then --listen choose the address", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const token = newToken();
    const configPath = join(ws.root, "backup-manager.json");
    await Deno.writeTextFile(
      configPath,
      JSON.stringify({
        database: ws.database,
        backupDir: ws.dir,
        api: {
          listen: "127.0.0.2:0",
          tokens: [{ name: "ops", sha256: token.sha256, role: "admin" }],
        },
      }),
    );
    const cases: [string[], Record<string, string>, string][] = [
      [[], {}, "127.0.0.2"],
      [[], { BACKUP_API_LISTEN: "127.0.0.3:0" }, "127.0.0.3"],
      [["--listen", "127.0.0.4:0"], { BACKUP_API_LISTEN: "127.0.0.3:0" }, "127.0.0.4"],
    ];
    for (const [args, env, host] of cases) {
      const served = await startServe(["--config", configPath, "serve", ...args], { env });
      try {
        const url = new URL(served.url);
        assert.equal(url.hostname, host, JSON.stringify(env));
        assert.notEqual(url.port, "8000");
        assert.equal(
          await statusOf(`${served.url}/api/v1/status`, {
            headers: { authorization: `Bearer ${token.token}` },
          }),
          200,
        );
      } finally {
        assert.equal(await served.stop(), 0);
      }
    }
  });
});

Deno.test("token prints a new token and the config entry holding its SHA-256", async (t) => {
  const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
  let printed: { token: string; entry: { name: string; sha256: string; role: string } };

  await t.step("as text", async () => {
    const result = await runCli(["token", "--name", "ci-bot", "--role", "viewer"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    const match = new RegExp(
      "^Token \\(shown once, keep it secret\\):\\n  (bm_[A-Za-z0-9_-]{43})\\n\\n" +
        'Add this to "api\\.tokens" in the config file:\\n  (\\{.*\\})\\n$',
    ).exec(result.stdout);
    assert.ok(match, result.stdout);
    const entry = JSON.parse(match[2]);
    assert.deepEqual(entry, { name: "ci-bot", sha256: sha256(match[1]), role: "viewer" });
  });

  await t.step("as JSON", async () => {
    const result = await runCli(["token", "--format", "json"]);
    assert.equal(result.code, 0, result.stderr);
    printed = JSON.parse(result.stdout);
    assert.deepEqual(Object.keys(printed).sort(), ["entry", "token"]);
    assert.match(printed.token, /^bm_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(printed.entry, {
      name: "admin",
      sha256: sha256(printed.token),
      role: "admin",
    });
    const again = JSON.parse((await runCli(["token", "--format", "json"])).stdout);
    assert.notEqual(again.token, printed.token);
  });

  await t.step("the printed entry lets the printed token in, with its role", async () => {
    const viewer = JSON.parse(
      (await runCli(["token", "--name", "dash", "--role", "viewer", "--format", "json"])).stdout,
    );
    const api = await startApiFixture({
      config: { api: { tokens: [printed.entry, viewer.entry] } },
    });
    try {
      const as = (token: string, path: string, init: RequestInit = {}) =>
        api.request(path, { ...init, token }).then(async (r) => {
          await r.body?.cancel();
          return r.status;
        });
      assert.equal(await as(printed.token, "/api/v1/status"), 200);
      assert.equal(await as(viewer.token, "/api/v1/status"), 200);
      assert.equal(await as(viewer.token, "/api/v1/cleanup", { method: "POST", body: "{}" }), 403);
      assert.equal(await as(api.adminToken, "/api/v1/status"), 401); // replaced by the entries
      assert.match(api.output(), /tokens: admin \(admin\), dash \(viewer\)/);
    } finally {
      assert.equal(await api.stop(), 0);
    }
  });

  await t.step("a bad name or role is a one-line exit-2 error", async () => {
    for (
      const [args, message] of [
        [
          ["--role", "root"],
          'Error: Invalid value "root" for --role: expected "admin" or "viewer"\n',
        ],
        [
          ["--name", "has space"],
          'Error: Invalid value "has space" for --name: expected 1-64 letters, digits, or . _ @ -\n',
        ],
      ] as const
    ) {
      const result = await runCli(["token", ...args]);
      assert.equal(result.code, 2);
      assert.equal(result.stdout, "");
      assert.equal(result.stderr, message);
    }
  });
});

Deno.test("serve with a schedule starts the scheduler and makes its first backup", async () => {
  const api = await startApiFixture({ config: { schedule: { every: "1h" } } });
  try {
    assert.match(api.output(), /; the scheduler runs in this process\n/);
    let backups: { id: string }[] = [];
    for (let i = 0; i < 600 && !/run finished: /.test(api.output()); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const response = await api.request("/api/v1/backups", { token: api.viewerToken });
    backups = (await response.json()).backups;
    assert.equal(backups.length, 1, api.output());
    const output = api.output();
    assert.match(output, /info {2}scheduler started: /);
    assert.match(output, new RegExp(`info {2}run finished: ${backups[0].id} in `));
    assert.ok(output.indexOf("scheduler started") < output.indexOf("run finished"));
  } finally {
    assert.equal(await api.stop(), 0);
  }
  assert.match(api.output(), /scheduler stopped/);
});

Deno.test("a stop while a job runs waits for the job to finish, refuses new work, and exits 0", async () => {
  const store = await Deno.makeTempDir({ prefix: "backup-manager-serve-store-" });
  const api = await startApiFixture({ config: { backupDir: store } });
  let stopped: Promise<number> | undefined;
  try {
    makeLargeDatabase(api.database);
    execSql(
      api.database,
      "INSERT INTO items (name, body, score) SELECT name, body, score FROM items",
    );
    const started = await api.request("/api/v1/backups", { method: "POST", body: "{}" });
    assert.equal(started.status, 202);
    const { job } = await started.json();

    stopped = api.stop();
    const refused = await api.request("/api/v1/backups", { method: "POST", body: "{}" });
    assert.equal(refused.status, 503);
    assert.deepEqual((await refused.json()).error, {
      code: "stopping",
      message: "Cannot create: the server is stopping; try again later",
    });
    const progress = await api.request(job.url);
    assert.equal(progress.status, 200);
    assert.equal((await progress.json()).job.state, "running");

    assert.equal(await stopped, 0);
    const output = api.output();
    const waiting = output.indexOf(
      "stopping: waiting for 1 running job(s) (a second signal abandons them)",
    );
    assert.ok(waiting > 0, output);
    const created = /info {2}backup created (full_\d{8}T\d{9}Z) \(3 tables, /.exec(output);
    assert.ok(created && created.index > waiting, output);
    const id = created[1];
    assert.deepEqual(await listNames(store), ["audit.jsonl", `${id}.meta.json`, `${id}.sql.gz`]);
    assert.ok(!(await listNames(store)).includes(LOCK_KEY));
    const meta = JSON.parse(await Deno.readTextFile(join(store, `${id}.meta.json`)));
    assert.equal(meta.file.sha256, await sha256File(join(store, `${id}.sql.gz`)));
  } finally {
    assert.equal(await (stopped ?? api.stop()), 0);
    await Deno.remove(store, { recursive: true });
  }
});
