import {
  type CommandDeps,
  locationFlags,
  serviceContext,
  settingsFor,
  singleDatabase,
} from "./deps.ts";
import { LockBusyError, messageOf, UsageError } from "../core/errors.ts";
import { runReporterFor } from "./notifications.ts";
import { parseRecipients } from "../core/crypto/age.ts";
import { withLock } from "../core/lock.ts";
import { audited, type ServiceContext } from "../core/context.ts";
import type { Config } from "../config/schema.ts";
import { parseDuration } from "../config/duration.ts";
import { parseLocation } from "../engines/postgres/postgres_engine.ts";
import {
  type BaseBackupManifest,
  listBaseBackups,
  takeBaseBackup,
} from "../pitr/pg_base_backup.ts";
import { archivedNames } from "../pitr/pg_wal_archive.ts";
import {
  type ArchivePrune,
  archiveToPrune,
  pruneArchive,
  sweepArchiveStore,
} from "../pitr/pg_pitr_retention.ts";
import { pitrLocation } from "./pitr_store.ts";
import { formatBytes, renderJson } from "./format.ts";
import { progressReporter } from "./progress.ts";

/** What `create --type base` takes. */
export interface CreateBaseArgs {
  database?: string;
  dir?: string;
  format: "text" | "json";
}

/** A base backup taken, and what retention removed after it. */
export interface BaseBackupRun {
  manifest: BaseBackupManifest;
  prune: ArchivePrune;
}

/**
 * One base backup of the PostgreSQL server `config` names into `<backupDir>/pitr/`, under the
 * point-in-time store's lock (two at once would only double the load): first what interrupted
 * runs left is removed, then the backup, then retention of base backups and the WAL they need
 * (`pitr.keepDays`). Audited (`base-backup`) in the backup directory's log. `create --type base`
 * and `auto`'s `pitr.baseBackupEvery` run it.
 */
export async function baseBackupRun(
  config: Config,
  deps: CommandDeps,
  context: ServiceContext,
  options: { onBytes?: (bytes: number) => void; warn: (message: string) => void },
): Promise<BaseBackupRun> {
  const database = singleDatabase(config);
  if (!/^postgres(ql)?:\/\//i.test(database)) {
    throw new UsageError(
      "Cannot create --type base: a base backup is of a PostgreSQL server (--database postgres://…); SQLite's point in time comes from replicate",
    );
  }
  const connection = parseLocation(database, deps.io.env);
  const { store, lockDirectory } = pitrLocation(config, deps);
  const recipients = config.encryption.recipients.length
    ? parseRecipients(config.encryption.recipients, "encryption.recipients")
    : [];
  return await audited(context, "base-backup", context.engine.redact(database), async () => {
    const run = await withLock(
      lockDirectory,
      { command: "create --type base", clock: deps.clock },
      async () => {
        const swept = await sweepArchiveStore(store, deps.clock.now());
        if (swept > 0) {
          options.warn(`removed ${swept} object(s) interrupted runs left in ${store.location}`);
        }
        const manifest = await takeBaseBackup(store, {
          connection: { ...connection, signal: deps.interrupts.abort },
          recipients,
          pgBin: config.pitr.pgBin,
          walWaitMs: parseDuration(config.pitr.walWait)!,
          now: () => deps.clock.now(),
          signal: deps.interrupts.abort,
          onBytes: options.onBytes,
        });
        const prune = archiveToPrune(
          await listBaseBackups(store),
          await archivedNames(store),
          deps.clock.now(),
          config.pitr.keepDays,
        );
        await pruneArchive(store, prune);
        return { manifest, prune };
      },
    );
    return {
      result: run,
      target: run.manifest.id,
      details: {
        bytes: run.manifest.stored.size,
        startWal: run.manifest.startWal,
        stopWal: run.manifest.stopWal,
        removedBaseBackups: run.prune.bases.length,
        removedWalFiles: run.prune.wal.length,
      },
    };
  });
}

/**
 * `create --type base`: {@linkcode baseBackupRun} with a dump's notifications (the start,
 * success and fail pings, the failure webhook and mail) and its summary on stdout.
 */
export async function runCreateBase(args: CreateBaseArgs, deps: CommandDeps): Promise<number> {
  const config = settingsFor(deps, locationFlags(args));
  const context = serviceContext(config, deps);
  const progress = progressReporter(deps.io, args.format === "text");
  const reporter = runReporterFor(config, context, deps);
  await reporter.started();
  const { manifest, prune } = await baseBackupRun(config, deps, context, {
    onBytes: progress.bytes,
    warn: (message) => deps.io.stderr(message[0].toUpperCase() + message.slice(1) + "\n"),
  }).catch(async (error) => {
    // a busy lock means another run is doing the work: it reports, this one stays quiet
    if (!(error instanceof LockBusyError)) await reporter.failed(messageOf(error));
    throw error;
  }).finally(progress.done);
  await reporter.succeeded(manifest.id);
  if (args.format === "json") {
    deps.io.stdout(renderJson({ ...manifest, removed: prune }));
    return 0;
  }
  deps.io.stdout(
    `Created base backup ${manifest.id} in ${pitrLocation(config, deps).location}\n` +
      `  WAL         ${manifest.startWal} … ${manifest.stopWal} (timeline ${manifest.timeline}, ${manifest.startLsn} to ${manifest.stopLsn})\n` +
      `  size        ${formatBytes(manifest.stored.raw)} tar, ${
        formatBytes(manifest.stored.size)
      } stored\n` +
      `  restorable  any moment after ${manifest.stoppedAt} the archive covers\n` +
      (prune.bases.length + prune.wal.length > 0
        ? `  removed     ${prune.bases.length} base backups and ${prune.wal.length} WAL files past pitr.keepDays (${config.pitr.keepDays})\n`
        : ""),
  );
  return 0;
}
