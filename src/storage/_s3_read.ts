/** Longest wait for a download's headers, retries included. */
export const HEADERS_TIMEOUT_MS = 20_000;
/** Longest wait for the next chunk of a download while its consumer is waiting for it. */
export const CHUNK_TIMEOUT_MS = 30_000;

/** Thrown when a server stops sending; mapped to "cannot connect" like other network failures. */
export class IdleTimeoutError extends Error {
  override name = "TimeoutError";
}

/**
 * Runs `request` with an abort signal that fires after `ms`, cleared once it resolves: for
 * downloads, whose body must outlive the timer that guards their headers.
 */
export async function withDeadline<T>(
  ms: number,
  request: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new IdleTimeoutError("no answer")), ms);
  try {
    return await request(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The streams one after another, as one; later ones are opened when reached. A chunk that takes
 * longer than {@linkcode CHUNK_TIMEOUT_MS} fails the stream; time the consumer spends not reading
 * does not count. `wrap` turns a failure into the error the consumer sees.
 */
export function concatenate(
  sources: (ReadableStream<Uint8Array> | (() => Promise<ReadableStream<Uint8Array>>))[],
  wrap: (error: unknown) => Error,
): ReadableStream<Uint8Array> {
  let index = 0;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream({
    async pull(controller) {
      try {
        while (index < sources.length) {
          const source = sources[index];
          reader ??= (typeof source === "function" ? await source() : source).getReader();
          const { done, value } = await nextChunk(reader);
          if (!done) return controller.enqueue(value);
          reader = undefined;
          index++;
        }
        controller.close();
      } catch (error) {
        reader?.cancel().catch(() => {}); // not awaited: a dead socket may never confirm
        controller.error(wrap(error));
      }
    },
    async cancel(reason) {
      await reader?.cancel(reason);
    },
  });
}

async function nextChunk(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const idle = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new IdleTimeoutError(`no data for ${CHUNK_TIMEOUT_MS} ms`)),
      CHUNK_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([reader.read(), idle]);
  } finally {
    clearTimeout(timer);
  }
}
