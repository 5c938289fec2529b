/**
 * The stall watchdog: no run hangs for hours. A create, restore, copy or verify whose bytes stop
 * moving for `stallTimeout` (an inactivity timeout, not a total one) is abandoned: a lock held by
 * another session, a server that accepted the connection and never answers, a stuck worker.
 *
 * Progress ticks (chunks of bytes, rows, phase changes) reset it. When it fires it aborts its
 * `signal`, which the operation passes down to the engine (PostgreSQL cancels the running query)
 * and checks between chunks; the operation's normal failure path then cleans up, and
 * {@linkcode watched} turns whatever it threw into one {@linkcode StalledError} naming the phase.
 */
import { InterruptedError, StalledError } from "./errors.ts";
import type { Storage } from "../storage/storage.ts";

/** Monotonic time and timers, injected so tests drive the watchdog with a fake clock. */
export interface WatchdogTimers {
  /** Milliseconds on a monotonic clock (never steps back with NTP or a suspend). */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** `performance.now()` and the runtime's timers. */
export const systemTimers: WatchdogTimers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as number),
};

/** What a run is doing, for the stall line: `while <doing> (<what>): <check>`. */
export interface Phase {
  /** `dumping the database`, `writing to the store`… */
  doing: string;
  /** Which thing: `"postgres://app@db:5432/app"`, `backup "full_…"`. */
  what: string;
  /** What to look at, and what became of the work: `check for a lock …; nothing was kept`. */
  check: string;
}

/** Options of {@linkcode Watchdog}. */
export interface WatchdogOptions {
  /** Milliseconds without a tick before the run is abandoned; `0` disables the watchdog. */
  timeoutMs: number;
  /** The phase the run starts in. */
  phase: Phase;
  /** A signal of the caller's (SIGINT/SIGTERM): aborting it aborts {@linkcode Watchdog.signal}. */
  parent?: AbortSignal;
  /** Default {@linkcode systemTimers}. */
  timers?: WatchdogTimers;
}

/** Longest single timer: a `stallTimeout` of weeks is waited for in steps of this. */
const MAX_ARM_MS = 60 * 60_000;

/**
 * Fires when nothing ticked for `timeoutMs`. Ticks are cheap (one clock read): the timer is armed
 * once and, when it comes due, re-armed for what is left since the last tick.
 */
export class Watchdog {
  readonly #timeoutMs: number;
  readonly #timers: WatchdogTimers;
  readonly #controller = new AbortController();
  readonly #waits = new Map<number, Phase>();
  readonly #parent?: AbortSignal;
  readonly #onParentAbort = () => this.#controller.abort(this.#parent?.reason);
  #phase: Phase;
  #last: number;
  #timer: unknown;
  #nextWait = 0;
  #stalled: StalledError | undefined;
  #fired: () => void = () => {};
  /** Resolves when the watchdog fires (never, when it is disabled or stopped first). */
  readonly fired: Promise<void>;

