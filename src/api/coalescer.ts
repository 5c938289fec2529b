/**
 * Requests that read the same thing at the same time share one computation: fifty dashboards and
 * a scraper asking for the status at once list the store once, not fifty times, so they cannot
 * starve a backup of CPU. A change made through the API drops what is in flight, so a request
 * that starts after a change never gets an answer computed before it.
 */
export class Coalescer {
  readonly #inFlight = new Map<string, Promise<unknown>>();

  /** `fn()`, or the promise of the same `key` already running. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const running = this.#inFlight.get(key);
    if (running) return running as Promise<T>;
    const started: Promise<T> = fn().finally(() => {
      if (this.#inFlight.get(key) === started) this.#inFlight.delete(key);
    });
    this.#inFlight.set(key, started);
    return started;
  }

  /** Forgets everything in flight: the next request computes afresh. */
  invalidate(): void {
    this.#inFlight.clear();
  }
}
