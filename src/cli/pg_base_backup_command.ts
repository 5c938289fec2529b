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
import { parseDuration } from "../config/duration.ts";
import { parseLocation } from "../engines/postgres/postgres_engine.ts";
import { listBaseBackups, takeBaseBackup } from "../pitr/pg_base_backup.ts";
import { archivedNames } from "../pitr/pg_wal_archive.ts";
import { archiveToPrune, pruneArchive, sweepArchiveStore } from "../pitr/pg_pitr_retention.ts";
import { pitrLocation } from "./pitr_store.ts";
import { formatBytes, renderJson } from "./format.ts";
import { progressReporter } from "./progress.ts";

/** What `create --type base` takes. */
export interface CreateBaseArgs {
  database?: string;
  dir?: string;
  format: "text" | "json";
}

/**
 * `create --type base`: a physical base backup of the PostgreSQL server into
 * `<backupDir>/pitr/`, for `restore --at`; then retention of base backups and the WAL they need
 * (`pitr.keepDays`). Under the point-in-time store's lock (two base backups at once would only
 * double the load).
 */
export async function runCreateBase(args: CreateBaseArgs, deps: CommandDeps): Promise<number> {
  const config = settingsFor(deps, locationFlags(args));
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
  const progress = progressReporter(deps.io, args.format === "text");
  // the same start/success/fail pings and failure notifications as a dump's
  const reporter = runReporterFor(config, serviceContext(config, deps), deps);
  await reporter.started();
  const manifest = await withLock(
    lockDirectory,
    { command: "create --type base", clock: deps.clock },
    async () => {
      const swept = await sweepArchiveStore(store, deps.clock.now());
      if (swept > 0) {
        deps.io.stderr(`Removed ${swept} object(s) interrupted runs left in ${store.location}\n`);
      }
      const manifest = await takeBaseBackup(store, {
        connection: { ...connection, signal: deps.interrupts.abort },
        recipients,
        pgBin: config.pitr.pgBin,
        walWaitMs: parseDuration(config.pitr.walWait)!,
        now: () => deps.clock.now(),
        signal: deps.interrupts.abort,
        onBytes: progress.bytes,
      }).finally(progress.done);
      const prune = archiveToPrune(
        await listBaseBackups(store),
        await archivedNames(store),
        deps.clock.now(),
        config.pitr.keepDays,
      );
      await pruneArchive(store, prune);
      return { ...manifest, prune };
    },
  ).catch(async (error) => {
    // a busy lock means another run is doing the work: it reports, this one stays quiet
    if (!(error instanceof LockBusyError)) await reporter.failed(messageOf(error));
    throw error;
  });
  await reporter.succeeded(manifest.id);
  const { prune, ...shown } = manifest;
  if (args.format === "json") {
    deps.io.stdout(renderJson({ ...shown, removed: prune }));
    return 0;
  }
  deps.io.stdout(
    `Created base backup ${shown.id} in ${store.location}\n` +
      `  WAL         ${shown.startWal} … ${shown.stopWal} (timeline ${shown.timeline}, ${shown.startLsn} to ${shown.stopLsn})\n` +
      `  size        ${formatBytes(shown.stored.raw)} tar, ${
        formatBytes(shown.stored.size)
      } stored\n` +
      `  restorable  any moment after ${shown.stoppedAt} the archive covers\n` +
      (prune.bases.length + prune.wal.length > 0
        ? `  removed     ${prune.bases.length} base backups and ${prune.wal.length} WAL files past pitr.keepDays (${config.pitr.keepDays})\n`
        : ""),
  );
  return 0;
}
