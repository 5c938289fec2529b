/**
 * The settings of backup-manager as one zod schema: the merge of defaults, the config file, the
 * environment and flags is validated here, so every command reads its settings the same way and
 * every mistake is reported the same way (see `load_config.ts`).
 */
import { z } from "npm:zod@4.6.7";
import { DURATION_HINT, parseDuration, parseTimeout, TIMEOUT_HINT } from "./duration.ts";
import { COMPRESSION_HINT, parseCompression } from "../core/compression.ts";
import { defaultJobs } from "../engines/engine.ts";
import { HOOK_OPERATIONS } from "../core/hooks.ts";

/** Whether `name` is an IANA time zone this runtime knows ("Europe/Berlin", "UTC"). */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return name.length > 0;
  } catch {
    return false;
  }
}

/** The time zone of this machine, the default for `timezone`. */
export function systemTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone ?? "UTC";
}

const count = () =>
  z.number({ error: "expected a whole number ≥ 0" })
    .int({ error: "expected a whole number ≥ 0" })
    .nonnegative({ error: "expected a whole number ≥ 0" });
const duration = () =>
  z.string({ error: `expected ${DURATION_HINT}` })
    .refine((text) => parseDuration(text) !== undefined, { error: `expected ${DURATION_HINT}` });
const positiveDuration = () =>
  duration().refine((text) => (parseDuration(text) ?? 0) > 0, {
    error: "expected a duration longer than 0",
  });
const timeout = () =>
  z.string({ error: `expected ${TIMEOUT_HINT}` })
    .refine((text) => parseTimeout(text) !== undefined, { error: `expected ${TIMEOUT_HINT}` });
const timeZone = () =>
  z.string({ error: 'expected an IANA time zone such as "Europe/Berlin" or "UTC"' })
    .refine(isTimeZone, { error: 'expected an IANA time zone such as "Europe/Berlin" or "UTC"' });
const httpUrl = () =>
  z.string({ error: "expected an http:// or https:// URL" })
    .refine((text) => /^https?:\/\/[^\s/]+/i.test(text) && URL.canParse(text), {
      error: "expected an http:// or https:// URL",
    });
const text = () => z.string({ error: "expected text" }).min(1, { error: "must not be empty" });
const positive = () =>
  z.number({ error: "expected a whole number ≥ 1" })
    .int({ error: "expected a whole number ≥ 1" })
    .min(1, { error: "expected a whole number ≥ 1" });
const compression = () =>
  z.string({ error: COMPRESSION_HINT })
    .refine((t) => parseCompression(t) !== undefined, { error: COMPRESSION_HINT });
const flag = () => z.boolean({ error: "expected true or false" });

/** Rules that decide which backups of one kind to keep; a backup is kept when any rule keeps it. */
export const KeepRulesSchema = z.strictObject({
  keepLast: count().optional(),
  keepDays: count().optional(),
  keepHourly: count().optional(),
  keepDaily: count().optional(),
  keepWeekly: count().optional(),
  keepMonthly: count().optional(),
  keepYearly: count().optional(),
});

/** `retention`: general rules, per-type rules, and the rule for pre-restore safety backups. */
export const RetentionSchema = KeepRulesSchema.extend({
  preRestore: KeepRulesSchema.optional(),
  perType: z.strictObject({
    full: KeepRulesSchema.optional(),
    schema: KeepRulesSchema.optional(),
  }).optional(),
});

/** `schedule`: what `auto` runs and when. */
export const ScheduleSchema = z.strictObject({
  every: duration().optional(),
  cron: text().optional(),
  timezone: timeZone().optional(),
  type: z.enum(["full", "schema"], { error: 'expected "full" or "schema"' }).default("full"),
  verify: flag().default(true),
  restoreTest: flag().default(false),
  retries: count().default(3),
  retryBackoff: duration().default("1m"),
  /** When `auto` runs `maintain` (`src/core/maintenance_slot.ts`); absent: never. */
  maintenance: z.strictObject({
    every: positiveDuration().optional(),
    cron: text().optional(),
    timezone: timeZone().optional(),
  }).refine((m) => (m.every === undefined) !== (m.cron === undefined), {
    error: 'set "schedule.maintenance.every" or "schedule.maintenance.cron" (one of them)',
  }).optional(),
}).refine((s) => s.every === undefined || s.cron === undefined, {
  error: 'set "schedule.every" or "schedule.cron", not both',
  path: ["cron"],
});

