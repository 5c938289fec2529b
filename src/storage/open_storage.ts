/**
 * Which storage a store URL names: `s3://BUCKET[/PREFIX]` is an S3-compatible bucket, anything
 * else a directory. The one place that maps settings to a storage, so every command and every
 * destination opens stores the same way.
 */
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Storage } from "./storage.ts";
import { LocalStorage } from "./local.ts";
import type { S3Options } from "./s3.ts";
import { LazyS3Storage } from "./_lazy_s3.ts";

/** How S3 stores are reached (the `s3` settings); credentials come from the AWS chain. */
export type S3StoreSettings = Omit<S3Options, "env">;

/** Options of {@linkcode openStorage}. */
export interface OpenStorageOptions {
  s3?: S3StoreSettings;
  /** Environment for the AWS credential chain. Default none. */
  env?: Record<string, string | undefined>;
}

/** Whether `url` names an object store rather than a directory. */
export function isObjectStoreUrl(url: string): boolean {
  return /^s3:\/\//i.test(url);
}

/** The storage `url` names. */
export function openStorage(url: string, options: OpenStorageOptions = {}): Storage {
  if (!isObjectStoreUrl(url)) return new LocalStorage(url);
  return new LazyS3Storage(url, { ...options.s3, env: options.env ?? {} });
}

/**
 * The store under `url` that holds one series of several databases: `<dir>/<name>` for a
 * directory, `s3://bucket/prefix/<name>` for a bucket. Every operation on a store works unchanged
 * on a sub-store (its own listing, lock, retention); the parent's listing never shows what a
 * sub-store holds (storages list flat keys, see `storage.ts`). `name` must be one safe path
 * segment (`src/core/series.ts` makes them).
 */
export function subStoreUrl(url: string, name: string): string {
  if (name === "" || name === "." || name === ".." || /[/\\]/.test(name)) {
    throw new TypeError(`subStoreUrl(): "${name}" is not one path segment`);
  }
  if (isObjectStoreUrl(url)) return `${url.replace(/\/+$/, "")}/${name}`;
  return join(url, name);
}

/**
 * Where the run lock of the store `url` lives. A directory holds its own lock; an object store
 * has no atomic create-if-absent we can rely on across S3-compatible servers, so its lock is a
 * file on this machine, one per store (runs on several machines must use distinct prefixes).
 */
export function lockDirectoryFor(url: string, env: Record<string, string | undefined>): string {
  if (!isObjectStoreUrl(url)) return url;
  const state = env.XDG_STATE_HOME ?? (env.HOME ? join(env.HOME, ".local", "state") : tmpdir());
  const name = createHash("sha256").update(url.replace(/\/+$/, "")).digest("hex").slice(0, 16);
  return join(state, "backup-manager", "locks", name);
}
