/**
 * The main-thread side of `_restore_worker.ts`: feeds it the compressed backup in the background
 * and hands out the script's events one at a time, with bounded memory (at most a few MiB of
 * compressed input in flight and of events waiting).
 */
import { DatabaseError, IntegrityError } from "../../core/errors.ts";
import type { Compression } from "../engine.ts";
import type { ScriptEvent } from "./_script_reader.ts";
import type { ReadLimits } from "../read_limits.ts";

/** Compressed bytes handed to the worker and not yet processed. */
const MAX_IN_FLIGHT = 2 << 20;
/** Bytes of events received and not yet taken. */
const MAX_QUEUED = 16 << 20;

/** How the script ended, known once {@linkcode ScriptSource.next} returned `undefined`. */
export interface ScriptEnd {
  statements: number;
  /** Text after the last complete statement; non-empty means the script was cut short. */
  rest: string;
  inCopy: boolean;
  /** Whether the closing comment was seen. */
  complete: boolean;
}

/** Options of {@linkcode ScriptSource}. */
export interface ScriptSourceOptions {
  noOwner?: boolean;
  noPrivileges?: boolean;
  /**
   * After the first COPY block, one `statement` event per statement instead of batches (the
   * parallel load runs index and key statements side by side). Default `false`.
   */
  splitAfterData?: boolean;
  /** How the input is compressed (`RestoreOptions.compression`); absent: its first bytes tell. */
  compression?: Compression;
  /** Compressed bytes read so far. */
  onProgress?: (bytes: number) => void;
  /** Bounds of the SQL and of one statement (`readLimits`). Default: none. */
  limits?: ReadLimits;
}

/** Events of a compressed script (gzip, zstd or none), decoded on a worker thread. */
export class ScriptSource {
  readonly #worker = new Worker(new URL("./_restore_worker.ts", import.meta.url), {
    type: "module",
  });
  readonly #queue: ScriptEvent[] = [];
  #queued = 0;
  #inFlight = 0;
  #read = 0;
  #failure: Error | undefined;
  #end: ScriptEnd | undefined;
  #wakeReader: (() => void) | undefined;
  #wakePump: (() => void) | undefined;

  constructor(input: AsyncIterable<Uint8Array>, options: ScriptSourceOptions = {}) {
    this.#worker.onmessage = (event) => this.#receive(event.data);
    this.#worker.onerror = (event) => {
      event.preventDefault();
      this.#fail(new DatabaseError(`Cannot restore: the reader failed: ${event.message}`));
    };
    this.#worker.postMessage({
      options: {
        noOwner: options.noOwner,
        noPrivileges: options.noPrivileges,
        splitAfterData: options.splitAfterData,
        compression: options.compression,
        limits: options.limits,
      },
    });
    this.#pump(input, options.onProgress).catch((error) => this.#fail(error));
  }

  /** Compressed bytes read so far. */
  get bytesRead(): number {
    return this.#read;
  }

  /** How the script ended; set after `next()` returned `undefined`. */
  get end(): ScriptEnd | undefined {
    return this.#end;
  }

  /** The next event, or `undefined` at the end of the script. */
  async next(): Promise<ScriptEvent | undefined> {
    for (;;) {
      if (this.#failure) throw this.#failure;
      const event = this.#queue.shift();
      if (event !== undefined) {
        this.#queued -= sizeOf(event);
        this.#wakePump?.();
        return event;
      }
      if (this.#end) return undefined;
      await new Promise<void>((resolve) => this.#wakeReader = resolve);
      this.#wakeReader = undefined;
    }
  }

  /** Stops the worker. */
  close(): void {
    this.#failure ??= new DatabaseError("Cannot restore: the reader was closed");
    this.#wakePump?.();
    this.#worker.terminate();
  }

  async #pump(input: AsyncIterable<Uint8Array>, onProgress?: (bytes: number) => void) {
    for await (const chunk of input) {
      while (
        !this.#failure && (this.#inFlight > MAX_IN_FLIGHT || this.#queued > MAX_QUEUED)
      ) {
        await new Promise<void>((resolve) => this.#wakePump = resolve);
        this.#wakePump = undefined;
      }
      if (this.#failure) return;
      const owned = new Uint8Array(chunk); // a copy: the caller's buffer stays usable
      this.#inFlight += owned.length;
      this.#read += owned.length;
      this.#worker.postMessage({ chunk: owned }, [owned.buffer]);
      onProgress?.(this.#read);
    }
    this.#worker.postMessage({ end: true });
  }

  #receive(
    message: {
      events?: ScriptEvent[];
      ack?: number;
      error?: string;
      done?: boolean;
    } & Partial<ScriptEnd>,
  ): void {
    if (message.events) {
      for (const event of message.events) {
        this.#queue.push(event);
        this.#queued += sizeOf(event);
      }
    }
    if (message.ack) {
      this.#inFlight -= message.ack;
      this.#wakePump?.();
    }
    if (message.error) this.#fail(new IntegrityError(`Cannot restore: ${message.error}`));
    if (message.done) {
      this.#end = {
        statements: message.statements ?? 0,
        rest: message.rest ?? "",
        inCopy: message.inCopy ?? false,
        complete: message.complete ?? false,
      };
    }
    this.#wakeReader?.();
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    this.#wakeReader?.();
    this.#wakePump?.();
  }
}

function sizeOf(event: ScriptEvent): number {
  return event.type === "statement"
    ? event.sql.length
    : event.type === "data"
    ? event.bytes.length
    : 64;
}
