import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  ListPartsCommand,
  type MultipartUpload,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
  type ServerSideEncryption,
  type StorageClass,
} from "npm:@aws-sdk/client-s3@3.1169.0";
import { StorageError } from "../core/errors.ts";
import {
  type AtomicWriter,
  type CreateOptions,
  type Storage,
  type StorageEntry,
  StorageNotFoundError,
} from "./storage.ts";
import { isNoSuchUpload, isNotFound, s3Error, type S3Place } from "./_s3_errors.ts";
import { S3Writer } from "./_s3_writer.ts";
import { checkS3Location } from "./_s3_url.ts";

export { parseS3Url } from "./_s3_url.ts";
import { type S3Clients, s3Clients } from "./_s3_client.ts";
import { abortableClients } from "./_s3_abortable.ts";
import { concatenate, HEADERS_TIMEOUT_MS, withDeadline } from "./_s3_read.ts";

/** Separates a key from an upload id in `listIncomplete()` entries: `<key>.partial~<uploadId>`. */
const INCOMPLETE_MARK = ".partial~";
/** Folder, under the prefix, of the objects that stand for `append()` calls. */
const APPEND_FOLDER = ".append";

/** Options of {@linkcode S3Storage}; credentials always come from the SDK's standard chain. */
export interface S3Options {
  /** S3-compatible server, e.g. `http://127.0.0.1:9000`. Default `AWS_ENDPOINT_URL`, else AWS. */
  endpoint?: string;
  /** Default `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's region, else `us-east-1`. */
  region?: string;
  /** Path-style URLs (`endpoint/bucket/key`). Default `true` when an endpoint is set. */
  forcePathStyle?: boolean;
  /** Storage class of new objects (`STANDARD_IA`, `GLACIER_IR`…). Default: the bucket's. */
  storageClass?: string;
  /** `"AES256"` or `"aws:kms"`. Default: the bucket's encryption. */
  serverSideEncryption?: string;
  /** KMS key for `"aws:kms"`. Default: the account's S3 key. */
  sseKmsKeyId?: string;
  /** Environment to read `AWS_*` variables from. Default `Deno.env`. */
  env?: Record<string, string | undefined>;
}

/**
 * Backups in an S3 bucket under a prefix. Writes are multipart uploads (streamed, bounded memory,
 * each part MD5-checked) that appear only when completed; `append()` keeps one object per call,
 * since S3 cannot append.
 */
export class S3Storage implements Storage {
  readonly location: string;
  readonly #place: S3Place;
  readonly #prefix: string;
  readonly #client: S3Client;
  /** Downloads only; see `S3Clients.read`. */
  readonly #readClient: S3Client;
  readonly #putOptions: Partial<PutObjectCommandInput>;
  readonly #url: string;
  readonly #options: S3Options;
  readonly #clients: S3Clients;

