/**
 * PostgreSQL's WAL archive in a store: what `archive_command` (`wal-push`) puts there and
 * `restore_command` (`wal-fetch`) takes back. Each file is stored compressed (and encrypted for
 * the configured recipients) as `wal.<name>.gz`, with the SHA-256 of both the stored and the
 * original bytes in `wal.<name>.json`, written last: a file counts only once its manifest is
 * there, so an archiver killed part-way leaves nothing PostgreSQL would ever fetch, and the
 * server's retry overwrites the orphan.
 */
import { createHash } from "node:crypto";
import { rename } from "node:fs/promises";
import type { Storage } from "../storage/storage.ts";
import { IntegrityError, UsageError } from "../core/errors.ts";
import {
  readManifest,
  readStored,
  type StoredObject,
  writeManifest,
  writeStored,
} from "./sqlite_pitr_store.ts";
import { parseWalFileName, type WalFileName } from "./pg_wal_names.ts";

/** What a WAL file's manifest records. */
export interface WalManifest {
  formatVersion: 1;
  name: string;
  /** Bytes of the file as PostgreSQL wrote it, and their SHA-256. */
  size: number;
  sha256: string;
  /** When `wal-push` stored it, ISO 8601. */
  pushedAt: string;
  stored: StoredObject;
}

/** The keys of WAL file `name`. */
export function walKeys(name: string): { data: string; manifest: string } {
  return { data: `wal.${name}.gz`, manifest: `wal.${name}.json` };
}

const MANIFEST_KEY = /^wal\.(.+)\.json$/;

/** A name `wal-push`/`wal-fetch` accept; anything else is a usage error (exit 2). */
export function walName(name: string): WalFileName {
  const parsed = parseWalFileName(name);
  if (!parsed) {
    throw new UsageError(
      `"${name}" is not a WAL file name (expected like 000000010000000000000003, 00000002.history)`,
    );
  }
  return parsed;
}

/** How a push ended. */
export type PushOutcome = "stored" | "already archived";

/**
 * Stores the file at `path` as WAL file `name` (its base name); segments are encrypted for
 * `recipients`, the small history and backup-label files are not (they hold no data). Pushing a file that is already
 * archived with the same content succeeds without writing ("already archived": the archiver's
 * retry after a crash); with different content it is an {@linkcode IntegrityError}: two servers
 * archiving into one store, or a store that holds another cluster's WAL.
 */
export async function pushWal(
  store: Storage,
  path: string,
  name: string,
  options: { recipients?: string[]; now: Date },
): Promise<{ outcome: PushOutcome; manifest: WalManifest }> {
  const kind = walName(name).kind;
  const keys = walKeys(name);
  const existing = await readManifest<WalManifest>(store, keys.manifest);
  if (existing) {
    const { sha256, size } = await hashFile(path);
    if (sha256 === existing.sha256 && size === existing.size) {
      return { outcome: "already archived", manifest: existing };
    }
    throw new IntegrityError(
      `WAL file ${name} is already archived with different content (SHA-256 ${
        existing.sha256.slice(0, 12)
      }…, ` +
        `pushed ${existing.pushedAt}): refusing to overwrite it; is another server archiving to ${store.location}?`,
    );
  }
  const hash = createHash("sha256");
  let size = 0;
  const file = await Deno.open(path);
  const source = (async function* () {
    for await (const chunk of file.readable) {
      hash.update(chunk);
      size += chunk.byteLength;
      yield chunk;
    }
  })();
  // history and backup-label files hold positions and times, no data: kept readable without the
  // identity, so `create --type base` and `status` on a host with public keys only can read them
  const recipients = kind === "segment" || kind === "partial" ? options.recipients : [];
  const stored = await writeStored(store, keys.data, source, recipients ?? []).finally(() => {
    try {
      file.close();
    } catch { /* closed by reading it to the end */ }
  });
  const manifest: WalManifest = {
    formatVersion: 1,
    name,
    size,
    sha256: hash.digest("hex"),
    pushedAt: options.now.toISOString(),
    stored: {
      key: stored.key,
      sha256: stored.sha256,
      size: stored.size,
      ...(stored.encrypted ? { encrypted: true } : {}),
    },
  };
  await writeManifest(store, keys.manifest, manifest);
  return { outcome: "stored", manifest };
}

/**
 * Writes archived WAL file `name` to `dest`: under a temporary name beside it, checked against
 * the SHA-256 it was pushed with, then renamed, so PostgreSQL never reads a partial file.
 * `false` when the archive does not hold it (PostgreSQL asks for files past the end of the
 * archive and for timelines that never were: both normal).
 */
export async function fetchWal(
  store: Storage,
  name: string,
  dest: string,
  identities: string[] = [],
): Promise<boolean> {
  walName(name);
  const manifest = await readManifest<WalManifest>(store, walKeys(name).manifest);
  if (!manifest) return false;
  const temp = `${dest}.bm-fetch.${Deno.pid}`;
  const hash = createHash("sha256");
  let size = 0;
  const out = await Deno.open(temp, { write: true, create: true, truncate: true, mode: 0o600 });
  try {
    for await (const chunk of readStored(store, manifest.stored, identities)) {
      hash.update(chunk);
      size += chunk.byteLength;
      let written = 0;
      while (written < chunk.byteLength) written += await out.write(chunk.subarray(written));
    }
    if (size !== manifest.size || hash.digest("hex") !== manifest.sha256) {
      throw new IntegrityError(
        `archived WAL file ${name} does not match the SHA-256 it was pushed with`,
      );
    }
    await out.sync();
    out.close();
    await rename(temp, dest);
    return true;
  } catch (error) {
    try {
      out.close();
    } catch { /* closed already */ }
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

/** Every archived WAL file whose manifest exists (and whose name `only` accepts), by name. */
export async function listArchive(
  store: Storage,
  only: (name: string) => boolean = () => true,
): Promise<WalManifest[]> {
  const names = (await archivedNames(store)).filter(only);
  const out: WalManifest[] = [];
  for (const name of names) {
    const manifest = await readManifest<WalManifest>(store, walKeys(name).manifest);
    if (manifest) out.push(manifest);
  }
  return out;
}

/** The archive's names without reading manifests (the keys alone): for gaps and retention. */
export async function archivedNames(store: Storage): Promise<string[]> {
  return (await store.list()).map((e) => MANIFEST_KEY.exec(e.key)?.[1])
    .filter((n): n is string => n !== undefined && parseWalFileName(n) !== undefined).sort();
}

async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  const file = await Deno.open(path);
  for await (const chunk of file.readable) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { sha256: hash.digest("hex"), size };
}
