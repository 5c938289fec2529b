import { type CommandDeps, locationFlags, settingsFor, singleDatabase } from "./deps.ts";
import { UsageError } from "../core/errors.ts";
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
  return await withLock(
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
      if (args.format === "json") {
        deps.io.stdout(renderJson({ ...manifest, removed: prune }));
      } else {
        deps.io.stdout(
          `Created base backup ${manifest.id} in ${store.location}\n` +
            `  WAL         ${manifest.startWal} … ${manifest.stopWal} (timeline ${manifest.timeline}, ${manifest.startLsn} to ${manifest.stopLsn})\n` +
            `  size        ${formatBytes(manifest.stored.raw)} tar, ${
              formatBytes(manifest.stored.size)
            } stored\n` +
            `  restorable  any moment after ${manifest.stoppedAt} the archive covers\n` +
            (prune.bases.length + prune.wal.length > 0
              ? `  removed     ${prune.bases.length} base backups and ${prune.wal.length} WAL files past pitr.keepDays (${config.pitr.keepDays})\n`
              : ""),
        );
      }
      return 0;
    },
  );
}
