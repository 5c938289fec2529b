/**
 * Long work started by a front end that cannot wait for it (the HTTP API): each job has an id,
 * a phase and progress figures that change as it runs, and its result or error once it ends.
 * Finished jobs are kept for a while so a client that polls late still learns the outcome.
 */
import type { Clock } from "./clock.ts";
import { BackupManagerError, messageOf } from "./errors.ts";

/** What a job does. */
export type JobKind = "create" | "verify" | "restore" | "cleanup";

/** Where a job is. */
export type JobState = "running" | "succeeded" | "failed";

/** Progress figures; each operation fills in those it knows. */
export interface JobProgress {
  /** e.g. `dumping`, `copying`, `checking`, `restoring`, `deleting`. */
  phase: string;
  /** Bytes of SQL written (create) or read (restore). */
  bytes?: number;
  rows?: number;
  /** Tables started so far. */
  tables?: number;
  /** The table being written. */
  table?: string;
}

/** A job as clients see it. */
export interface JobView {
  id: string;
  kind: JobKind;
  state: JobState;
  /** The backup it works on, once known. */
  target: string | null;
  /** Who started it (the API token's name). */
  by: string | null;
  createdAt: string;
  finishedAt: string | null;
  progress: JobProgress;
  result: unknown;
  /** See {@linkcode JobRegistryOptions.describeError}. */
  error: { code: string; message: string } | null;
}

/** What a job's work may do while it runs. */
export interface JobHandle {
  readonly id: string;
  /** Merges figures into the progress (the phase stays unless given). */
  progress(update: Partial<JobProgress>): void;
  /** Names the backup the job works on. */
  setTarget(target: string): void;
}

/** Options of {@linkcode JobRegistry}. */
export interface JobRegistryOptions {
  clock: Clock;
  /** How long a finished job is kept. Default one hour. */
  keepMs?: number;
  /** At most this many finished jobs are kept (the newest). Default 100. */
  keepCount?: number;
  /**
   * How a failure shows in `error`. Default: the error's class name as `code` and its one-line
   * message. The API passes its own, so a job's error codes are its HTTP error codes.
   */
  describeError?: (error: unknown) => { code: string; message: string };
  /** Called when any job ends (the API drops reads computed before the change). */
  onFinished?: (job: JobView) => void;
}

/** Receives a job's view each time it changes; the last call has a final state. */
export type JobListener = (job: JobView) => void;

interface Entry {
  view: JobView;
  listeners: Set<JobListener>;
  done: Promise<JobView>;
  /** The error the work threw, for front ends that map it (e.g. to an HTTP status). */
  error?: unknown;
}

/** The jobs of one process. */
export class JobRegistry {
  readonly #clock: Clock;
  readonly #keepMs: number;
  readonly #keepCount: number;
  readonly #describeError: (error: unknown) => { code: string; message: string };
  readonly #onFinished?: (job: JobView) => void;
  readonly #jobs = new Map<string, Entry>();

  constructor(options: JobRegistryOptions) {
    this.#clock = options.clock;
    this.#keepMs = options.keepMs ?? 60 * 60 * 1000;
    this.#keepCount = options.keepCount ?? 100;
    this.#describeError = options.describeError ?? describeError;
    this.#onFinished = options.onFinished;
  }

  /**
   * Starts `work` now and returns its view at once. The work's result becomes the job's
   * `result` (through `present`, which must return plain JSON data); a throw fails the job with
   * the error's one-line message.
   */
  start<T>(
    kind: JobKind,
    meta: { by?: string; target?: string; phase?: string },
    work: (job: JobHandle) => Promise<T>,
    present: (result: T) => unknown = (result) => result,
  ): JobView {
    this.#prune();
    const id = `j_${this.#clock.now().getTime().toString(36)}_${crypto.randomUUID().slice(0, 8)}`;
    const view: JobView = {
      id,
      kind,
      state: "running",
      target: meta.target ?? null,
      by: meta.by ?? null,
      createdAt: this.#clock.now().toISOString(),
      finishedAt: null,
      progress: { phase: meta.phase ?? "starting" },
      result: null,
      error: null,
    };
    const entry: Entry = { view, listeners: new Set(), done: Promise.resolve(view) };
    const handle: JobHandle = {
      id,
      progress: (update) => {
        if (view.state !== "running") return;
        view.progress = { ...view.progress, ...update };
        this.#notify(entry);
      },
      setTarget: (target) => {
        view.target = target;
        this.#notify(entry);
      },
    };
    entry.done = (async () => {
      try {
        const result = await work(handle);
        view.result = present(result) ?? null;
        view.state = "succeeded";
      } catch (error) {
        entry.error = error;
        view.state = "failed";
        view.error = this.#describeError(error);
      }
      view.finishedAt = this.#clock.now().toISOString();
      this.#onFinished?.(view);
      this.#notify(entry);
      entry.listeners.clear();
      return view;
    })();
    this.#jobs.set(id, entry);
    return view;
  }

  /** A job by id, or `undefined` (unknown, or forgotten after {@linkcode JobRegistryOptions.keepMs}). */
  get(id: string): JobView | undefined {
    this.#prune();
    return this.#jobs.get(id)?.view;
  }

  /** Every kept job, newest first. */
  list(): JobView[] {
    this.#prune();
    return [...this.#jobs.values()].map((e) => e.view).reverse();
  }

  /** Jobs still running. */
  running(): JobView[] {
    return this.list().filter((j) => j.state === "running");
  }

  /** Resolves with the final view once the job ends (at once for a finished one). */
  async settled(id: string): Promise<{ view: JobView; error?: unknown }> {
    const entry = this.#jobs.get(id);
    if (!entry) throw new Error(`unknown job ${id}`);
    const view = await entry.done;
    return { view, error: entry.error };
  }

  /** Calls `listener` on every change of a running job; returns the unsubscribe function. */
  subscribe(id: string, listener: JobListener): () => void {
    const entry = this.#jobs.get(id);
    if (!entry || entry.view.state !== "running") return () => {};
    entry.listeners.add(listener);
    return () => entry.listeners.delete(listener);
  }

  /** Resolves once every running job has ended. */
  async idle(): Promise<void> {
    await Promise.all([...this.#jobs.values()].map((e) => e.done));
  }

  #notify(entry: Entry): void {
    for (const listener of entry.listeners) {
      try {
        listener(entry.view);
      } catch {
        // a listener (an HTTP stream whose client left) never fails the job
      }
    }
  }

  #prune(): void {
    const now = this.#clock.now().getTime();
    // oldest finish first: a long job that ends after newer ones is kept as the newest
    const finished = [...this.#jobs.values()].filter((e) => e.view.finishedAt !== null)
      .sort((a, b) => a.view.finishedAt!.localeCompare(b.view.finishedAt!));
    const excess = finished.length - this.#keepCount;
    finished.forEach((e, i) => {
      if (i < excess || now - new Date(e.view.finishedAt!).getTime() > this.#keepMs) {
        this.#jobs.delete(e.view.id);
      }
    });
  }
}

function describeError(error: unknown): { code: string; message: string } {
  return {
    code: error instanceof BackupManagerError ? error.name : "Error",
    message: messageOf(error).replace(/\s*\n\s*/g, " "),
  };
}
