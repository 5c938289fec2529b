/**
 * S3 locations checked without the AWS SDK, so that a bad URL or setting is refused at once and
 * commands that never touch a bucket need not load the SDK (see `open_storage.ts`).
 */
import { UsageError } from "../core/errors.ts";

/**
 * Splits `s3://BUCKET[/PREFIX]` into bucket and prefix (no leading or trailing `/`). Returns
 * `undefined` for other URLs, so callers can try a local path next; throws `UsageError` for an
 * s3:// URL that names no usable bucket.
 */
export function parseS3Url(url: string): { bucket: string; prefix: string } | undefined {
  const match = /^s3:\/\/(.*)$/i.exec(url.trim());
  if (!match) return undefined;
  const [bucket, ...rest] = match[1].split("/");
  const prefix = rest.filter((part) => part !== "").join("/");
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    const why = bucket === ""
      ? "the bucket name is empty"
      : bucket.length < 3 || bucket.length > 63
      ? "a bucket name has 3 to 63 characters"
      : "a bucket name has only lowercase letters, digits, dots and hyphens";
    throw new UsageError(`Cannot use "${url}" as an S3 location: ${why} (use s3://BUCKET/PREFIX)`);
  }
  return { bucket, prefix };
}

/**
 * The bucket and prefix of `url`, after checking what an S3 store's settings can get wrong without
 * asking the server: the URL and the server-side encryption name. Throws `UsageError`.
 */
export function checkS3Location(
  url: string,
  serverSideEncryption?: string,
): { bucket: string; prefix: string } {
  const parsed = parseS3Url(url);
  if (!parsed) {
    throw new UsageError(`Cannot use "${url}" as an S3 location: use s3://BUCKET/PREFIX`);
  }
  const sse = serverSideEncryption;
  if (sse !== undefined && sse !== "AES256" && sse !== "aws:kms") {
    throw new UsageError(
      `Cannot use "${sse}" as server-side encryption: use "AES256" or "aws:kms"`,
    );
  }
  return parsed;
}