/** `health`: thresholds of `status`. */
export const HealthSchema = z.strictObject({
  rpo: duration()
    .refine((text) => (parseDuration(text) ?? 0) > 0, {
      error: "expected a duration longer than 0",
    })
    .default("24h"),
  verifyMaxAge: duration().default("7d"),
  sizeAnomalyRatio: z.number({ error: "expected a number between 0 and 1" })
    .min(0, { error: "expected a number between 0 and 1" })
    .max(1, { error: "expected a number between 0 and 1" })
    .default(0.5),
  minFreeBytes: count().default(1024 * 1024 * 1024),
  criticalFailures: z.number({ error: "expected a whole number ≥ 1" })
    .int({ error: "expected a whole number ≥ 1" })
    .min(1, { error: "expected a whole number ≥ 1" })
    .default(3),
  /** The last `maintain` may be this old (never run: a warning too); absent: not checked. */
  maintenanceMaxAge: positiveDuration().optional(),
  /** Tables that must have a row newer than `maxAge` in `column` (`src/core/db_health.ts`). */
  freshness: z.array(
    z.strictObject({
      table: text(),
      column: text(),
      maxAge: positiveDuration(),
      level: z.enum(["warning", "critical"], { error: 'expected "warning" or "critical"' })
        .default("warning"),
    }),
    { error: "expected a list of {table, column, maxAge, level?}" },
  ).optional(),
  /** The database (SQLite: file and WAL) may be at most this many bytes (a warning past it). */
  maxDatabaseSize: count().optional(),
  /** User SQL checks: read-only queries returning one number, judged against the limits. */
  checks: z.array(
    z.strictObject({
      name: text(),
      sql: text(),
      warnAbove: z.number({ error: "expected a number" }).optional(),
      critAbove: z.number({ error: "expected a number" }).optional(),
    }),
    { error: "expected a list of {name, sql, warnAbove?, critAbove?}" },
  ).refine((checks) => new Set(checks.map((c) => c.name)).size === checks.length, {
    error: "check names must be unique",
  }).optional(),
  /** Each freshness query and SQL check is cancelled after this long. Default 10s. */
  checkTimeout: positiveDuration().optional(),
});

/** `pitr`: how `replicate` ships a SQLite database's WAL (`src/pitr/sqlite_replicator.ts`). */
export const PitrSchema = z.strictObject({
  /** `auto` and `serve` run the replicator beside their schedule (a SQLite database alone). */
  enabled: flag().default(false),
  /** How often committed frames are shipped: the recovery point's resolution. */
  interval: positiveDuration().default("1s"),
  /** Past this much shipped log, the replicator checkpoints the log itself. */
  checkpointBytes: count().default(4 * 1024 * 1024),
  /** A generation this old gets a fresh snapshot (a new generation). */
  snapshotEvery: positiveDuration().default("24h"),
  /** Generations whose span ended more than this many days ago are removed (the newest stays). */
  keepDays: count().default(7),
  /** `status`: unshipped commits older than this are a warning (a replicator stopped or behind). */
  maxLag: positiveDuration().default("1m"),
  /** PostgreSQL: `auto` and `serve` take a base backup this often (absent: never). */
  baseBackupEvery: positiveDuration().optional(),
  /** PostgreSQL: how long `create --type base` waits for the archive to hold its last WAL. */
  walWait: positiveDuration().default("60s"),
  /** PostgreSQL: the directory of pg_basebackup, pg_waldump and postgres (default: searched). */
  pgBin: text().optional(),
  /**
   * PostgreSQL: how the recovered server runs this tool (its `restore_command` calls
   * `<command> wal-fetch`). Default: this Deno and this script, by absolute path.
   */
  command: text().optional(),
});