  constructor(options: WatchdogOptions) {
    this.#timeoutMs = options.timeoutMs;
    this.#timers = options.timers ?? systemTimers;
    this.#phase = options.phase;
    this.#last = this.#timers.now();
    this.fired = new Promise((resolve) => this.#fired = resolve);
    this.#parent = options.parent;
    if (this.#parent?.aborted) this.#onParentAbort();
    else this.#parent?.addEventListener("abort", this.#onParentAbort, { once: true });
    if (this.#timeoutMs > 0) this.#arm(this.#timeoutMs);
  }

  /**
   * Aborted when the watchdog fires (reason: the {@linkcode StalledError}) or when the parent
   * signal aborts (its reason). Pass it to everything the run waits on.
   */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** The error the watchdog fired with, once it has. */
  get stalled(): StalledError | undefined {
    return this.#stalled;
  }

  /** Something moved (bytes, rows): the run is alive. */
  tick(): void {
    this.#last = this.#timers.now();
  }

  /** The run moved on to `phase` (which also counts as progress). */
  enter(phase: Phase): void {
    this.#phase = phase;
    this.tick();
  }

  /**
   * Waits for `promise` as part of `phase`: a stall while it is pending is reported as that
   * phase (the oldest such wait wins), e.g. a store write under a dump that is still running.
   * Settling counts as progress.
   */
  async wait<T>(phase: Phase, promise: Promise<T>): Promise<T> {
    const id = this.#nextWait++;
    this.#waits.set(id, phase);
    try {
      return await promise;
    } finally {
      this.#waits.delete(id);
      this.tick();
    }
  }

  /** Ends the watchdog: it never fires after this. Call it in `finally`. */
  stop(): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#parent?.removeEventListener("abort", this.#onParentAbort);
  }

  #arm(ms: number): void {
    // timers overflow past 2^31 ms (then fire at once): re-arm in steps instead
    this.#timer = this.#timers.setTimeout(() => this.#due(), Math.min(ms, MAX_ARM_MS));
  }

  #due(): void {
    this.#timer = undefined;
    const idle = this.#timers.now() - this.#last;
    if (idle < this.#timeoutMs) return this.#arm(this.#timeoutMs - idle);
    const phase = this.#waits.values().next().value ?? this.#phase;
    this.#stalled = stallError(this.#timeoutMs, phase);
    this.#parent?.removeEventListener("abort", this.#onParentAbort);
    this.#controller.abort(this.#stalled);
    this.#fired();
  }
}

/** `storage`, its requests abandoned when `dog` fires (where the store can: `withSignal`). */
export function watchedStorage(storage: Storage, dog: Watchdog): Storage {
  return storage.withSignal?.(dog.signal) ?? storage;
}

/** `Stalled: no progress for 10 min while <doing> (<what>): <check>`. */
export function stallError(timeoutMs: number, phase: Phase, cause?: unknown): StalledError {
  return new StalledError(
    `Stalled: no progress for ${
      formatStall(timeoutMs)
    } while ${phase.doing} (${phase.what}): ${phase.check}`,
    cause === undefined ? undefined : { cause },
  );
}

/** `2 s`, `90 s`, `10 min`, `1 h 30 min`: the timeout as the stall line says it. */
export function formatStall(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 120 && seconds % 60 !== 0) return `${Math.max(seconds, ms > 0 ? 1 : 0)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const rest = minutes % 60;
  return `${Math.floor(minutes / 60)} h${rest ? ` ${rest} min` : ""}`;
}

/** Options of {@linkcode watched}. */
export interface WatchedOptions extends WatchdogOptions {
  /**
   * How long the abandoned work may take to clean up (roll back, remove its partial file) once
   * the watchdog fired, before the stall is reported anyway. Default 30 s.
   */
  graceMs?: number;
  /**
   * The operation's error for a stop by the parent signal (SIGINT): what `fn` throws once the
   * parent aborted (a cancelled query's error, say) becomes this, with the original as `cause`.
   * Default: `fn`'s error as it is.
   */
  interrupted?: (cause: unknown) => Error;
}

/**
 * Runs `fn` under a {@linkcode Watchdog}. When the watchdog fires, `fn` (which must pass
 * `dog.signal` on) gets `graceMs` to fail and clean up; then the run fails with the
 * {@linkcode StalledError}, whatever `fn` threw (kept as its `cause`). Work that finished in the
 * grace period anyway keeps its result.
 */
export async function watched<T>(
  options: WatchedOptions,
  fn: (dog: Watchdog) => Promise<T>,
): Promise<T> {
  const dog = new Watchdog(options);
  try {
    const run = fn(dog);
    const first = await Promise.race([settle(run), dog.fired.then(() => undefined)]);
    if (first === undefined) {
      const timers = options.timers ?? systemTimers;
      let timer: unknown;
      const late = await Promise.race([
        settle(run),
        new Promise<undefined>((resolve) => {
          timer = timers.setTimeout(() => resolve(undefined), options.graceMs ?? 30_000);
        }),
      ]);
      if (timer !== undefined) timers.clearTimeout(timer);
      if (late?.ok) return late.value as T;
      const stalled = dog.stalled!;
      if (late && stalled.cause === undefined) {
        throw new StalledError(stalled.message, { cause: late.error });
      }
      throw stalled;
    }
    if (first.ok) return first.value as T;
    if (dog.stalled) throw new StalledError(dog.stalled.message, { cause: first.error });
    if (
      options.interrupted && options.parent?.aborted && !(first.error instanceof InterruptedError)
    ) {
      throw options.interrupted(first.error);
    }
    throw first.error;
  } finally {
    dog.stop();
  }
}

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

function settle(promise: Promise<unknown>): Promise<Settled> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error) => ({ ok: false as const, error }),
  );
}
