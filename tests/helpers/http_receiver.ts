/**
 * A real HTTP server on 127.0.0.1 for webhook and ping tests (`Deno.serve` on port 0): it records
 * every request and answers as the test says — 200, an error status, or never (until the client
 * gives up), so timeouts are tested against a real socket.
 */

/** One request the receiver got. */
export interface ReceivedRequest {
  method: string;
  path: string;
  contentType: string | null;
  body: string;
}

/** How the receiver answers: a status code, or `"hang"` to never answer. */
export type Answer = number | "hang";

/** A running receiver; `close()` it in `finally`. */
export interface HttpReceiver {
  /** `http://127.0.0.1:<port>` */
  url: string;
  requests: ReceivedRequest[];
  /** Changes the answer to later requests. */
  answer(answer: Answer): void;
  close(): Promise<void>;
}

/** Starts a receiver that answers `answer` (default 200). */
export function startReceiver(answer: Answer = 200): HttpReceiver {
  let current = answer;
  const requests: ReceivedRequest[] = [];
  const release = Promise.withResolvers<void>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const url = new URL(request.url);
      requests.push({
        method: request.method,
        path: url.pathname + url.search,
        contentType: request.headers.get("content-type"),
        body: await request.text(),
      });
      if (current === "hang") {
        // until the client disconnects, or the test closes the receiver
        await Promise.race([
          release.promise,
          new Promise((resolve) => request.signal.addEventListener("abort", resolve)),
        ]);
        return new Response("late");
      }
      return new Response(current === 200 ? "ok" : "error", { status: current });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    answer: (next) => current = next,
    close: async () => {
      release.resolve();
      await server.shutdown();
    },
  };
}

/** Runs `fn` with a receiver answering `answer` and closes it afterwards, whatever happens. */
export async function withReceiver<T>(
  answer: Answer,
  fn: (receiver: HttpReceiver) => Promise<T>,
): Promise<T> {
  const receiver = startReceiver(answer);
  try {
    return await fn(receiver);
  } finally {
    await receiver.close();
  }
}
