/**
 * SIGINT/SIGTERM, counted into what the running command should do. A one-shot command abandons
 * its work cleanly at the first signal; the scheduler first finishes its cycle (`stop`), then
 * abandons it (`abort`). One more signal forces the exit, whatever is still running.
 */
export class Interrupts {
  readonly #stop = new AbortController();
  readonly #abort = new AbortController();
  #received = 0;
  #graceful = false;

  /** Aborted at the first signal: finish the work in progress, start nothing new. */
  get stop(): AbortSignal {
    return this.#stop.signal;
  }

  /** Aborted when the work in progress must be abandoned (cleanly: no partial file, no lock). */
  get abort(): AbortSignal {
    return this.#abort.signal;
  }

  /** Whether the first signal only stops (`auto`), rather than aborting. */
  get graceful(): boolean {
    return this.#graceful;
  }

  /** Lets the first signal only stop; the second aborts. For `auto`. */
  allowGracefulStop(): void {
    this.#graceful = true;
  }

  /** Records one signal; `"exit"` means the process must end now. */
  receive(): "stop" | "abort" | "exit" {
    this.#received++;
    const abortAt = this.#graceful ? 2 : 1;
    if (this.#received > abortAt) return "exit";
    this.#stop.abort();
    if (this.#received < abortAt) return "stop";
    this.#abort.abort();
    return "abort";
  }
}
