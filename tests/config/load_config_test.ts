import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig, type LoadConfigOptions } from "../../src/config/load_config.ts";
import { UsageError } from "../../src/core/errors.ts";
import { withWorkspace } from "../helpers/workspace.ts";

/** Loads with a config file holding `file` (if given) in a fresh directory. */
async function load(
  file: unknown,
  options: Omit<LoadConfigOptions, "cwd"> = {},
) {
  return await withWorkspace(async (ws) => {
    if (file !== undefined) {
      await Deno.writeTextFile(
        join(ws.root, "backup-manager.json"),
        typeof file === "string" ? file : JSON.stringify(file),
      );
    }
    return { ws, config: loadConfig({ ...options, cwd: ws.root }) };
  });
}

/** The one-line message of the UsageError that loading throws. */
async function failure(file: unknown, options: Omit<LoadConfigOptions, "cwd"> = {}) {
  try {
    await load(file, options);
  } catch (error) {
    assert.ok(error instanceof UsageError, String(error));
    assert.ok(!error.message.includes("\n"), error.message);
    return error.message;
  }
  assert.fail("expected a UsageError");
}

Deno.test("loadConfig() without a file or environment gives the documented defaults", async () => {
  const { config } = await load(undefined);
  assert.deepEqual({ ...config, timezone: "-" }, {
    database: "sqlite:./data/app.db",
    backupDir: "./backups",
    copies: [],
    s3: {},
    encryption: { recipients: [] },
    signing: { trusted: [] },
    compression: "gzip:6",
    jobs: navigator.hardwareConcurrency,
    stallTimeout: "10m",
    timezone: "-",
    retention: {},
    retentionPerDatabase: {},
    rolePasswords: true,
    files: [],
    hooks: { before: [], after: [], failure: [] },
    pitr: {
      enabled: false,
      interval: "1s",
      checkpointBytes: 4 * 1024 * 1024,
      snapshotEvery: "24h",
      keepDays: 7,
      maxLag: "1m",
      walWait: "60s",
    },
    maintenance: {
      busyTimeout: "5s",
      vacuum: true,
      vacuumMinBytes: 64 * 1024 * 1024,
      vacuumMinRatio: 0.1,
    },
    schedule: { type: "full", verify: true, restoreTest: false, retries: 3, retryBackoff: "1m" },
    health: {
      rpo: "24h",
      verifyMaxAge: "7d",
      sizeAnomalyRatio: 0.5,
      minFreeBytes: 1073741824,
      criticalFailures: 3,
    },
    notifications: { on: ["failure"], webhooks: [], timeout: "10s" },
    api: { listen: "127.0.0.1:8000", tokens: [], insecureHttp: false },
    log: { format: "human" },
  });
});

Deno.test("loadConfig() merges defaults < file < environment < flags, key by key", async () => {
  const { ws, config } = await load(
    { backupDir: "/srv/backups", retention: { keepLast: 7, keepDays: 30, keepDaily: 7 } },
    {
      env: { BACKUP_MAX_BACKUPS: "10", BACKUP_RETENTION_DAYS: "14", BACKUP_TZ: "Europe/Berlin" },
      flags: [
        { path: "retention.keepLast", value: "3", source: "--keep-last" },
        { path: "retention.keepWeekly", value: undefined, source: "--keep-weekly" },
      ],
    },
  );
  assert.ok(ws.root);
  assert.equal(config.backupDir, "/srv/backups");
  assert.equal(config.timezone, "Europe/Berlin");
  assert.deepEqual(config.retention, { keepLast: 3, keepDays: 14, keepDaily: 7 });
});

Deno.test("loadConfig() takes compression and jobs from the file, BACKUP_COMPRESSION / BACKUP_JOBS, then flags", async () => {
  const file = { compression: "zstd", jobs: 3 };
  assert.deepEqual(
    pick((await load(file)).config),
    { compression: "zstd", jobs: 3 },
  );
  const env = { BACKUP_COMPRESSION: "none", BACKUP_JOBS: "4" };
  assert.deepEqual(pick((await load(file, { env })).config), { compression: "none", jobs: 4 });
  const flags = [
    { path: "compression", value: "gzip:9", source: "--compression" },
    { path: "jobs", value: "1", source: "--jobs" },
  ];
  assert.deepEqual(pick((await load(file, { env, flags })).config), {
    compression: "gzip:9",
    jobs: 1,
  });
});

