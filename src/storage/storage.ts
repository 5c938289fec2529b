import { StorageError } from "../core/errors.ts";

/**
 * The seam between backups and the bytes that hold them. Storages are dumb byte stores: they know
 * keys and bytes, never backups. Logic that works across storages is written once in `src/core`.
 *
 * Contract every implementation keeps (checked by one conformance suite, `tests/storage`):
 * - `create(key)` returns a writer; nothing is visible under `key` until `commit()` returns, and
 *   a writer that is aborted, or a process that dies before commit, leaves at most an incomplete
 *   object that `list()` never shows and `listIncomplete()` does.
 * - `read(key)` and `stat(key)` of a missing key throw `StorageNotFoundError`.
 * - `remove(key)` is idempotent: removing a missing key succeeds.
 * - `append(key, bytes)` adds to the end of `key` and is visible at once; `list()` shows the key.
 * - Keys are flat names without `/`.
 */
export interface Storage {
  /** Human-readable location for messages, e.g. the directory path. */
  readonly location: string;
  /** Starts an atomic write of `key`; see the contract above. */
  create(key: string, options?: CreateOptions): Promise<AtomicWriter>;
  /** Streams the bytes of `key`. */
  read(key: string): Promise<ReadableStream<Uint8Array>>;
  /** Size and modification time of `key`. */
  stat(key: string): Promise<StorageEntry>;
  /** Complete objects, in no particular order. */
  list(): Promise<StorageEntry[]>;
  /** Objects left by writes that never committed (crashed or aborted runs). */
  listIncomplete(): Promise<StorageEntry[]>;
  /**
   * Appends `bytes` to `key`, creating it (readable by its owner only) when missing: for small
   * records such as the audit log, which must survive a crash of the writer. One call's bytes land
   * together, never interleaved with another writer's. An object store has no append; it would
   * keep one object per record under a prefix (`audit/<time>-<random>.json`), listed in order.
   */
  append(key: string, bytes: Uint8Array): Promise<void>;
  /** Deletes `key`, complete or incomplete; succeeds when it is already gone. */
  remove(key: string): Promise<void>;
  /** Free bytes where new backups go, or `undefined` where the store cannot tell. */
  freeBytes(): Promise<number | undefined>;
  /**
   * Names of the sub-stores directly under this one (the series of several databases live in
   * `<store>/<series>/`, see `subStoreUrl`), in no particular order; none when the store is
   * missing. Hidden names (a leading dot: the store's own bookkeeping) are left out. Absent where
   * a store cannot have sub-stores.
   */
  subStores?(): Promise<string[]>;
  /**
   * This store with `signal` on every request it starts while the signal has not aborted: how the
   * stall watchdog gives up a request a hung server never answers. Requests started after the
   * abort (a failed run's cleanup) go without it. Absent where requests cannot be abandoned.
   */
  withSignal?(signal: AbortSignal): Storage;
}

/** Options of {@linkcode Storage.create}. */
export interface CreateOptions {
  /** Replace an existing object of the same key on commit. Default `false`: commit fails. */
  overwrite?: boolean;
}

/** One write in progress. Exactly one of `commit` or `abort` ends it. */
export interface AtomicWriter {
  /** Appends bytes; resolves when the store has taken them (backpressure). */
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the object visible under its key, durably. */
  commit(): Promise<void>;
  /** Discards everything written; safe to call after a failed write or commit. */
  abort(): Promise<void>;
}

/** What a store knows about one object. */
export interface StorageEntry {
  key: string;
  size: number;
  modifiedAt: Date;
}

/** Thrown by `read` and `stat` for a key that does not exist. */
export class StorageNotFoundError extends StorageError {
  constructor(readonly key: string, location: string) {
    super(`Cannot find "${key}" in "${location}"`);
  }
}
