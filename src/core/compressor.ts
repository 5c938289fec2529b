import { BackupManagerError } from "./errors.ts";

/**
 * Bytes handed to the worker but not yet compressed and written, before `write` waits. 4 MiB keeps
 * the worker busy (16 chunks of 256 KiB); 16 MiB let a slow disk or a busy core push the dump's
 * peak RSS up by about 50 MiB on a 300 MB database, more the longer the run, so the peak grew
 * with the database.
 */
const MAX_IN_FLIGHT = 4 << 20;

/**
 * Gzip on a worker thread with backpressure. Output chunks reach `onOutput` in order, one at a
 * time; `write` waits while too much is in flight, so memory stays flat whatever the input size.
 */
export class GzipCompressor {
  readonly #worker: Worker;
  readonly #onOutput: (chunk: Uint8Array) => Promise<void>;
  #inFlight = 0;
  #writes: Promise<void> = Promise.resolve();
  #waiters: (() => void)[] = [];
  #failure: Error | undefined;
  #done: PromiseWithResolvers<void> = Promise.withResolvers<void>();

  constructor(level: number, onOutput: (chunk: Uint8Array) => Promise<void>) {
    this.#onOutput = onOutput;
    this.#worker = new Worker(new URL("./_gzip_worker.ts", import.meta.url), { type: "module" });
    this.#worker.onmessage = (event) => this.#receive(event.data);
    this.#worker.onerror = (event) => {
      event.preventDefault();
      this.#fail(new BackupManagerError(`Cannot compress the backup: ${event.message}`));
    };
    this.#worker.postMessage({ level });
  }

  /** Compresses `chunk`; `chunk` is transferred and must not be used afterwards. */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.#failure) throw this.#failure;
    while (this.#inFlight > MAX_IN_FLIGHT && !this.#failure) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    if (this.#failure) throw this.#failure;
    this.#inFlight += chunk.length;
    const owned = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength
      ? chunk
      : chunk.slice();
    this.#worker.postMessage({ chunk: owned }, [owned.buffer as ArrayBuffer]);
  }

  /** Flushes the stream; resolves when the last output chunk has been handled. */
  async end(): Promise<void> {
    if (!this.#failure) this.#worker.postMessage({ end: true });
    try {
      await this.#done.promise;
      await this.#writes;
      if (this.#failure) throw this.#failure;
    } finally {
      this.#worker.terminate();
    }
  }

  /** Stops the worker without finishing the stream (after a failed dump). */
  abort(): void {
    this.#worker.terminate();
  }

  #receive(message: { ack?: number; output?: Uint8Array; done?: boolean; error?: string }): void {
    if (message.error) {
      return this.#fail(new BackupManagerError(`Cannot compress: ${message.error}`));
    }
    if (message.output) {
      const output = message.output;
      this.#inFlight += output.length;
      this.#writes = this.#writes.then(() => this.#onOutput(output)).then(
        () => this.#release(output.length),
        (error) => this.#fail(error),
      );
    }
    if (message.ack) this.#release(message.ack);
    if (message.done) this.#writes.then(() => this.#done.resolve());
  }

  #release(bytes: number): void {
    this.#inFlight -= bytes;
    if (this.#inFlight <= MAX_IN_FLIGHT) { for (const wake of this.#waiters.splice(0)) wake(); }
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const wake of this.#waiters.splice(0)) wake();
    this.#done.resolve();
  }
}