Deno.test("loadConfig() takes stallTimeout from the file, BACKUP_STALL_TIMEOUT, then --stall-timeout", async () => {
  const file = { stallTimeout: "30m" };
  assert.equal((await load(file)).config.stallTimeout, "30m");
  const env = { BACKUP_STALL_TIMEOUT: "off" };
  assert.equal((await load(file, { env })).config.stallTimeout, "off");
  const flags = [{ path: "stallTimeout", value: "90s", source: "--stall-timeout" }];
  assert.equal((await load(file, { env, flags })).config.stallTimeout, "90s");
});

Deno.test("loadConfig() refuses a stallTimeout that is no duration, in one line naming it", async () => {
  const hint =
    'expected a duration like "90s", "15m", "6h", "7d" or "1h30m", or "off" (or "0") to disable it';
  assert.equal(
    await failure(undefined, { env: { BACKUP_STALL_TIMEOUT: "soon" } }),
    `Invalid value "soon" for BACKUP_STALL_TIMEOUT (setting "stallTimeout"): ${hint}`,
  );
  assert.equal(
    await failure(undefined, {
      flags: [{ path: "stallTimeout", value: "10", source: "--stall-timeout" }],
    }),
    `Invalid value "10" for --stall-timeout: ${hint}`,
  );
  assert.match(await failure({ stallTimeout: 600 }), /^Invalid value 600 for "stallTimeout" in /);
});

function pick(config: { compression: string; jobs: number }) {
  return { compression: config.compression, jobs: config.jobs };
}

Deno.test("loadConfig() resolves relative paths in a config file next to the file", async () => {
  const { ws, config } = await load({ backupDir: "./store", database: "sqlite:./data/app.db" });
  assert.equal(config.backupDir, join(ws.root, "store"));
  assert.equal(config.database, `sqlite:${join(ws.root, "data/app.db")}`);
  const url = await load({ database: "postgres://u:p@db/app" });
  assert.equal(url.config.database, "postgres://u:p@db/app");
});

Deno.test("loadConfig() reads --config from any path and refuses one that does not exist", async () => {
  await withWorkspace(async (ws) => {
    const path = join(ws.root, "elsewhere.json");
    await Deno.writeTextFile(path, JSON.stringify({ retention: { keepLast: 2 } }));
    assert.equal(loadConfig({ configPath: path, cwd: "/" }).retention.keepLast, 2);
    assert.throws(
      () => loadConfig({ configPath: "missing.json", cwd: ws.root }),
      new UsageError(
        `Cannot read config file "${
          join(ws.root, "missing.json")
        }": it does not exist (check --config)`,
      ),
    );
  });
});