/** `maintenance`: how `maintain` decides (`src/engines/maintenance.ts`). */
export const MaintenanceSchema = z.strictObject({
  /** SQLite: VACUUM only when it frees at least this many bytes... */
  vacuumMinBytes: count().default(64 * 1024 * 1024),
  /** ... and this share of the file. */
  vacuumMinRatio: z.number({ error: "expected a number between 0 and 1" })
    .min(0, { error: "expected a number between 0 and 1" })
    .max(1, { error: "expected a number between 0 and 1" })
    .default(0.1),
  /** `false`: never VACUUM (as --no-vacuum). */
  vacuum: flag().default(true),
  /** A step waits this long for another session's lock, then is skipped as busy. */
  busyTimeout: positiveDuration().default("5s"),
});

/** Events that notifications are sent on. */
export const NOTIFY_EVENTS = ["failure", "success", "health"] as const;

/** `notifications`: webhooks, email and healthchecks-style pings. */
export const NotificationsSchema = z.strictObject({
  on: z.array(
    z.enum(NOTIFY_EVENTS, { error: 'expected "failure", "success" or "health"' }),
    { error: 'expected a list of "failure", "success", "health"' },
  ).default(["failure"]),
  webhooks: z.array(
    z.strictObject({
      url: httpUrl(),
      format: z.enum(["json", "slack"], { error: 'expected "json" or "slack"' }).default("json"),
    }),
    { error: "expected a list of webhooks" },
  ).default([]),
  email: z.strictObject({
    host: text(),
    port: z.number({ error: "expected a port number 1-65535" }).int().min(1).max(65535, {
      error: "expected a port number 1-65535",
    }).default(587),
    secure: flag().default(false),
    starttls: flag().default(true),
    user: text().optional(),
    password: text().optional(),
    from: z.string({ error: "expected an email address" }).refine((t) => /\S@\S/.test(t), {
      error: 'expected an email address, optionally with a name: "Backups <backups@example.com>"',
    }),
    to: z.array(z.email({ error: "expected an email address" }), {
      error: "expected a list of email addresses",
    }).min(1, { error: "expected at least one address" }),
  }).optional(),
  healthchecks: z.strictObject({
    start: httpUrl().optional(),
    success: httpUrl().optional(),
    fail: httpUrl().optional(),
  }).optional(),
  /** Each HTTP request or SMTP conversation gives up after this long. */
  timeout: positiveDuration().default("10s"),
});

/** A store: a directory path, or `s3://BUCKET[/PREFIX]`. */
const storeUrl = () =>
  text().refine((t) => !/^s3:/i.test(t) || /^s3:\/\/[a-z0-9][a-z0-9.-]{2,62}(\/.*)?$/.test(t), {
    error:
      'expected a directory or "s3://BUCKET[/PREFIX]" (bucket names: 3-63 of a-z, 0-9, ".", "-")',
  });

/** `s3`: how S3-compatible stores are reached; credentials come from the AWS chain, never here. */
export const S3Schema = z.strictObject({
  endpoint: httpUrl().optional(),
  region: text().optional(),
  forcePathStyle: flag().optional(),
  storageClass: text().optional(),
  serverSideEncryption: z.enum(["AES256", "aws:kms"], { error: 'expected "AES256" or "aws:kms"' })
    .optional(),
  sseKmsKeyId: text().optional(),
});

/** `encryption`: age public keys new backups are encrypted for, and the key that reads them. */
export const EncryptionSchema = z.strictObject({
  recipients: z.array(text(), { error: "expected a list of age public keys (age1…)" }).default([]),
  identityFile: text().optional(),
});

/**
 * `signing`: the Ed25519 private key file that signs every new sidecar, and the public keys a
 * backup must be signed by to be restored, verified or copied (`src/core/signing.ts`).
 */
export const SigningSchema = z.strictObject({
  key: text().optional(),
  trusted: z.array(text(), {
    error: 'expected a list of Ed25519 public keys ("ed25519:…" or PEM, see keygen)',
  }).default([]),
});

