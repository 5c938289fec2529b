import { createHash } from "node:crypto";
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
  UploadPartCommand,
} from "npm:@aws-sdk/client-s3@3.1169.0";
import { StorageError } from "../core/errors.ts";
import type { AtomicWriter } from "./storage.ts";
import { isNoSuchUpload, isNotFound, s3Error, type S3Place } from "./_s3_errors.ts";

/** Bytes per part: above S3's 5 MiB minimum, and what one write holds in memory per part. */
export const PART_SIZE = 8 * 1024 * 1024;
/** Parts uploaded at once; `write()` waits when this many are in flight (backpressure). */
export const PARTS_IN_FLIGHT = 2;

/** What a writer needs to know about its object. */
export interface S3WriteTarget {
  client: S3Client;
  place: S3Place;
  /** The key as the caller named it, for messages. */
  key: string;
  /** Full object key, prefix included. */
  objectKey: string;
  uploadId: string;
  overwrite: boolean;
  /** Storage class and encryption, applied again when an empty object is put instead. */
  putOptions: Partial<PutObjectCommandInput>;
  /** Whether the server's ETag is an MD5 of the data (not so for SSE-KMS). */
  verifyEtag: boolean;
}

/**
 * One multipart upload: bytes are copied into part-sized buffers (so callers may reuse theirs and
 * memory stays at most `(PARTS_IN_FLIGHT + 1) * PART_SIZE`), each part goes with its Content-MD5
 * so the server checks it, and `commit()` completes the upload, which is when the object appears
 * (an object smaller than a part is put whole instead).
 */
export class S3Writer implements AtomicWriter {
  readonly #target: S3WriteTarget;
  #part = new Uint8Array(PART_SIZE);
  #filled = 0;
  #total = 0;
  readonly #parts: (CompletedPart & { md5: Uint8Array })[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  #nextPart = 1;
  #failure: unknown;
  #state: "open" | "closing" | "closed" = "open";
  #completed = false;