Deno.test("loadConfig() maps every documented environment variable", async () => {
  const { config } = await load(undefined, {
    env: {
      DATABASE_URL: "sqlite:/data/app.db",
      BACKUP_DIR: "/backups",
      BACKUP_TZ: "America/New_York",
      BACKUP_RETENTION_DAYS: "30",
      BACKUP_MAX_BACKUPS: "7",
      BACKUP_CRON: "0 2 * * *",
      BACKUP_RPO: "12h",
      BACKUP_WEBHOOK_URL: "https://example.com/hook?token=abc",
      BACKUP_SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T/B/X",
      BACKUP_NOTIFY_ON: "failure, success",
      SMTP_HOST: "smtp.example.com",
      SMTP_PORT: "465",
      SMTP_USER: "mailer",
      SMTP_PASSWORD: "hunter2",
      SMTP_FROM: "Backups <backups@example.com>",
      BACKUP_EMAIL_TO: "ops@example.com,dev@example.com",
      BACKUP_HEALTHCHECK_URL: "https://hc-ping.com/uuid/",
      BACKUP_LOG_FORMAT: "json",
      BACKUP_INTERVAL: "",
    },
  });
  assert.equal(config.database, "sqlite:/data/app.db");
  assert.equal(config.backupDir, "/backups");
  assert.equal(config.timezone, "America/New_York");
  assert.deepEqual(config.retention, { keepDays: 30, keepLast: 7 });
  assert.equal(config.schedule.cron, "0 2 * * *");
  assert.equal(config.schedule.every, undefined);
  assert.equal(config.health.rpo, "12h");
  assert.deepEqual(config.notifications, {
    on: ["failure", "success"],
    timeout: "10s",
    webhooks: [
      { url: "https://example.com/hook?token=abc", format: "json" },
      { url: "https://hooks.slack.com/services/T/B/X", format: "slack" },
    ],
    email: {
      host: "smtp.example.com",
      port: 465,
      secure: false,
      starttls: true,
      user: "mailer",
      password: "hunter2",
      from: "Backups <backups@example.com>",
      to: ["ops@example.com", "dev@example.com"],
    },
    healthchecks: {
      start: "https://hc-ping.com/uuid/start",
      success: "https://hc-ping.com/uuid",
      fail: "https://hc-ping.com/uuid/fail",
    },
  });
  assert.equal(config.log.format, "json");
});

Deno.test("loadConfig() lets a stronger layer's schedule.every replace the file's cron", async () => {
  const { config } = await load({ schedule: { cron: "0 2 * * *" } }, {
    env: { BACKUP_INTERVAL: "6h" },
  });
  assert.equal(config.schedule.every, "6h");
  assert.equal(config.schedule.cron, undefined);
});