/** One further destination every new backup is copied to, with its own retention. */
export const CopySchema = z.strictObject({
  url: storeUrl(),
  retention: RetentionSchema.optional(),
});

/** One API token: its name (for the audit log), its role, and the SHA-256 of the token. */
export const ApiTokenSchema = z.strictObject({
  name: z.string({ error: "expected a name" }).regex(/^[\w.@-]{1,64}$/, {
    error: "expected 1-64 letters, digits, or . _ @ -",
  }),
  sha256: z.string({ error: "expected the token's SHA-256 in hex (see the token command)" })
    .regex(/^[0-9a-f]{64}$/i, {
      error: "expected the token's SHA-256: 64 hex digits (see the token command)",
    }).transform((hex) => hex.toLowerCase()),
  role: z.enum(["admin", "viewer"], { error: 'expected "admin" or "viewer"' }),
});

/** `api`: where `serve` listens, who may call it, and its TLS certificate. */
export const ApiSchema = z.strictObject({
  listen: text().default("127.0.0.1:8000"),
  tokens: z.array(ApiTokenSchema, { error: "expected a list of {name, sha256, role}" })
    .default([])
    .refine((tokens) => new Set(tokens.map((t) => t.name)).size === tokens.length, {
      error: "token names must be unique",
    }),
  tls: z.strictObject({ cert: text(), key: text() }).optional(),
  insecureHttp: flag().default(false),
});

/**
 * One hook (`src/core/hooks.ts`): an argv run without a shell, or one string with `shell: true`
 * (a string without it is refused rather than split: no guessing at quoting).
 */
export const HookSchema = z.strictObject({
  command: z.union([
    z.array(text(), { error: 'expected a list: ["systemctl", "stop", "app"]' })
      .min(1, { error: "expected the program and its arguments" }),
    text(),
  ], {
    error: 'expected a list such as ["systemctl", "stop", "app"], or a string with "shell": true',
  }),
  shell: flag().default(false),
  name: text().optional(),
  on: z.array(z.enum(HOOK_OPERATIONS, { error: `expected one of ${HOOK_OPERATIONS.join(", ")}` }), {
    error: `expected a list of ${HOOK_OPERATIONS.join(", ")}`,
  }).min(1, { error: "expected at least one operation" }).optional(),
  timeout: positiveDuration().default("5m"),
  cwd: text().optional(),
  env: z.record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "expected a variable name" }),
    z.string({ error: "expected text" }),
    { error: 'expected {"NAME": "value"}' },
  ).optional(),
}).refine((hook) => typeof hook.command !== "string" || hook.shell, {
  error:
    'a command given as one string needs "shell": true (or give it as a list: ["systemctl", "stop", "app"])',
  path: ["command"],
}).refine((hook) => typeof hook.command === "string" || !hook.shell, {
  error: '"shell": true takes the command as one string, not a list',
  path: ["command"],
});

/** `hooks`: commands run before an operation, after its success, and after its failure. */
export const HooksSchema = z.strictObject({
  before: z.array(HookSchema, { error: "expected a list of hooks" }).default([]),
  after: z.array(HookSchema, { error: "expected a list of hooks" }).default([]),
  failure: z.array(HookSchema, { error: "expected a list of hooks" }).default([]),
});

