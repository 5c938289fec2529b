/**
 * Environment variables that set settings: the names twelve-factor deployments (compose files,
 * systemd units, CI) already use. Each maps onto one place in the config schema.
 */

import { parseDatabaseText } from "../core/series.ts";

/** Which setting each environment variable sets (documented in the README, "Settings"). */
export const ENV_SETTINGS: Readonly<Record<string, string>> = {
  DATABASE_URL: "database",
  BACKUP_DIR: "backupDir",
  BACKUP_TZ: "timezone",
  BACKUP_RETENTION_DAYS: "retention.keepDays",
  BACKUP_MAX_BACKUPS: "retention.keepLast",
  BACKUP_INTERVAL: "schedule.every",
  BACKUP_CRON: "schedule.cron",
  BACKUP_RPO: "health.rpo",
  BACKUP_NOTIFY_ON: "notifications.on",
  BACKUP_WEBHOOK_URL: "notifications.webhooks",
  BACKUP_SLACK_WEBHOOK_URL: "notifications.webhooks",
  SMTP_HOST: "notifications.email.host",
  SMTP_PORT: "notifications.email.port",
  SMTP_USER: "notifications.email.user",
  SMTP_PASSWORD: "notifications.email.password",
  SMTP_FROM: "notifications.email.from",
  BACKUP_EMAIL_TO: "notifications.email.to",
  BACKUP_HEALTHCHECK_URL: "notifications.healthchecks",
  BACKUP_LOG_FORMAT: "log.format",
  BACKUP_API_LISTEN: "api.listen",
  BACKUP_AGE_RECIPIENTS: "encryption.recipients",
  BACKUP_AGE_IDENTITY_FILE: "encryption.identityFile",
  BACKUP_SIGNING_KEY: "signing.key",
  BACKUP_SIGNING_TRUSTED: "signing.trusted",
  BACKUP_COMPRESSION: "compression",
  BACKUP_JOBS: "jobs",
  BACKUP_STALL_TIMEOUT: "stallTimeout",
  AWS_ENDPOINT_URL: "s3.endpoint",
};

/** One setting taken from outside the file: its dotted path, value, and who set it. */
export interface SettingValue {
  path: string;
  value: unknown;
  /** Shown in messages: an environment variable or a flag name. */
  source: string;
}

/**
 * The settings the environment sets. Empty variables count as unset (a compose file's
 * `BACKUP_CRON=` means "not set"); values stay text and are typed by the loader.
 */
export function settingsFromEnv(env: Record<string, string | undefined>): SettingValue[] {
  const values: SettingValue[] = [];
  const webhooks: { url: string; format: string }[] = [];
  for (const [name, path] of Object.entries(ENV_SETTINGS)) {
    const raw = env[name]?.trim();
    if (!raw) continue;
    if (name === "BACKUP_WEBHOOK_URL") webhooks.push({ url: raw, format: "json" });
    else if (name === "BACKUP_SLACK_WEBHOOK_URL") webhooks.push({ url: raw, format: "slack" });
    // several databases: one per line, or separated by ";" (a list even of one: "app.db;")
    else if (name === "DATABASE_URL") {
      values.push({ path, value: parseDatabaseText(raw), source: name });
    } else if (name === "BACKUP_HEALTHCHECK_URL") {
      const base = raw.replace(/\/+$/, "");
      values.push({
        path,
        value: { start: `${base}/start`, success: base, fail: `${base}/fail` },
        source: name,
      });
    } else values.push({ path, value: raw, source: name });
  }
  if (webhooks.length > 0) {
    const source = [
      env.BACKUP_WEBHOOK_URL?.trim() ? "BACKUP_WEBHOOK_URL" : "",
      env.BACKUP_SLACK_WEBHOOK_URL?.trim() ? "BACKUP_SLACK_WEBHOOK_URL" : "",
    ].filter(Boolean).join(" / ");
    values.push({ path: "notifications.webhooks", value: webhooks, source });
  }
  return values;
}