const mistakes: { name: string; file?: unknown; env?: Record<string, string>; message: string }[] =
  [
    {
      name: "an API token hash that is not 64 hex digits is refused without echoing it",
      file: { api: { tokens: [{ name: "ops", sha256: "secret-token", role: "admin" }] } },
      message:
        `Invalid value for "api.tokens[0].sha256" in FILE: expected the token's SHA-256: 64 hex digits (see the token command)`,
    },
    {
      name: "two API tokens of one name are refused",
      file: {
        api: {
          tokens: [
            { name: "ops", sha256: "a".repeat(64), role: "admin" },
            { name: "ops", sha256: "b".repeat(64), role: "viewer" },
          ],
        },
      },
      message: 'Invalid value for "api.tokens" in FILE: token names must be unique',
    },
    {
      name: "an unknown key names it and suggests the right one",
      file: { retention: { keepLats: 3 } },
      message: 'Unknown setting "retention.keepLats" in FILE (did you mean "retention.keepLast"?)',
    },
    {
      name: "an unknown top-level key lists what is allowed when nothing is close",
      file: { colour: "blue" },
      message:
        'Unknown setting "colour" in FILE (allowed here: database, retentionPerDatabase, databases, rolePasswords, backupDir, files, copies, s3, encryption, signing, compression, jobs, stallTimeout, timezone, retention, schedule, health, maintenance, notifications, api, log, hooks, pitr)',
    },
    {
      name: "a negative count names the setting, the file and the value",
      file: { retention: { keepDaily: -1 } },
      message: 'Invalid value -1 for "retention.keepDaily" in FILE: expected a whole number ≥ 0',
    },
    {
      name: "a bad duration says what a duration looks like",
      file: { health: { rpo: "1 day" } },
      message:
        'Invalid value "1 day" for "health.rpo" in FILE: expected a duration like "90s", "15m", "6h", "7d" or "1h30m"',
    },
    {
      name: "an unknown time zone is refused",
      env: { BACKUP_TZ: "Europe/Berlinn" },
      message:
        'Invalid value "Europe/Berlinn" for BACKUP_TZ (setting "timezone"): expected an IANA time zone such as "Europe/Berlin" or "UTC"',
    },
    {
      name: "every and cron in one place are refused",
      file: { schedule: { every: "6h", cron: "0 2 * * *" } },
      message:
        'Invalid value "0 2 * * *" for "schedule.cron" in FILE: set "schedule.every" or "schedule.cron", not both',
    },
    {
      name: "a missing required setting says where to set it",
      env: { SMTP_HOST: "smtp.example.com", BACKUP_EMAIL_TO: "ops@example.com" },
      message:
        'Missing setting "notifications.email.from": expected an email address (set it in the config file or SMTP_FROM)',
    },
    {
      name: "a bad list entry names its position",
      env: { BACKUP_NOTIFY_ON: "failure,sucess" },
      message:
        'Invalid value "sucess" for BACKUP_NOTIFY_ON (setting "notifications.on[1]"): expected "failure", "success" or "health"',
    },
    {
      name: "a bad webhook URL is refused without printing it",
      env: { BACKUP_WEBHOOK_URL: "hooks.example.com/secret-token" },
      message:
        'Invalid value for BACKUP_WEBHOOK_URL (setting "notifications.webhooks[0].url"): expected an http:// or https:// URL',
    },
    {
      name: "a bad password type is refused without printing it",
      file: {
        notifications: {
          email: { host: "h", from: "a@b.co", to: ["c@d.co"], password: 12345 },
        },
      },
      message: 'Invalid value for "notifications.email.password" in FILE: expected text',
    },
    {
      name: "an unknown compression says what is allowed",
      env: { BACKUP_COMPRESSION: "brotli" },
      message:
        'Invalid value "brotli" for BACKUP_COMPRESSION (setting "compression"): expected "gzip[:1-9]", "zstd[:1-19]" or "none"',
    },
    {
      name: "a compression level out of range is refused",
      file: { compression: "zstd:22" },
      message:
        'Invalid value "zstd:22" for "compression" in FILE: expected "gzip[:1-9]", "zstd[:1-19]" or "none"',
    },
    {
      name: "a compression that is not text is refused",
      file: { compression: 6 },
      message:
        'Invalid value 6 for "compression" in FILE: expected "gzip[:1-9]", "zstd[:1-19]" or "none"',
    },
    {
      name: "zero jobs are refused",
      env: { BACKUP_JOBS: "0" },
      message: 'Invalid value "0" for BACKUP_JOBS (setting "jobs"): expected a whole number ≥ 1',
    },
    {
      name: "jobs that are not a whole number are refused",
      file: { jobs: 1.5 },
      message: 'Invalid value 1.5 for "jobs" in FILE: expected a whole number ≥ 1',
    },
    {
      name: "a file that is not JSON says so",
      file: '{ "backupDir": "./b", }',
      message: "Cannot read config file",
    },
    {
      name: "a file that is not an object says so",
      file: "[1]",
      message:
        'Cannot read config file "FILE_PATH": expected a JSON object of settings such as {"backupDir": "./backups"}',
    },
  ];

for (const m of mistakes) {
  Deno.test(`loadConfig(): ${m.name}`, async () => {
    const message = await failure(m.file, { env: m.env });
    const normalized = message.replace(/in \/[^ ]*backup-manager\.json/, "in FILE")
      .replace(/"\/[^"]*backup-manager\.json"/, '"FILE_PATH"');
    if (m.message === "Cannot read config file") assert.match(normalized, /^Cannot read config/);
    else assert.equal(normalized, m.message);
    for (const secret of ["secret-token", "12345"]) assert.ok(!message.includes(secret));
  });
}

Deno.test("loadConfig() takes signing.key and a comma-separated signing.trusted from the environment", async () => {
  const { config } = await load(undefined, {
    env: {
      BACKUP_SIGNING_KEY: "/etc/backup-manager/signing.pem",
      BACKUP_SIGNING_TRUSTED: "ed25519:one, ed25519:two",
    },
  });
  assert.deepEqual(config.signing, {
    key: "/etc/backup-manager/signing.pem",
    trusted: ["ed25519:one", "ed25519:two"],
  });
});

Deno.test("loadConfig() reads a relative signing.key in the file as next to the file", async () => {
  const { ws, config } = await load({ signing: { key: "keys/signing.pem" } });
  assert.equal(config.signing.key, join(ws.root, "keys/signing.pem"));
});