  constructor(target: S3WriteTarget) {
    this.#target = target;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#checkOpen();
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(chunk.length - offset, PART_SIZE - this.#filled);
      this.#part.set(chunk.subarray(offset, offset + n), this.#filled);
      this.#filled += n;
      this.#total += n;
      offset += n;
      if (this.#filled === PART_SIZE) {
        while (this.#inFlight.size >= PARTS_IN_FLIGHT) await Promise.race(this.#inFlight);
        this.#checkOpen();
        this.#sendPart();
      }
    }
  }

  async commit(): Promise<void> {
    this.#checkOpen();
    this.#state = "closing";
    const { client, objectKey, place } = this.#target;
    try {
      // nothing sent yet: the whole object is in hand, and one PUT is cheaper than completing
      if (this.#nextPart === 1) return await this.#putWhole();
      if (this.#filled > 0) this.#sendPart();
      await Promise.all(this.#inFlight);
      if (this.#failure) throw this.#failure;
      await this.#refuseExisting();
      const parts = this.#parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
      let retried = false;
      try {
        await client.send(
          new CompleteMultipartUploadCommand({
            Bucket: place.bucket,
            Key: objectKey,
            UploadId: this.#target.uploadId,
            MultipartUpload: { Parts: parts.map(({ PartNumber, ETag }) => ({ PartNumber, ETag })) },
          }),
        );
      } catch (error) {
        // a retry after a lost answer finds the upload completed: the ETag tells if it was ours
        if (!isNoSuchUpload(error) || !this.#target.verifyEtag) throw error;
        retried = true;
      }
      this.#completed = true;
      await this.#verify(parts, retried);
      this.#state = "closed";
    } catch (error) {
      await this.abort();
      throw s3Error(`write "${this.#target.key}" to`, place, error);
    }
  }

  /** Best effort: an upload it cannot abort stays listed by `listIncomplete()`. */
  async abort(): Promise<void> {
    this.#state = "closed";
    this.#part = new Uint8Array(0);
    await Promise.allSettled(this.#inFlight);
    if (this.#completed) return;
    const { client, place, objectKey, uploadId } = this.#target;
    await client.send(
      new AbortMultipartUploadCommand({ Bucket: place.bucket, Key: objectKey, UploadId: uploadId }),
    ).catch(() => {});
  }

  #checkOpen(): void {
    if (this.#failure) {
      throw s3Error(`write "${this.#target.key}" to`, this.#target.place, this.#failure);
    }
    if (this.#state !== "open") {
      throw new StorageError(
        `Cannot write "${this.#target.key}" to "${this.#target.place.location}": writer is closed`,
      );
    }
  }

  #sendPart(): void {
    const body = this.#filled === PART_SIZE ? this.#part : this.#part.slice(0, this.#filled);
    this.#part = this.#state === "open" ? new Uint8Array(PART_SIZE) : new Uint8Array(0);
    this.#filled = 0;
    const partNumber = this.#nextPart++;
    const md5 = createHash("md5").update(body).digest();
    const { client, place, objectKey, uploadId } = this.#target;
    const upload = client.send(
      new UploadPartCommand({
        Bucket: place.bucket,
        Key: objectKey,
        UploadId: uploadId,
        PartNumber: partNumber,
        Body: body,
        ContentLength: body.length,
        ContentMD5: md5.toString("base64"),
      }),
    ).then(
      (result) => void this.#parts.push({ PartNumber: partNumber, ETag: result.ETag, md5 }),
      (error) => void (this.#failure ??= error),
    ).finally(() => this.#inFlight.delete(upload));
    this.#inFlight.add(upload);
  }

  /**
   * Writes an object smaller than a part (a sidecar, a small or empty backup) with one PUT, its
   * Content-MD5 checked by the server, instead of a part and a CompleteMultipartUpload: the
   * upload is aborted first, so an upload someone removed meanwhile still fails the commit.
   * Saves a round trip, and on radosgw (whose beast frontend, without `tcp_nodelay`, answers a
   * POST ~45 ms late: its body waits for the client's delayed ACK of its headers) about 45 ms.
   */
  async #putWhole(): Promise<void> {
    const { client, place, objectKey, uploadId, key } = this.#target;
    const body = this.#part.slice(0, this.#filled);
    this.#part = new Uint8Array(0);
    await client.send(
      new AbortMultipartUploadCommand({ Bucket: place.bucket, Key: objectKey, UploadId: uploadId }),
    );
    await this.#refuseExisting();
    const md5 = createHash("md5").update(body).digest();
    const put = await client.send(
      new PutObjectCommand({
        ...this.#target.putOptions,
        Bucket: place.bucket,
        Key: objectKey,
        Body: body,
        ContentLength: body.length,
        ContentMD5: md5.toString("base64"),
      }),
    );
    this.#completed = true;
    const actual = (put.ETag ?? "").replaceAll('"', "");
    if (this.#target.verifyEtag && actual !== md5.toString("hex")) {
      await client.send(new DeleteObjectCommand({ Bucket: place.bucket, Key: objectKey }))
        .catch(() => {});
      throw new StorageError(
        `Cannot write "${key}" to "${place.location}" at ${place.host}: the stored object's ETag ` +
          `"${actual}" does not match the "${md5.toString("hex")}" of the bytes sent, so it was ` +
          `removed (retry)`,
      );
    }
    this.#state = "closed";
  }

  async #refuseExisting(): Promise<void> {
    if (this.#target.overwrite) return;
    const { client, place, objectKey, key } = this.#target;
    try {
      await client.send(new HeadObjectCommand({ Bucket: place.bucket, Key: objectKey }));
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    throw new StorageError(
      `Cannot write "${key}" to "${place.location}": it already exists (remove it first, or overwrite)`,
    );
  }

  /**
   * Compares the stored object's ETag with the multipart ETag of what was sent (MD5 of the parts'
   * MD5s, `-N`); Ceph's CompleteMultipartUpload answers with an empty ETag, so HEAD is asked.
   */
  async #verify(parts: { md5: Uint8Array }[], retried: boolean): Promise<void> {
    if (!this.#target.verifyEtag) return;
    const { client, place, objectKey, key } = this.#target;
    const head = await client.send(new HeadObjectCommand({ Bucket: place.bucket, Key: objectKey }));
    const combined = createHash("md5");
    for (const part of parts) combined.update(part.md5);
    const expected = `${combined.digest("hex")}-${parts.length}`;
    const actual = (head.ETag ?? "").replaceAll('"', "");
    if (actual === expected) return;
    if (retried) {
      // not ours: someone else's object, which must stay
      throw new StorageError(
        `Cannot write "${key}" to "${place.location}" at ${place.host}: the upload vanished ` +
          `before it completed (retry)`,
      );
    }
    await client.send(new DeleteObjectCommand({ Bucket: place.bucket, Key: objectKey }))
      .catch(() => {});
    throw new StorageError(
      `Cannot write "${key}" to "${place.location}" at ${place.host}: the stored object's ETag ` +
        `"${actual}" does not match the "${expected}" of the bytes sent, so it was removed (retry)`,
    );
  }
}
