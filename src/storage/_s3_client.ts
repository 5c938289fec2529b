import { S3Client, type S3ClientConfig } from "npm:@aws-sdk/client-s3@3.1169.0";
import { fromNodeProviderChain } from "npm:@aws-sdk/credential-providers@3.1169.0";
import { UsageError } from "../core/errors.ts";
import type { S3Options } from "./s3.ts";

/** How long a request may go without a byte before it is retried (3 attempts in all). */
const IDLE_TIMEOUT_MS = 5_000;

/** The clients one storage uses, and the endpoint's host for messages. */
export interface S3Clients {
  /** Every request but downloads: a hung server fails it in about 15 s. */
  control: S3Client;
  /**
   * Downloads: no socket idle timeout, since a slow consumer may pause a download for minutes;
   * the reader bounds the wait for headers and for each chunk it asks for instead.
   */
  read: S3Client;
  host: string;
}

/** Clients configured from `options` and the environment, credentials from the SDK's chain. */
export function s3Clients(options: S3Options): S3Clients {
  const env = options.env ?? Deno.env.toObject();
  const endpoint = options.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const config: S3ClientConfig = {
    endpoint,
    region: region ?? once(() => regionFromProfile(env.AWS_PROFILE)),
    forcePathStyle: options.forcePathStyle ?? endpoint !== undefined,
    credentials: credentialsFrom(env),
    // Ceph and other S3-compatible servers reject the CRC32 trailers newer SDKs send by default
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: 3,
  };
  return {
    control: new S3Client({
      ...config,
      requestHandler: { connectionTimeout: IDLE_TIMEOUT_MS, socketTimeout: IDLE_TIMEOUT_MS },
    }),
    read: new S3Client({ ...config, requestHandler: { connectionTimeout: IDLE_TIMEOUT_MS } }),
    host: endpointHost(endpoint, region),
  };
}

/** Static keys from the environment, else the SDK's chain (profile files, SSO, instance roles). */
function credentialsFrom(env: Record<string, string | undefined>): S3ClientConfig["credentials"] {
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    return {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      sessionToken: env.AWS_SESSION_TOKEN || undefined,
    };
  }
  return fromNodeProviderChain({
    profile: env.AWS_PROFILE,
    filepath: env.AWS_SHARED_CREDENTIALS_FILE,
    configFilepath: env.AWS_CONFIG_FILE,
  });
}

/** The region the SDK finds (the profile's), or `us-east-1` when it finds none. */
async function regionFromProfile(profile: string | undefined): Promise<string> {
  const probe = new S3Client({ profile });
  try {
    return await probe.config.region();
  } catch {
    return "us-east-1";
  } finally {
    probe.destroy();
  }
}

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => value ??= make();
}

/** Host and port only: an endpoint's user info never reaches a message. */
function endpointHost(endpoint: string | undefined, region: string | undefined): string {
  if (endpoint === undefined) return `s3.${region ?? "us-east-1"}.amazonaws.com`;
  try {
    return new URL(endpoint).host;
  } catch {
    throw new UsageError(`Cannot use "${endpoint}" as an S3 endpoint: it is not a URL`);
  }
}
