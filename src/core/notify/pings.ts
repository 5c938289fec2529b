/**
 * Healthchecks-style pings for dead-man's-switch monitoring: a `start` ping when a run begins and
 * a `success` or `fail` ping when it ends, so the monitor alerts both on failures and on runs
 * that stop happening (or hang) — which no notification from the tool itself can report.
 */
import { postWithTimeout } from "./_http.ts";

/** Where to ping (the `notifications.healthchecks` section); any may be left out. */
export interface PingUrls {
  start?: string;
  success?: string;
  fail?: string;
}

/** The moment of a run a ping reports. */
export type PingStage = keyof PingUrls;

/**
 * The three URLs of a healthchecks.io-style check from its base URL (`BACKUP_HEALTHCHECK_URL`):
 * the base itself for success, `/start` and `/fail` appended for the others.
 */
export function pingUrlsFromBase(base: string): PingUrls {
  const trimmed = base.replace(/\/+$/, "");
  return { start: `${trimmed}/start`, success: trimmed, fail: `${trimmed}/fail` };
}

/**
 * POSTs to `url` with `message` as the body (healthchecks.io shows it in the check's log; an
 * error message on `fail`). Throws on failure, timeout or a non-2xx answer.
 */
export async function sendPing(url: string, message: string, timeoutMs: number): Promise<void> {
  await postWithTimeout(url, {
    body: message,
    contentType: "text/plain; charset=utf-8",
    timeoutMs,
  });
}
