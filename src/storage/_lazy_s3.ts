/**
 * An S3 store whose SDK is loaded on first use. The AWS SDK costs every start of the CLI 60-100 ms
 * (more than the rest of the program), and most runs of most commands never reach a bucket; the
 * location is still checked at once, so a bad URL fails before any work.
 */
import type { AtomicWriter, CreateOptions, Storage, StorageEntry } from "./storage.ts";
import type { S3Options, S3Storage } from "./s3.ts";
import { checkS3Location } from "./_s3_url.ts";

/** {@linkcode S3Storage} behind a dynamic import. */
export class LazyS3Storage implements Storage {
  readonly location: string;
  #loading?: Promise<S3Storage>;
  #loaded?: S3Storage;
  readonly #load?: () => Promise<S3Storage>;

  /** `load`: how {@linkcode withSignal}'s copy gets its store; default a new one on first use. */
  constructor(readonly url: string, readonly options: S3Options, load?: () => Promise<S3Storage>) {
    const { bucket, prefix } = checkS3Location(url, options.serverSideEncryption);
    this.location = `s3://${bucket}${prefix ? `/${prefix}` : ""}`;
    this.#load = load;
  }

  #store(): Promise<S3Storage> {
    return this.#loading ??= (this.#load?.() ??
      import("./s3.ts").then(({ S3Storage }) => new S3Storage(this.url, this.options)))
      .then((store) => this.#loaded = store);
  }

  /** This store, its requests abandoned when `signal` aborts (`S3Storage.withSignal`). */
  withSignal(signal: AbortSignal): Storage {
    return new LazyS3Storage(
      this.url,
      this.options,
      async () => (await this.#store()).withSignal(signal),
    );
  }

  async create(key: string, options?: CreateOptions): Promise<AtomicWriter> {
    return (await this.#store()).create(key, options);
  }
  async read(key: string): Promise<ReadableStream<Uint8Array>> {
    return (await this.#store()).read(key);
  }
  async stat(key: string): Promise<StorageEntry> {
    return (await this.#store()).stat(key);
  }
  async list(): Promise<StorageEntry[]> {
    return (await this.#store()).list();
  }
  async listIncomplete(): Promise<StorageEntry[]> {
    return (await this.#store()).listIncomplete();
  }
  async append(key: string, bytes: Uint8Array): Promise<void> {
    return (await this.#store()).append(key, bytes);
  }
  async remove(key: string): Promise<void> {
    return (await this.#store()).remove(key);
  }
  async freeBytes(): Promise<number | undefined> {
    return (await this.#store()).freeBytes();
  }
  async subStores(): Promise<string[]> {
    return (await this.#store()).subStores();
  }
  /** Closes the client's idle connections, when it was ever made. */
  close(): void {
    this.#loaded?.close();
  }
}
