/**
 * Time, injected: every service and the scheduler read "now" and wait through a clock, so tests
 * run a week of schedules in milliseconds and never assert wall times.
 */

/** Where "now" comes from. */
export interface Clock {
  now(): Date;
}

/** A clock that can also wait, for the scheduler. */
export interface SleepingClock extends Clock {
  /**
   * Resolves once `now()` has reached `at` (at once when it has), or early when `signal` aborts;
   * never rejects.
   */
  sleepUntil(at: Date, signal?: AbortSignal): Promise<void>;
}

/** Longest single wait: the wall clock is re-read at least this often (suspend, NTP steps). */
const MAX_NAP_MS = 60_000;

/** The system clock. */
export const systemClock: SleepingClock = {
  now: () => new Date(),
  async sleepUntil(at: Date, signal?: AbortSignal): Promise<void> {
    while (!signal?.aborted) {
      const left = at.getTime() - Date.now();
      if (left <= 0) return;
      await nap(Math.min(left, MAX_NAP_MS), signal);
    }
  },
};

function nap(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
