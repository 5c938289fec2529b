/**
 * A first-in, first-out byte queue between a producer that runs ahead (a connection copying a
 * table that is not written yet, a COPY block the restore has read but not loaded yet) and the
 * one consumer that takes the bytes later, in order. Bytes wait in memory while a shared budget
 * allows, then in an unlinked temporary file; memory stays flat whatever the size of the data.
 *
 * Once the consumer {@linkcode Spool.attach}es (the dump's writer has reached this table), the
 * producer no longer spills to disk: it waits instead while a few MiB are queued (plain
 * backpressure), since running ahead of a reader that is already reading buys nothing. A
 * consumer that never attaches (a restore's lane loading while the script is read on) reads
 * from memory and file as the producer fills them.
 */

/** Limits shared by the spools of one operation. */
export interface SpoolLimits {
  /** Bytes all unattached spools may hold in memory together. */
  memoryBytes: number;
  /** Bytes all spools may hold in temporary files together; producers wait beyond it. */
  diskBytes: number;
  /** Bytes an attached spool queues in memory before its producer waits. */
  attachedBytes: number;
}

/**
 * Default limits: 16 MiB in memory ahead, 512 MiB on disk (in `TMPDIR`, which may be memory
 * itself: a tmpfs), 4 MiB once attached.
 */
export const DEFAULT_SPOOL_LIMITS: SpoolLimits = {
  memoryBytes: 16 << 20,
  diskBytes: 512 << 20,
  attachedBytes: 4 << 20,
};

/** Bytes read back from a temporary file at a time. */
const READ_BYTES = 1 << 20;

/** The memory and disk that the spools of one operation share. */
export class SpoolBudget {
  readonly limits: SpoolLimits;
  /** Bytes in memory in unattached spools. */
  memory = 0;
  /** Bytes in temporary files, not yet read back. */
  disk = 0;
  readonly #waiters = new Set<() => void>();

  constructor(limits: Partial<SpoolLimits> = {}) {
    this.limits = { ...DEFAULT_SPOOL_LIMITS, ...limits };
  }

  /** Resolves at the next change of what is held. */
  changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.add(resolve));
  }

  /** Wakes everyone waiting for room. */
  wake(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }
}

type Segment = { memory: Uint8Array } | { fileBytes: number };

/** A temporary file that is already unlinked: it disappears when its handles close. */
interface TempFile {
  writer: Deno.FsFile;
  reader: Deno.FsFile;
}

/** One queue of bytes; see the module comment. */
export class Spool {
  readonly #budget: SpoolBudget;
  readonly #segments: Segment[] = [];
  /** Bytes queued in memory segments. */
  #memory = 0;
  #attached = false;
  #ended = false;
  #failure: unknown;
  #closed = false;
  #file: TempFile | undefined;
  /** What bytes from the file are read into, again and again (see `next`). */
  #readBuffer: Uint8Array | undefined;
  #wakeConsumer: (() => void) | undefined;
  #wakeProducer: (() => void) | undefined;
  /** Bytes pushed so far. */
  bytes = 0;

  constructor(budget: SpoolBudget) {
    this.#budget = budget;
  }

