/**
 * What `status` says of a PostgreSQL WAL archive, as pure rules: a hole in the WAL after the
 * oldest base backup is critical (no restore can cross it), an archive without any base backup
 * restores nothing (warning), and a server whose `archive_command` fails more recently than it
 * succeeds is falling behind (warning: its WAL piles up in pg_wal until the disk fills).
 */
import type { HealthReason } from "../core/health.ts";
import type { WalGap } from "./pg_wal_names.ts";

/** The archive's figures (JSON `walArchive`). */
export interface ArchiveFigures {
  baseBackups: number;
  newestBaseBackup: string | null;
  walFiles: number;
  newestWal: string | null;
  newestWalPushedAt: string | null;
  newestWalAgeSeconds: number | null;
  gaps: WalGap[];
  /** The server's `pg_stat_archiver`, when it could be asked. */
  archiver?: ArchiverState;
}

/** The server's own record of its archiving (`pg_stat_archiver`). */
export interface ArchiverState {
  lastArchivedWal: string | null;
  lastArchivedAt: string | null;
  lastFailedWal: string | null;
  lastFailedAt: string | null;
  failedCount: number;
}

/** The reasons the figures give (rule `wal-archive`). */
export function archiveReasons(figures: ArchiveFigures): HealthReason[] {
  const reasons: HealthReason[] = [];
  for (const gap of figures.gaps) {
    reasons.push({
      level: "critical",
      rule: "wal-archive",
      message:
        `the WAL archive has a gap: ${gap.first}${
          gap.count > 1 ? ` to ${gap.last} (${gap.count} segments)` : ""
        } ` +
        "missing, so no restore reaches past it (take a new base backup: create --type base)",
    });
  }
  if (figures.baseBackups === 0 && figures.walFiles > 0) {
    reasons.push({
      level: "warning",
      rule: "wal-archive",
      message: "the WAL archive holds no base backup, so it restores nothing (create --type base)",
    });
  }
  const archiver = figures.archiver;
  if (
    archiver?.lastFailedAt &&
    (archiver.lastArchivedAt === null || archiver.lastFailedAt > archiver.lastArchivedAt)
  ) {
    reasons.push({
      level: "warning",
      rule: "wal-archive",
      message: `the server's archive_command fails: ${archiver.lastFailedWal} failed at ` +
        `${archiver.lastFailedAt}${
          archiver.lastArchivedAt
            ? `, the last success was at ${archiver.lastArchivedAt}`
            : ", and never succeeded"
        } (see the server's log)`,
    });
  }
  return reasons;
}

/** The figures as one `status` line. */
export function archiveLine(figures: ArchiveFigures): string {
  const age = figures.newestWalAgeSeconds === null ? "" : `, ${figures.newestWalAgeSeconds} s ago`;
  return `${figures.baseBackups} base backup${figures.baseBackups === 1 ? "" : "s"}` +
    (figures.newestBaseBackup ? ` (newest ${figures.newestBaseBackup})` : "") +
    `, ${figures.walFiles} WAL files, newest ${figures.newestWal ?? "none"}${age}` +
    (figures.gaps.length > 0
      ? `, ${figures.gaps.length} gap${figures.gaps.length === 1 ? "" : "s"}`
      : "");
}