  /** `clients`: {@linkcode withSignal}'s, sharing this store's; default made from `options`. */
  constructor(url: string, options: S3Options = {}, clients: S3Clients = s3Clients(options)) {
    const parsed = checkS3Location(url, options.serverSideEncryption);
    const sse = options.serverSideEncryption;
    this.#url = url;
    this.#options = options;
    this.#clients = clients;
    this.#client = clients.control;
    this.#readClient = clients.read;
    this.location = `s3://${parsed.bucket}${parsed.prefix ? `/${parsed.prefix}` : ""}`;
    this.#prefix = parsed.prefix ? `${parsed.prefix}/` : "";
    this.#place = {
      location: this.location,
      host: clients.host,
      bucket: parsed.bucket,
      storageClass: options.storageClass,
      serverSideEncryption: sse,
    };
    this.#putOptions = {
      StorageClass: options.storageClass as StorageClass | undefined,
      ServerSideEncryption: options.serverSideEncryption as ServerSideEncryption | undefined,
      SSEKMSKeyId: options.sseKmsKeyId,
    };
  }

  /** This store, its requests abandoned when `signal` aborts (`_s3_abortable.ts`). */
  withSignal(signal: AbortSignal): S3Storage {
    return new S3Storage(this.#url, this.#options, abortableClients(this.#clients, signal));
  }

  /** Closes the client's idle connections. Optional: they never keep the process alive. */
  close(): void {
    this.#client.destroy();
    this.#readClient.destroy();
  }

  async create(key: string, options: CreateOptions = {}): Promise<AtomicWriter> {
    checkKey(key, true);
    const objectKey = this.#prefix + key;
    const { UploadId } = await this.#try(
      `start writing "${key}" to`,
      (c) =>
        c.send(
          new CreateMultipartUploadCommand({
            ...this.#putOptions,
            Bucket: this.#bucket,
            Key: objectKey,
          }),
        ),
    );
    return new S3Writer({
      client: this.#client,
      place: this.#place,
      key,
      objectKey,
      uploadId: UploadId!,
      overwrite: options.overwrite ?? false,
      putOptions: this.#putOptions,
      verifyEtag: this.#putOptions.ServerSideEncryption !== "aws:kms",
    });
  }

  async read(key: string): Promise<ReadableStream<Uint8Array>> {
    checkKey(key);
    const wrap = (error: unknown) => s3Error(`read "${key}" from`, this.#place, error);
    try {
      return concatenate([await this.#get(this.#prefix + key)], wrap);
    } catch (error) {
      if (!isNotFound(error)) throw wrap(error);
    }
    const records = await this.#appendRecords(key);
    if (records.length === 0) throw new StorageNotFoundError(key, this.location);
    return concatenate(records.map((record) => () => this.#get(record.Key!)), wrap);
  }

  async stat(key: string): Promise<StorageEntry> {
    checkKey(key);
    try {
      const head = await this.#client.send(
        new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#prefix + key }),
      );
      return { key, size: head.ContentLength ?? 0, modifiedAt: head.LastModified ?? new Date(0) };
    } catch (error) {
      if (!isNotFound(error)) throw s3Error(`stat "${key}" in`, this.#place, error);
    }
    const records = await this.#appendRecords(key);
    if (records.length === 0) throw new StorageNotFoundError(key, this.location);
    return summarise(key, records);
  }

  async list(): Promise<StorageEntry[]> {
    const entries = new Map<string, StorageEntry>();
    for (const object of await this.#listObjects(this.#prefix, "/")) {
      const key = object.Key!.slice(this.#prefix.length);
      if (key === "") continue; // a "folder" marker some consoles create for the prefix
      entries.set(key, {
        key,
        size: object.Size ?? 0,
        modifiedAt: object.LastModified ?? new Date(0),
      });
    }
    const appendRoot = `${this.#prefix}${APPEND_FOLDER}/`;
    const byKey = Map.groupBy(
      await this.#listObjects(appendRoot),
      (object) => object.Key!.slice(appendRoot.length).split("/")[0],
    );
    for (const [key, records] of byKey) entries.set(key, summarise(key, records));
    return [...entries.values()];
  }

  async listIncomplete(): Promise<StorageEntry[]> {
    const uploads: MultipartUpload[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const page = await this.#try(
        "list incomplete uploads in",
        (c) =>
          c.send(
            new ListMultipartUploadsCommand({
              Bucket: this.#bucket,
              Prefix: this.#prefix,
              Delimiter: "/",
              KeyMarker: keyMarker,
              UploadIdMarker: uploadIdMarker,
            }),
          ),
      );
      uploads.push(...(page.Uploads ?? []));
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
    const entries = await Promise.all(uploads.map((upload) => this.#incompleteEntry(upload)));
    return entries.filter((entry) => entry !== undefined);
  }

  async append(key: string, bytes: Uint8Array): Promise<void> {
    checkKey(key, true);
    await this.#try(`append to "${key}" in`, (c) =>
      c.send(
        new PutObjectCommand({
          ...this.#putOptions,
          Bucket: this.#bucket,
          Key: `${this.#prefix}${APPEND_FOLDER}/${key}/${recordName()}`,
          Body: bytes,
          ContentLength: bytes.length,
        }),
      ));
  }

  async remove(key: string): Promise<void> {
    checkKey(key);
    const mark = key.lastIndexOf(INCOMPLETE_MARK);
    if (mark > 0) {
      const uploadId = decodeURIComponent(key.slice(mark + INCOMPLETE_MARK.length));
      try {
        await this.#client.send(
          new AbortMultipartUploadCommand({
            Bucket: this.#bucket,
            Key: this.#prefix + key.slice(0, mark),
            UploadId: uploadId,
          }),
        );
      } catch (error) {
        if (!isNoSuchUpload(error)) throw s3Error(`remove "${key}" from`, this.#place, error);
      }
      return;
    }
    const keys = [this.#prefix + key, ...(await this.#appendRecords(key)).map((r) => r.Key!)];
    for (const objectKey of keys) {
      await this.#try(
        `remove "${key}" from`,
        (c) => c.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: objectKey })),
      );
    }
  }

  freeBytes(): Promise<number | undefined> {
    return Promise.resolve(undefined);
  }

  async subStores(): Promise<string[]> {
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput = await this.#try(
        "list",
        (c) =>
          c.send(
            new ListObjectsV2Command({
              Bucket: this.#bucket,
              Prefix: this.#prefix,
              Delimiter: "/",
              ContinuationToken: token,
            }),
          ),
      );
      for (const common of page.CommonPrefixes ?? []) {
        const name = (common.Prefix ?? "").slice(this.#prefix.length).replace(/\/$/, "");
        if (name !== "" && !name.startsWith(".")) names.push(name);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return names;
  }

  get #bucket(): string {
    return this.#place.bucket;
  }

  /** Runs one SDK call, turning its failure into a one-line `StorageError`. */
  async #try<T>(action: string, call: (client: S3Client) => Promise<T>): Promise<T> {
    try {
      return await call(this.#client);
    } catch (error) {
      throw s3Error(action, this.#place, error);
    }
  }

  async #get(objectKey: string): Promise<ReadableStream<Uint8Array>> {
    const { Body } = await withDeadline(
      HEADERS_TIMEOUT_MS,
      (abortSignal) =>
        this.#readClient.send(new GetObjectCommand({ Bucket: this.#bucket, Key: objectKey }), {
          abortSignal,
        }),
    );
    if (!Body) return new ReadableStream({ start: (controller) => controller.close() });
    return Body.transformToWebStream() as ReadableStream<Uint8Array>;
  }

  /** Objects under `prefix`; with a delimiter, only the direct children. */
  async #listObjects(prefix: string, delimiter?: string) {
    const objects: NonNullable<ListObjectsV2CommandOutput["Contents"]> = [];
    let token: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput = await this.#try(
        "list",
        (c) =>
          c.send(
            new ListObjectsV2Command({
              Bucket: this.#bucket,
              Prefix: prefix,
              Delimiter: delimiter,
              ContinuationToken: token,
            }),
          ),
      );
      objects.push(...(page.Contents ?? []));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return objects;
  }

  /** The objects of `append(key, …)` calls, oldest first (their names sort by time). */
  async #appendRecords(key: string) {
    const records = await this.#listObjects(`${this.#prefix}${APPEND_FOLDER}/${key}/`);
    return records.sort((a, b) => a.Key! < b.Key! ? -1 : a.Key! > b.Key! ? 1 : 0);
  }

  async #incompleteEntry(upload: MultipartUpload): Promise<StorageEntry | undefined> {
    const key = upload.Key!.slice(this.#prefix.length);
    let size = 0;
    let marker: string | undefined;
    try {
      do {
        const page = await this.#client.send(
          new ListPartsCommand({
            Bucket: this.#bucket,
            Key: upload.Key,
            UploadId: upload.UploadId,
            PartNumberMarker: marker,
          }),
        );
        for (const part of page.Parts ?? []) size += part.Size ?? 0;
        marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
      } while (marker);
    } catch (error) {
      if (isNoSuchUpload(error)) return undefined; // completed or aborted while listing
      throw s3Error("list incomplete uploads in", this.#place, error);
    }
    return {
      key: `${key}${INCOMPLETE_MARK}${encodeURIComponent(upload.UploadId!)}`,
      size,
      modifiedAt: upload.Initiated ?? new Date(0),
    };
  }
}

