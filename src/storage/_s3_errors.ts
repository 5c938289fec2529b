import { messageOf, StorageError } from "../core/errors.ts";
import { isOutOfSpace, outOfSpaceState } from "./_space_errors.ts";

/** Where a request went, for messages: `"s3://bucket/prefix" at host:port`. Never credentials. */
export interface S3Place {
  location: string;
  /** Host (and port) of the endpoint, without user info or path. */
  host: string;
  bucket: string;
  /** Options sent with new objects, named when the server refuses them. */
  storageClass?: string;
  serverSideEncryption?: string;
}

/**
 * Turns an SDK failure into one line: what failed, where, why in plain words and what to do. The
 * SDK error stays as `cause` for `--verbose`.
 */
export function s3Error(action: string, place: S3Place, error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  return new StorageError(
    `Cannot ${action} "${place.location}" at ${place.host}: ${reason(error, place)}`,
    { cause: error },
  );
}

/** True when the SDK says the object (or upload) is not there. */
export function isNotFound(error: unknown): boolean {
  const { name, status } = describe(error);
  return name === "NoSuchKey" || name === "NotFound" || (status === 404 && name !== "NoSuchBucket");
}

/** True when the SDK says the multipart upload is gone (completed or aborted already). */
export function isNoSuchUpload(error: unknown): boolean {
  return describe(error).name === "NoSuchUpload";
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ERR_SOCKET_CONNECTION_TIMEOUT",
]);

function reason(error: unknown, place: S3Place): string {
  const { name, status, code, message } = describe(error);
  // before the 403 rule: Ceph answers an exhausted quota with 403 QuotaExceeded
  if (isOutOfSpace(error)) return outOfSpaceState(error);
  if (name === "InvalidAccessKeyId" || name === "SignatureDoesNotMatch" || status === 403) {
    return "the access key or secret is wrong (check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the profile)";
  }
  if (name === "NoSuchBucket") {
    return `the bucket "${place.bucket}" does not exist (create it first)`;
  }
  if (name === "CredentialsProviderError" || /credential/i.test(name)) {
    return "no credentials were found (set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE)";
  }
  if (
    NETWORK_CODES.has(code) || name === "TimeoutError" || name === "AbortError" ||
    /socket hang up/i.test(message)
  ) {
    return `cannot connect to ${place.host} (is the server running?)`;
  }
  const refusedOptions = [
    place.storageClass ? `storage class "${place.storageClass}"` : "",
    place.serverSideEncryption ? `server-side encryption "${place.serverSideEncryption}"` : "",
  ].filter((text) => text !== "");
  if (
    name === "InvalidStorageClass" ||
    (status === 400 && /^Invalid(Argument|Request)$/.test(name) && refusedOptions.length > 0)
  ) {
    return `the server refused ${refusedOptions.join(" or ") || "the storage class"} ` +
      `with ${status} ${name} (check that setting; the server may not support it)`;
  }
  if (status === 503 || name === "SlowDown" || name === "ServiceUnavailable") {
    return "the server is overloaded or unavailable (try again later)";
  }
  if (status !== undefined && status >= 500) {
    return `the server failed with ${status} ${name} (try again later; check the server's logs)`;
  }
  // the SDK says "UnknownError" when the answer has no message (Ceph often sends none)
  const detail = message && message !== name && message !== "UnknownError"
    ? `: ${firstLine(message)}`
    : "";
  return status === undefined
    ? firstLine(message)
    : `the server refused the request with ${status} ${name}${detail}`;
}

interface Described {
  name: string;
  status: number | undefined;
  code: string;
  message: string;
}

/** The SDK's error name and HTTP status, and the socket error code found anywhere in the chain. */
function describe(error: unknown): Described {
  const top = error as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return {
    name: typeof top?.name === "string" ? top.name : "",
    status: top?.$metadata?.httpStatusCode,
    code: socketCode(error, 0),
    message: messageOf(error),
  };
}

function socketCode(error: unknown, depth: number): string {
  if (depth > 5 || typeof error !== "object" || error === null) return "";
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === "string" && NETWORK_CODES.has(code)) return code;
  for (const inner of [cause, ...(Array.isArray(errors) ? errors : [])]) {
    const found = socketCode(inner, depth + 1);
    if (found) return found;
  }
  return "";
}

function firstLine(text: string): string {
  return text.split("\n")[0].trim();
}