  /**
   * Queues `chunk` (the spool keeps it: the caller must not reuse it). Returns a promise when
   * the producer should wait before pushing more; rejects when the spool failed or was closed.
   */
  push(chunk: Uint8Array): Promise<void> | undefined {
    if (this.#closed || this.#failure !== undefined) {
      return Promise.reject(this.#failure ?? new Error("The spool was closed"));
    }
    this.bytes += chunk.length;
    const limits = this.#budget.limits;
    if (this.#attached) {
      this.#addMemory(chunk);
      return this.#memory > limits.attachedBytes ? this.#waitForRoom() : undefined;
    }
    if (this.#budget.memory + chunk.length <= limits.memoryBytes && !this.#fileIsTail()) {
      this.#budget.memory += chunk.length;
      this.#addMemory(chunk);
      return undefined;
    }
    return this.#spill(chunk);
  }

  /** The producer is done: the consumer gets `undefined` after the last byte. */
  end(): void {
    this.#ended = true;
    this.#wakeConsumer?.();
  }

  /** The producer failed: the consumer's next call throws `error`. */
  fail(error: unknown): void {
    this.#failure ??= error;
    this.#wakeConsumer?.();
    this.#wakeProducer?.();
  }

  /** The consumer has reached this spool: from now on the producer waits instead of spilling. */
  attach(): void {
    if (this.#attached) return;
    this.#attached = true;
    this.#budget.memory -= this.#memory;
    this.#budget.wake();
  }

  /**
   * The next bytes in order, or `undefined` at the end. Bytes read back from the file are valid
   * only until the next call (one buffer is reused: a fresh MiB per read was garbage that V8
   * frees late, and peak memory grew with the database); copy what you keep longer. A consumer
   * that reads while the producer runs ahead (the restore's loads) need not attach: what the
   * producer cannot hand over in memory then waits on disk.
   */
  async next(): Promise<Uint8Array | undefined> {
    for (;;) {
      if (this.#failure !== undefined) throw this.#failure;
      const head = this.#segments[0];
      if (head !== undefined) {
        if ("memory" in head) {
          this.#segments.shift();
          this.#memory -= head.memory.length;
          if (this.#attached) {
            if (this.#memory <= this.#budget.limits.attachedBytes) this.#wakeProducer?.();
          } else {
            this.#budget.memory -= head.memory.length;
            this.#budget.wake();
          }
          return head.memory;
        }
        return this.#readFile(head);
      }
      if (this.#ended) return undefined;
      await new Promise<void>((resolve) => this.#wakeConsumer = resolve);
      this.#wakeConsumer = undefined;
    }
  }

  /** Releases memory and the temporary file; a producer still pushing gets a rejection. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#wakeProducer?.();
    if (!this.#attached) this.#budget.memory -= this.#memory;
    for (const segment of this.#segments) {
      if ("fileBytes" in segment) this.#budget.disk -= segment.fileBytes;
    }
    this.#segments.length = 0;
    this.#memory = 0;
    this.#budget.wake();
    if (this.#file) {
      this.#file.writer.close();
      this.#file.reader.close();
      this.#file = undefined;
    }
    return Promise.resolve();
  }

  #addMemory(chunk: Uint8Array): void {
    this.#segments.push({ memory: chunk });
    this.#memory += chunk.length;
    this.#wakeConsumer?.();
  }

  /** Whether the newest bytes are in the file (later bytes must follow them there). */
  #fileIsTail(): boolean {
    const last = this.#segments.at(-1);
    return last !== undefined && "fileBytes" in last;
  }

  async #waitForRoom(): Promise<void> {
    while (
      this.#memory > this.#budget.limits.attachedBytes && !this.#closed &&
      this.#failure === undefined
    ) {
      await new Promise<void>((resolve) => this.#wakeProducer = resolve);
      this.#wakeProducer = undefined;
    }
    if (this.#closed || this.#failure !== undefined) {
      throw this.#failure ?? new Error("The spool was closed");
    }
  }

  async #spill(chunk: Uint8Array): Promise<void> {
    const budget = this.#budget;
    while (
      budget.disk > 0 && budget.disk + chunk.length > budget.limits.diskBytes &&
      !this.#attached && !this.#closed
    ) {
      await budget.changed();
    }
    if (this.#closed) throw this.#failure ?? new Error("The spool was closed");
    if (this.#attached) {
      // The consumer arrived while we waited: memory with backpressure from here on.
      this.#addMemory(chunk);
      if (this.#memory > budget.limits.attachedBytes) await this.#waitForRoom();
      return;
    }
    if (this.#file === undefined) {
      const file = await openTempFile();
      if (this.#closed) {
        file.writer.close();
        file.reader.close();
        throw this.#failure ?? new Error("The spool was closed");
      }
      this.#file = file;
    }
    const file = this.#file;
    budget.disk += chunk.length;
    try {
      writeAll(file.writer, chunk);
    } catch (error) {
      budget.disk -= chunk.length;
      throw error;
    }
    const last = this.#segments.at(-1);
    if (last !== undefined && "fileBytes" in last) last.fileBytes += chunk.length;
    else this.#segments.push({ fileBytes: chunk.length });
    this.#wakeConsumer?.();
  }

  #readFile(segment: { fileBytes: number }): Uint8Array {
    const size = Math.min(segment.fileBytes, READ_BYTES);
    this.#readBuffer ??= new Uint8Array(READ_BYTES);
    const buffer = this.#readBuffer.subarray(0, size);
    let filled = 0;
    while (filled < size) {
      const n = this.#file!.reader.readSync(buffer.subarray(filled));
      if (n === null) throw new Error("A spool file ended early");
      filled += n;
    }
    segment.fileBytes -= size;
    if (segment.fileBytes === 0 && this.#segments[0] === segment) this.#segments.shift();
    this.#budget.disk -= size;
    this.#budget.wake();
    return buffer;
  }
}

async function openTempFile(): Promise<TempFile> {
  const path = await Deno.makeTempFile({ prefix: "backup-manager-spool-" });
  try {
    const writer = await Deno.open(path, { write: true });
    const reader = await Deno.open(path, { read: true });
    return { writer, reader };
  } finally {
    await Deno.remove(path);
  }
}

/**
 * Spool files are written and read synchronously, on the calling thread: they live in the page
 * cache, where a quarter MiB takes a fraction of a millisecond, while the asynchronous `write`
 * took about 2 ms each on a busy machine (a round trip through the runtime's thread pool), and
 * the restore's reader spent most of its time waiting for its spill.
 */
function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += file.writeSync(bytes.subarray(offset));
}
