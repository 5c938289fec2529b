/**
 * What happens around a run (a scheduler cycle or a `create` from cron): the `start` ping when
 * it begins, the `success` or `fail` ping and the success or failure notification when it ends,
 * then a health check that announces a change of level. Front ends call these; every call is
 * bounded by the notifier's timeout and never throws, so reporting can never fail a backup.
 */
import type { Storage } from "../../storage/storage.ts";
import type { HealthAssessment } from "../health.ts";
import { messageOf } from "../errors.ts";
import type { EventListener, OpsEvent } from "../events.ts";
import { failureEvent, successEvent } from "./event.ts";
import { notifyHealthChange } from "./health_change.ts";
import type { Notifier } from "./notifier.ts";

/** Options of {@linkcode RunReporter}. */
export interface RunReporterOptions {
  /** The database as messages may show it (redacted). */
  database: string;
  /** Where the health state is kept (the backup store). */
  storage: Storage;
  clock: { now(): Date };
  /** Receives one line per reporting problem, secrets redacted. */
  log: (message: string) => void;
  /** The health verdict after a run; without it, runs announce no health change. */
  assess?: () => Promise<Pick<HealthAssessment, "level" | "reasons">>;
}

/** Reports one front end's runs; see the module comment. */
export class RunReporter {
  readonly #notifier: Notifier;
  readonly #options: RunReporterOptions;
  #queue: Promise<void> = Promise.resolve();

  constructor(notifier: Notifier, options: RunReporterOptions) {
    this.#notifier = notifier;
    this.#options = options;
  }

  /**
   * The scheduler's event listener: `run-start` pings start; `run-ok` reports success; a
   * `run-failed` with no retry left reports failure (one with a retry ahead stays quiet: the next
   * attempt pings start again). Listeners are synchronous, so the work is queued in event order
   * and runs while the scheduler goes on; {@linkcode settled} waits for it before exiting.
   */
  readonly listener: EventListener = (event) => {
    const work = this.#workFor(event);
    if (!work) return;
    this.#queue = this.#queue.then(work).catch((error) =>
      this.#options.log(`Cannot report the run: ${messageOf(error)}`)
    );
  };

  /** Resolves when everything the listener queued is done (each step bounded by the timeout). */
  settled(): Promise<void> {
    return this.#queue;
  }

  #workFor(event: OpsEvent): (() => Promise<void>) | undefined {
    switch (event.type) {
      case "run-start":
        return () => this.started();
      case "run-ok":
        return () => this.succeeded(event.backupId);
      case "run-failed":
        return event.retryAt ? undefined : () => this.failed(event.error);
      default:
        return undefined;
    }
  }

  /** A run begins: the `start` ping, so a monitor can time it and notice one that hangs. */
  async started(): Promise<void> {
    await this.#notifier.ping("start");
  }

  /** A run produced `backupId`. */
  async succeeded(backupId: string): Promise<void> {
    const { clock, database } = this.#options;
    await Promise.all([
      this.#notifier.ping("success", `backup ${backupId}`),
      this.#notifier.notify(successEvent(clock.now(), database, backupId)),
    ]);
    await this.checkHealth();
  }

  /** A run failed for good (after its retries) with the one-line `error`. */
  async failed(error: string): Promise<void> {
    const { clock, database } = this.#options;
    await Promise.all([
      this.#notifier.ping("fail", error),
      this.#notifier.notify(failureEvent(clock.now(), database, error)),
    ]);
    await this.checkHealth();
  }

  /** Announces a change of health level, if health notifications are on. */
  async checkHealth(): Promise<void> {
    const { assess, storage, clock, database, log } = this.#options;
    if (!assess || !this.#notifier.wants("health")) return;
    let assessment: Pick<HealthAssessment, "level" | "reasons">;
    try {
      assessment = await assess();
    } catch (error) {
      log(`Cannot check health after the run: ${messageOf(error)}`);
      return;
    }
    await notifyHealthChange(storage, this.#notifier, assessment, {
      database,
      time: clock.now(),
      log,
    });
  }
}
