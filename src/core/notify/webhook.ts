/**
 * Webhooks: a generic JSON body for anything that takes JSON, and a Slack-compatible body
 * (`text` plus `blocks`) that Slack, Mattermost, Rocket.Chat and Discord's `/slack` endpoints
 * accept. Both carry the same event.
 */
import type { NotifyEvent } from "./event.ts";
import { postWithTimeout } from "./_http.ts";

/** One configured webhook. */
export interface WebhookTarget {
  /** The hook URL; it holds a secret, so it only ever appears redacted. */
  url: string;
  format: "json" | "slack";
}

/** The generic JSON body; field names are part of the documented contract (README). */
export function jsonBody(event: NotifyEvent, host: string): Record<string, unknown> {
  return {
    source: "backup-manager",
    event: event.kind,
    time: event.time.toISOString(),
    host,
    database: event.database,
    summary: event.summary,
    details: event.details,
    ...(event.backupId ? { backupId: event.backupId } : {}),
    ...(event.error ? { error: event.error } : {}),
    ...(event.health ? { health: event.health } : {}),
  };
}

/** A Slack incoming-webhook body: `text` for notifications and old clients, `blocks` to read. */
export function slackBody(
  event: NotifyEvent,
  host: string,
): { text: string; blocks: Record<string, unknown>[] } {
  const text = `${event.summary} on ${host}`;
  const details = event.details.map((d) => `• ${escapeSlack(d)}`).join("\n");
  return {
    text,
    blocks: [
      {
        type: "section",
        text: { type: "mrkdwn", text: `*${escapeSlack(text)}*${details ? `\n${details}` : ""}` },
      },
      {
        type: "context",
        elements: [{
          type: "mrkdwn",
          text: `backup-manager · ${event.kind} · ${event.time.toISOString()}`,
        }],
      },
    ],
  };
}

/** Slack's three control characters; everything else is literal. */
function escapeSlack(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** Posts `event` to one webhook; throws on a network error, a timeout or a non-2xx answer. */
export async function sendWebhook(
  target: WebhookTarget,
  event: NotifyEvent,
  options: { host: string; timeoutMs: number },
): Promise<void> {
  const body = target.format === "slack"
    ? slackBody(event, options.host)
    : jsonBody(event, options.host);
  await postWithTimeout(target.url, {
    body: JSON.stringify(body),
    contentType: "application/json",
    timeoutMs: options.timeoutMs,
  });
}