let recordCounter = 0;
let recordMs = 0;

/**
 * Name of one `append()` record: milliseconds (never going back in this process, even if the clock
 * does), then a per-process counter so two calls in the same millisecond keep their order, then
 * randomness so two processes never collide.
 */
function recordName(): string {
  recordMs = Math.max(recordMs, Date.now());
  const counter = (recordCounter++ % 1e6).toString().padStart(6, "0");
  const random = crypto.randomUUID().slice(0, 8);
  return `${recordMs.toString().padStart(15, "0")}-${counter}${random}`;
}

function summarise(key: string, objects: { Size?: number; LastModified?: Date }[]): StorageEntry {
  let size = 0;
  let modifiedAt = new Date(0);
  for (const object of objects) {
    size += object.Size ?? 0;
    if (object.LastModified && object.LastModified > modifiedAt) modifiedAt = object.LastModified;
  }
  return { key, size, modifiedAt };
}

/** Refuses keys that are not flat names; new objects may not look like incomplete entries. */
function checkKey(key: string, isNew = false): void {
  if (key === "" || key.includes("/") || key.includes("\\") || key === "." || key === "..") {
    throw new StorageError(`Cannot use "${key}" as a storage key: keys are plain file names`);
  }
  if (isNew && key.includes(INCOMPLETE_MARK)) {
    throw new StorageError(
      `Cannot use "${key}" as a storage key: "${INCOMPLETE_MARK}" marks incomplete uploads`,
    );
  }
}
