/**
 * The files part of a backup: the tar of the files beside the database, written by `create` in
 * the same run right after the dump, through the same {@linkcode storedStream} as the SQL (the
 * same compression, the same age recipients, its own SHA-256), under `<id>.files.tar.gz` (`.zst`,
 * plain `.tar`; `.age` appended when encrypted). Uncommitted until the caller commits it with the
 * rest of the backup, the sidecar last.
 */
import type { Storage } from "../../storage/storage.ts";
import { type BackupMeta, ENCRYPTED_SUFFIX, partKey } from "../backup_file.ts";
import type { Compression } from "../compression.ts";
import { storedStream, type StoredStreamOptions } from "../stored_stream.ts";
import type { Phase } from "../watchdog.ts";
import type { CollectedFiles } from "./collect.ts";
import { writeFilesTar } from "./write_files.ts";

/** A part of a sidecar. */
export type BackupPart = NonNullable<BackupMeta["parts"]>[number];

/** A files part written and not yet visible. */
export interface PendingFilesPart {
  part: BackupPart;
  /** Its storage key. */
  key: string;
  /** Makes it visible under its key. */
  commit(): Promise<void>;
  /** Removes it (before or after `commit`). */
  abort(): Promise<void>;
}

/** Options of {@linkcode writeFilesPart}. */
export interface WriteFilesPartOptions extends StoredStreamOptions {
  /** Each file skipped or changed while read, in one line. */
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
}

/** `.tar.gz`, `.tar.zst` or `.tar`: the suffix of a files part before any `.age`. */
export function tarSuffix(format: Compression): string {
  return format === "gzip" ? ".tar.gz" : format === "zstd" ? ".tar.zst" : ".tar";
}

/** Writes the tar of `files` as the files part of backup `id` in `storage`, uncommitted. */
export async function writeFilesPart(
  storage: Storage,
  id: string,
  files: CollectedFiles,
  options: WriteFilesPartOptions,
): Promise<PendingFilesPart> {
  const suffix = tarSuffix(options.compression.format) +
    (options.recipients.length > 0 ? ENCRYPTED_SUFFIX : "");
  const key = partKey(id, "files", "files", suffix);
  const wait = <T>(phase: Phase | undefined, p: Promise<T>) =>
    options.watchdog && phase ? options.watchdog.dog.wait(phase, p) : p;
  const writer = await wait(options.watchdog?.storing, storage.create(key));
  const stream = storedStream(writer, key, options);
  try {
    const summary = await writeFilesTar(files, (chunk) => {
      options.watchdog?.dog.tick();
      return stream.write(chunk);
    }, {
      onWarning: options.onWarning,
      onEntry: () => options.watchdog?.dog.tick(),
      signal: options.signal,
    });
    const { file, sizes } = await stream.end();
    let committed = false;
    return {
      key,
      part: {
        kind: "files",
        name: "files",
        file,
        sizes,
        entries: summary.entries,
        root: files.root,
      },
      async commit() {
        await stream.commit();
        committed = true;
      },
      async abort() {
        if (committed) await storage.remove(key).catch(() => {});
        else await stream.abort();
      },
    };
  } catch (error) {
    await stream.abort();
    throw error;
  }
}
