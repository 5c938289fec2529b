/**
 * The settings of backup-manager as one zod schema: the merge of defaults, the config file, the
 * environment and flags is validated here, so every command reads its settings the same way and
 * every mistake is reported the same way (see `load_config.ts`).
 */
import { z } from "npm:zod@4.6.7";
import { DURATION_HINT, parseDuration, parseTimeout, TIMEOUT_HINT } from "./duration.ts";
import { COMPRESSION_HINT, parseCompression } from "../core/compression.ts";
import { defaultJobs } from "../engines/engine.ts";

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

/** The whole settings file; every section optional, unknown keys refused. */
export const ConfigSchema = z.strictObject({
  database: text().default("sqlite:./data/app.db"),
  backupDir: storeUrl().default("./backups"),
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
  notifications: NotificationsSchema.default({ on: ["failure"], webhooks: [], timeout: "10s" }),
  api: ApiSchema.default({ listen: "127.0.0.1:8000", tokens: [], insecureHttp: false }),
  log: z.strictObject({
    format: z.enum(["human", "json"], { error: 'expected "human" or "json"' }).default("human"),
  }).default({ format: "human" }),
});

/** Validated settings, defaults filled in. Durations stay text: read them with `parseDuration`. */
export type Config = z.infer<typeof ConfigSchema>;
/** S3 settings as validated. */
export type S3Config = z.infer<typeof S3Schema>;
/** Retention rules as validated. */
export type RetentionConfig = z.infer<typeof RetentionSchema>;
