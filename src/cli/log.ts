/**
 * Log lines: one per event, `human` for people (`2026-11-23T10:15:00Z info  backup created …`) or
 * `json` for collectors (one object per line with the same facts). Both render the same event
 * stream the audit log and notifications see.
 */
import type { AuditEntry } from "../core/audit.ts";
import type { HookOutputEvent, OpsEvent } from "../core/events.ts";
import type { AccessLogEntry } from "../api/app.ts";
import { formatDuration } from "../config/duration.ts";
import { formatBytes, formatCount } from "./format.ts";

/** `human` or `json`. */
export type LogFormat = "human" | "json";

/** How much an event matters. */
export type LogLevel = "info" | "warn" | "error";

/** One event as one line (with its newline), or `undefined` for events the log leaves out. */
export function formatLogLine(event: OpsEvent, format: LogFormat): string | undefined {
  const line = describe(event);
  if (!line) return undefined;
  if (format === "json") {
    const { type, time, ...fields } = event;
    return JSON.stringify({
      time: time.toISOString(),
      level: line.level,
      event: type === "action" ? `${event.entry.action}` : type,
      message: line.message,
      ...(event.type === "action" ? event.entry : fields),
    }) + "\n";
  }
  const series = "series" in event && event.series ? `${event.series}: ` : "";
  return `${isoSeconds(event.time)} ${line.level.padEnd(5)} ${series}${line.message}\n`;
}

/** `2026-11-23T10:15:00Z`: seconds are enough for people. */
function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function describe(event: OpsEvent): { level: LogLevel; message: string } | undefined {
  switch (event.type) {
    case "scheduler-start":
      return {
        level: "info",
        message: event.next.length
          ? `scheduler started: ${event.schedule}; next runs ${
            event.next.map(isoSeconds).join(", ")
          }`
          : `scheduler started: ${event.schedule}`,
      };
    case "run-start":
      return {
        level: "info",
        message: event.attempt === 1
          ? "run started"
          : `run started (attempt ${event.attempt} of ${event.attempts})`,
      };
    case "run-ok":
      return {
        level: "info",
        message: `run finished: ${event.backupId} in ${seconds(event.durationMs)}` +
          (event.deleted ? `, ${event.deleted} old backup(s) deleted` : "") + next(event.next),
      };
    case "run-failed":
      return {
        level: "error",
        message: `run failed (attempt ${event.attempt} of ${event.attempts}): ${event.error}` +
          (event.retryAt
            ? `; retrying at ${isoSeconds(event.retryAt)}`
            : event.next
            ? `; no more retries, next run at ${isoSeconds(event.next)}`
            : ""),
      };
    case "run-skipped":
      return { level: "warn", message: `run skipped: ${event.reason}${next(event.next)}` };
    case "scheduler-stop":
      return { level: "info", message: `scheduler stopped: ${event.reason}` };
    case "warning":
      return { level: "warn", message: event.message };
    case "hook-output":
      return { level: "info", message: `${hookPrefix(event)} ${event.line}` };
    case "action":
      return describeAction(event.entry);
  }
}

function describeAction(entry: AuditEntry): { level: LogLevel; message: string } | undefined {
  if (entry.action === "run") return undefined; // run-ok / run-failed say it, with more
  if (entry.outcome === "failed") {
    return { level: "error", message: `${entry.action} ${entry.target} failed: ${entry.error}` };
  }
  const d = entry.details ?? {};
  switch (entry.action) {
    case "create":
      return {
        level: "info",
        message: `backup created ${entry.target} (${d.tables} tables, ${
          formatCount(Number(d.rows))
        } rows, ${formatBytes(Number(d.bytes))})`,
      };
    case "verify":
      return {
        level: "info",
        message: `backup verified ${entry.target}${d.restoreTest ? " (with a restore test)" : ""}`,
      };
    case "delete":
      return {
        level: "info",
        message: `backup deleted ${entry.target}` +
          (Array.isArray(d.reasons) && d.reasons.length ? ` (${d.reasons.join("; ")})` : ""),
      };
    case "restore":
      return { level: "info", message: `backup ${entry.target} restored into ${d.to}` };
    case "sweep":
      return { level: "info", message: describeSweep(entry) };
    case "hook":
      return {
        level: "info",
        message: `hook ${d.stage} "${entry.target}" of ${d.operation} done in ${
          seconds(Number(d.durationMs ?? 0))
        }`,
      };
    case "maintain":
      return {
        level: "info",
        message: `database maintained ${entry.target} in ${seconds(Number(d.durationMs ?? 0))} ` +
          `(integrity ${d.integrity}, ${formatBytes(Number(d.bytesFreed ?? 0))} freed)`,
      };
    case "base-backup":
      return {
        level: "info",
        message: `base backup created ${entry.target} (${formatBytes(Number(d.bytes ?? 0))}, ` +
          `WAL from ${d.startWal})`,
      };
    default:
      return { level: "info", message: `backup ${entry.action}ned ${entry.target}` };
  }
}

/**
 * A removed leftover of an interrupted run in words (the CLI prints it on stderr, the log as a
 * line): `removed leftover ".app.db.bm-restore…" of an interrupted run (restore, 62.0 MB: …)`.
 */
export function describeSweep(entry: AuditEntry): string {
  const d = entry.details ?? {};
  return `removed leftover "${entry.target}" of an interrupted run (${d.kind}, ${
    formatBytes(Number(d.size ?? 0))
  }: ${d.reason})`;
}

/** `[hook before systemctl]`: what a hook's output line is prefixed with, on stderr and in the log. */
export function hookPrefix(event: HookOutputEvent): string {
  return `[hook ${event.stage} ${event.hook}]`;
}

function seconds(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : formatDuration(Math.round(ms / 1000) * 1000);
}

function next(at: Date | undefined): string {
  return at ? `; next run at ${isoSeconds(at)}` : "";
}

/** One answered API request as a log line (no token, no query string, no body). */
export function formatAccessLine(entry: AccessLogEntry, format: LogFormat): string {
  const level: LogLevel = entry.status >= 500 ? "error" : entry.status >= 400 ? "warn" : "info";
  if (format === "json") {
    return JSON.stringify({
      ...entry,
      time: entry.time.toISOString(),
      level,
      event: "request",
    }) + "\n";
  }
  return `${isoSeconds(entry.time)} ${
    level.padEnd(5)
  } ${entry.method} ${entry.path} ${entry.status} ${entry.durationMs} ms from ${entry.address}${
    entry.token ? ` (token "${entry.token}")` : ""
  }\n`;
}
