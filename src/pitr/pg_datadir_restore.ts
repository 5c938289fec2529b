/**
 * Laying down a PostgreSQL data directory for point-in-time recovery: the base backup's tar,
 * checked against its SHA-256, extracted under a scratch name beside the target and renamed into
 * place only when whole, with `recovery.signal` and the recovery settings PostgreSQL reads at
 * its next start. A target that exists and is not empty is refused: this never writes over a
 * data directory. A run killed part-way leaves a scratch directory that the next one removes.
 */
import { basename, dirname, join } from "node:path";
import type { Storage } from "../storage/storage.ts";
import { RefusedError } from "../core/errors.ts";
import { readTar } from "../core/files/tar_read.ts";
import { unsafeName } from "../core/files/restore_plan.ts";
import {
  currentOwner,
  localFileLiveness,
  parseScratchFileName,
  scratchFileName,
  scratchStaleness,
} from "../core/scratch_names.ts";
import { readStored } from "./sqlite_pitr_store.ts";
import type { PgRestorePlan } from "./pg_pitr_plan.ts";

/** Options of {@linkcode layDownDatadir}. */
export interface LayDownOptions {
  identities?: string[];
  /** The shell command PostgreSQL runs to fetch a WAL file (`… wal-fetch %f %p`). */
  restoreCommand: string;
  /** `off`: the restored server does not archive (a test restore beside the original). */
  archiveMode?: "off" | "preserve";
  now: Date;
  signal?: AbortSignal;
  onBytes?: (bytes: number) => void;
}

/** What was written. */
export interface LaidDown {
  dir: string;
  /** Entries of the base backup written (files, directories, links). */
  entries: number;
  /** The lines appended to `postgresql.auto.conf`. */
  settings: string[];
}

/** Writes the data directory `dir` for `plan`; see the module comment. */
export async function layDownDatadir(
  store: Storage,
  plan: PgRestorePlan,
  dir: string,
  options: LayDownOptions,
): Promise<LaidDown> {
  const existing = await Deno.stat(dir).catch(() => undefined);
  if (existing) {
    const empty = existing.isDirectory && (await Array.fromAsync(Deno.readDir(dir))).length === 0;
    if (!empty) {
      throw new RefusedError(
        `Cannot restore into "${dir}": it exists and is not an empty directory (restore --to-datadir writes a new data directory; remove it or name another)`,
      );
    }
  }
  const parent = dirname(dir);
  await Deno.mkdir(parent, { recursive: true });
  await removeStaleScratch(parent, basename(dir), options.now);
  const scratch = join(
    parent,
    scratchFileName(basename(dir), "restore", currentOwner(options.now)),
  );
  await Deno.mkdir(scratch, { mode: 0o700 });
  try {
    const entries = await extract(store, plan, scratch, options);
    await Deno.mkdir(join(scratch, "pg_wal", "archive_status"), { recursive: true, mode: 0o700 });
    await Deno.remove(join(scratch, "standby.signal")).catch(() => {});
    await Deno.remove(join(scratch, "postmaster.pid")).catch(() => {});
    await Deno.writeFile(join(scratch, "recovery.signal"), new Uint8Array(), { mode: 0o600 });
    const settings = [
      ...recoverySettings(plan, options.restoreCommand, options.now),
      ...(options.archiveMode === "off" ? ["archive_mode = off"] : []),
    ];
    const auto = join(scratch, "postgresql.auto.conf");
    const before = await Deno.readTextFile(auto).catch(() => "");
    await Deno.writeTextFile(
      auto,
      (before === "" || before.endsWith("\n") ? before : before + "\n") + settings.join("\n") +
        "\n",
      { mode: 0o600 },
    );
    await Deno.chmod(scratch, 0o700);
    await syncFilesystem(scratch); // every file on disk before the name says it is whole
    if (existing) await Deno.remove(dir);
    await Deno.rename(scratch, dir);
    await syncFilesystem(dir);
    return { dir, entries, settings };
  } catch (error) {
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
    throw error;
  }
}

