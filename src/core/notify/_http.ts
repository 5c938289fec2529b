/** One HTTP POST with a hard deadline, shared by webhooks and pings. */

/** Options of {@linkcode postWithTimeout}. */
export interface PostOptions {
  body: string;
  contentType: string;
  /** The whole request, answer included, gives up after this long. */
  timeoutMs: number;
}

/**
 * POSTs and throws a one-line error on a network failure, a timeout or a non-2xx status. The
 * response body is discarded so no connection is left open.
 */
export async function postWithTimeout(url: string, options: PostOptions): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": options.contentType, "user-agent": "backup-manager" },
      body: options.body,
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === "TimeoutError") {
      throw new Error(`no answer within ${options.timeoutMs / 1000} s`);
    }
    throw error;
  }
  await response.body?.cancel();
  if (!response.ok) {
    throw new Error(
      `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`,
    );
  }
}
