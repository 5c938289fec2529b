/**
 * backup-manager as a library, for Deno applications that back up their own database
 * in-process: the same engine room as the command line (dumps to compressed plain SQL with a
 * `.meta.json` sidecar, all-or-nothing restores, verify, retention, copies, the `auto`
 * scheduler), returning results instead of printing them. Nothing here exits the process or
 * writes to the console: warnings and progress are events for your `onEvent`.
 *
 * Two ways in:
 *
 * - {@linkcode openBackupManager} (settings in, methods bound) and {@linkcode createScheduler}:
 *   each method takes the run lock as its command does, so it never collides with `auto`, cron
 *   or the API;
 * - the plain functions ({@linkcode createBackup}, {@linkcode restoreBackup}, …) that take a
 *   {@linkcode ServiceContext} (a manager's `context`), for those who want the control: they take
 *   no lock of their own.
 *
 * The dashboard is not part of the library (it reads uPlot from this project's `node_modules`):
 * run `serve` from the command line for it.
 *
 * @example Scheduled backups inside an application
 * ```ts
 * import { createScheduler } from "file:///srv/backup-manager/mod.ts";
 *
 * const scheduler = createScheduler({
 *   settings: { database: "./data/app.db", backupDir: "./backups", retention: { keepDays: 14 } },
 *   onEvent: (event) => console.log(event.type),
 * });
 * scheduler.updateConfig({
 *   enabled: true,
 *   type: "interval",
 *   interval: 24 * 60 * 60 * 1000,
 *   backupType: "full",
 *   description: "Daily automatic backup",
 * });
 * scheduler.start();
 * Deno.addSignalListener("SIGTERM", async () => {
 *   await scheduler.stop(); // the backup in progress finishes first
 *   Deno.exit(0);
 * });
 * ```
 *
 * @example One backup, checked, then restored elsewhere
 * ```ts
 * import { openBackupManager } from "file:///srv/backup-manager/mod.ts";
 *
 * const manager = openBackupManager({ database: "./data/app.db" });
 * const meta = await manager.createBackup({ description: "before the migration" });
 * const check = await manager.verifyBackup(meta.id);
 * if (check.ok) await manager.restoreBackup(meta.id, { to: "./data/copy.db", force: true });
 * ```
 *
 * @module
 */

export {
  type BackupManager,
  type ManagerCleanupOptions,
  type ManagerCreateOptions,
  type ManagerRestoreOptions,
  openBackupManager,
  type OpenOptions,
} from "./src/lib/backup_manager.ts";
export {
  type BackupScheduler,
  createScheduler,
  type CreateSchedulerOptions,
  type SchedulerConfig,
  type SchedulerEventName,
  type SchedulerEventOf,
  type SchedulerStatus,
} from "./src/lib/scheduler.ts";
export {
  type Config,
  resolveSettings,
  type Settings,
  type SettingsOptions,
} from "./src/lib/settings.ts";

// the plain functions, on a context (a manager's `context`); they take no lock of their own
export { createBackup, type CreateBackupOptions } from "./src/core/create.ts";
export { type CatalogEntry, findBackup, isGood, listBackups } from "./src/core/catalog.ts";
export {
  planRestore,
  restoreBackup,
  type RestoreBackupOptions,
  type RestorePlan,
  type RestoreResult,
} from "./src/core/restore.ts";
export { verifyBackup, type VerifyOptions, type VerifyResult } from "./src/core/verify.ts";
export {
  cleanup,
  type CleanupOptions,
  type CleanupReport,
  cleanupStores,
  type ScratchDecision,
  type StoreCleanupReport,
} from "./src/core/cleanup.ts";
export { getStatus as status, type StatusOptions, type StatusReport } from "./src/core/status.ts";
export {
  type CycleOptions,
  type CycleResult,
  runCycle,
  runScheduler,
  type SchedulerContext,
  type SchedulerOptions,
  type SchedulerResult,
} from "./src/core/scheduler.ts";
export type { Schedule } from "./src/core/schedule.ts";
export type { KeepRules, RetentionDecision, RetentionPolicy } from "./src/core/retention.ts";
export type {
  HealthFigures,
  HealthLevel,
  HealthPolicy,
  HealthReason,
  HealthRule,
} from "./src/core/health.ts";
export type { EncryptionSettings, ServiceContext } from "./src/core/context.ts";
export type { Destination } from "./src/core/copy.ts";
export type { CompressionSpec } from "./src/core/compression.ts";
export type { SigningSettings } from "./src/core/signing.ts";
export type { Actor, ApiClient, AuditEntry } from "./src/core/audit.ts";
export type { VersionCheck } from "./src/core/version_gate.ts";
export { type Clock, type SleepingClock, systemClock } from "./src/core/clock.ts";
export type { DumpProgress, Engine } from "./src/engines/engine.ts";
export type { Storage } from "./src/storage/storage.ts";

// the sidecar (`<id>.meta.json`) and backup ids
export {
  BACKUP_TYPES,
  type BackupMeta,
  BackupMetaSchema,
  type BackupType,
  parseBackupId,
} from "./src/core/backup_file.ts";

// events (`onEvent`) and typed errors, each with the exit code the command line uses for it
export type * from "./src/core/events.ts";
export * from "./src/core/errors.ts";