/** The `postgresql.auto.conf` lines for `plan` (later lines win over earlier ones). */
export function recoverySettings(plan: PgRestorePlan, restoreCommand: string, now: Date): string[] {
  const quote = (value: string) => `'${value.replace(/'/g, "''")}'`;
  return [
    `# backup-manager restore, ${now.toISOString()}: base backup ${plan.base.id}`,
    `restore_command = ${quote(restoreCommand)}`,
    `recovery_target_timeline = 'latest'`,
    ...(plan.recovery.targetTime
      ? [
        `recovery_target_time = ${
          quote(plan.recovery.targetTime.replace("T", " ").replace("Z", "+00"))
        }`,
      ]
      : []),
    ...(plan.recovery.targetXid ? [`recovery_target_xid = ${quote(plan.recovery.targetXid)}`] : []),
    ...(plan.recovery.targetTime || plan.recovery.targetXid
      ? [`recovery_target_action = 'promote'`]
      : []),
  ];
}

/** Extracts the base backup's tar into `root`; the number of entries. */
async function extract(
  store: Storage,
  plan: PgRestorePlan,
  root: string,
  options: LayDownOptions,
): Promise<number> {
  let bytes = 0;
  const source = (async function* () {
    for await (const chunk of readStored(store, plan.base.stored, options.identities ?? [])) {
      if (options.signal?.aborted) throw options.signal.reason;
      bytes += chunk.byteLength;
      options.onBytes?.(bytes);
      yield chunk;
    }
  })();
  const directories: { path: string; mode: number }[] = [];
  let entries = 0;
  for await (const { entry, body } of readTar(source)) {
    const name = entry.name.replace(/^(\.\/)+/, ""); // pg_basebackup writes pg_wal as ./pg_wal
    if (name === "" || name === ".") continue;
    const problem = unsafeName(name);
    if (problem) {
      throw new RefusedError(
        `Cannot restore base backup ${plan.base.id}: entry "${entry.name}": ${problem}`,
      );
    }
    const path = join(root, name);
    entries++;
    if (entry.kind === "directory") {
      await Deno.mkdir(path, { recursive: true, mode: 0o700 });
      directories.push({ path, mode: entry.mode });
    } else if (entry.kind === "file") {
      await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
      const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
      try {
        for await (const chunk of body) {
          let written = 0;
          while (written < chunk.byteLength) written += await file.write(chunk.subarray(written));
        }
      } finally {
        file.close();
      }
      await Deno.chmod(path, entry.mode & 0o777);
    } else if (entry.kind === "symlink" && entry.linkname !== undefined) {
      // pg_tblspc/<oid> points at a tablespace outside the data directory, as on the server
      await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await Deno.symlink(entry.linkname, path);
    } else {
      throw new RefusedError(
        `Cannot restore base backup ${plan.base.id}: entry "${entry.name}" is a ${entry.kind}, which a data directory does not hold`,
      );
    }
  }
  for (const { path, mode } of directories.reverse()) await Deno.chmod(path, mode & 0o777);
  return entries;
}

/** Removes scratch directories of earlier restores into `target` whose runs are gone. */
async function removeStaleScratch(parent: string, target: string, now: Date): Promise<void> {
  const liveness = localFileLiveness(now);
  for await (const entry of Deno.readDir(parent)) {
    const scratch = parseScratchFileName(entry.name);
    if (!scratch || scratch.target !== target || scratch.kind !== "restore") continue;
    if (scratchStaleness(scratch.owner, liveness) === undefined) continue;
    await Deno.remove(join(parent, entry.name), { recursive: true }).catch(() => {});
  }
}

/** `sync -f`: the filesystem holding `path` flushed (one syncfs, not an fsync per file). */
async function syncFilesystem(path: string): Promise<void> {
  const result = await new Deno.Command("sync", {
    args: ["-f", path],
    stdout: "null",
    stderr: "piped",
  })
    .output();
  if (!result.success) {
    throw new Error(`sync -f ${path} failed: ${new TextDecoder().decode(result.stderr).trim()}`);
  }
}