/** The whole settings file; every section optional, unknown keys refused. */
export const ConfigSchema = z.strictObject({
  /**
   * One database (its backups in the store's root), or several, each its own series under
   * `<backupDir>/<series>/`: a glob of SQLite paths (`./data/*.db`) or a list of paths and URLs
   * (`src/core/series.ts`).
   */
  database: z.union([
    text(),
    z.array(text(), { error: "expected a list of SQLite paths and PostgreSQL URLs" })
      .min(1, { error: "expected at least one database" }),
  ], { error: "expected a SQLite path, a PostgreSQL URL, a glob, or a list of them" })
    .default("sqlite:./data/app.db"),
  /**
   * Retention of one series (a database of a glob or list, by its series name) instead of
   * `retention`; the other series keep `retention`.
   */
  retentionPerDatabase: z.record(
    z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, {
      error: "expected a series name (1-64 of letters, digits, . _ -)",
    }),
    RetentionSchema,
    { error: 'expected {"<series>": {retention rules}}' },
  ).default({}),
  /**
   * A whole PostgreSQL server in one backup, as `create --all-databases` takes it: `"all"` (every
   * connectable database but templates) or a list of the server's database names, with the
   * server's globals (roles, memberships, tablespaces, role settings). Absent: the database
   * `database` names alone (`src/core/server_backup.ts`).
   */
  databases: z.union([
    z.literal("all"),
    z.array(text(), { error: 'expected "all" or a list of database names' })
      .min(1, { error: "expected at least one database name" }),
  ], { error: 'expected "all" or a list of database names' }).optional(),
  /** Whether a server backup keeps the roles' password hashes (`--no-role-passwords`: false). */
  rolePasswords: flag().default(true),
  backupDir: storeUrl().default("./backups"),
  /**
   * Files kept beside the database in the same backup (a tar part): paths and `*`, `?`, `**`
   * patterns; relative ones start at the config file's directory (`src/core/files/`).
   */
  files: z.array(text(), { error: 'expected a list of paths or patterns, e.g. ["./uploads"]' })
    .default([]),
  copies: z.array(CopySchema, { error: "expected a list of {url, retention?}" }).default([]),
  s3: S3Schema.default({}),
  encryption: EncryptionSchema.default({ recipients: [] }),
  signing: SigningSchema.default({ trusted: [] }),
  /** How new backups are compressed: `gzip[:1-9]`, `zstd[:1-19]` or `none` (`parseCompression`). */
  compression: compression().default("gzip:6"),
  /** Threads (SQLite) or connections (PostgreSQL) a dump or load may use at once. */
  jobs: positive().default(defaultJobs),
  /**
   * A create, restore, copy or verify that moves no byte for this long is abandoned (the stall
   * watchdog, `src/core/watchdog.ts`); `off` or `0` disables it. Read it with `parseTimeout`.
   */
  stallTimeout: timeout().default("10m"),
  timezone: timeZone().default(systemTimeZone),
  retention: RetentionSchema.default({}),
  schedule: ScheduleSchema.default({
    type: "full",
    verify: true,
    restoreTest: false,
    retries: 3,
    retryBackoff: "1m",
  }),
  health: HealthSchema.default({
    rpo: "24h",
    verifyMaxAge: "7d",
    sizeAnomalyRatio: 0.5,
    minFreeBytes: 1024 * 1024 * 1024,
    criticalFailures: 3,
  }),
  maintenance: MaintenanceSchema.default({
    vacuumMinBytes: 64 * 1024 * 1024,
    vacuumMinRatio: 0.1,
    vacuum: true,
    busyTimeout: "5s",
  }),
  notifications: NotificationsSchema.default({ on: ["failure"], webhooks: [], timeout: "10s" }),
  api: ApiSchema.default({ listen: "127.0.0.1:8000", tokens: [], insecureHttp: false }),
  log: z.strictObject({
    format: z.enum(["human", "json"], { error: 'expected "human" or "json"' }).default("human"),
  }).default({ format: "human" }),
  hooks: HooksSchema.default({ before: [], after: [], failure: [] }),
  /** `pitr`: continuous replication of a SQLite database (`replicate`, `restore --at`). */
  pitr: PitrSchema.default({
    enabled: false,
    interval: "1s",
    checkpointBytes: 4 * 1024 * 1024,
    snapshotEvery: "24h",
    keepDays: 7,
    maxLag: "1m",
    walWait: "60s",
  }),
});

/** Validated settings, defaults filled in. Durations stay text: read them with `parseDuration`. */
export type Config = z.infer<typeof ConfigSchema>;
/** S3 settings as validated. */
export type S3Config = z.infer<typeof S3Schema>;
/** Retention rules as validated. */
export type RetentionConfig = z.infer<typeof RetentionSchema>;
