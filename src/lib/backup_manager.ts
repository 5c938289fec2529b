/**
 * The library's front door: settings in, an object whose methods do what the commands do
 * (under the same lock, with the same sweep of leftovers, copies and notifications), returning
 * results instead of printing them.
 */
import { locked, serviceContext } from "../cli/deps.ts";
import { destinationsFor } from "../cli/destinations.ts";
import { runReporterFor } from "../cli/notifications.ts";
import type { RunReporter } from "../core/notify/run_reporter.ts";
import { databaseStatusOptions, healthPolicyOf } from "../config/health_policy.ts";
import type { BackupMeta } from "../core/backup_file.ts";
import { type CatalogEntry, listBackups } from "../core/catalog.ts";
import { cleanupStores, type StoreCleanupReport } from "../core/cleanup.ts";
import { type SleepingClock, systemClock } from "../core/clock.ts";
import { type Destination, syncDestination, syncErrors, type SyncReport } from "../core/copy.ts";
import { checkDatabase, createBackup, type CreateBackupOptions } from "../core/create.ts";
import { LockBusyError, messageOf } from "../core/errors.ts";
import type { EventListener } from "../core/events.ts";
import {
  planRestore,
  restoreBackup,
  type RestoreBackupOptions,
  type RestorePlan,
  type RestoreResult,
} from "../core/restore.ts";
import type { SchedulerContext } from "../core/scheduler.ts";
import { getStatus, type StatusReport } from "../core/status.ts";
import { verifyBackup, type VerifyOptions, type VerifyResult } from "../core/verify.ts";
import { fanOut, libraryDeps } from "./_deps.ts";
import { type Config, resolveSettings, type Settings, type SettingsOptions } from "./settings.ts";

/** Options of {@linkcode openBackupManager}. */
export interface OpenOptions extends SettingsOptions {
  /** Where "now" comes from and how the scheduler waits. Default the system clock. */
  clock?: SleepingClock;
  /**
   * Receives every event: audited actions (create, verify, delete…), warnings that did not fail
   * an operation, and the scheduler's cycles. The library prints nothing; this is its log. A
   * listener that throws is ignored. Default none.
   */
  onEvent?: EventListener;
}

/** Options of {@linkcode BackupManager.createBackup}. */
export type ManagerCreateOptions = Omit<CreateBackupOptions, "watchdog">;

/** Options of {@linkcode BackupManager.restoreBackup}. */
export type ManagerRestoreOptions = Omit<RestoreBackupOptions, "dryRun" | "checkData">;

/** Options of {@linkcode BackupManager.cleanup}. */
export interface ManagerCleanupOptions {
  /** Decide and report only; nothing is deleted and no lock is taken. Default `false`. */
  dryRun?: boolean;
}

/**
 * One database and its stores, as the settings describe them. Each method takes the run lock
 * where the matching command does, so an in-process call never collides with `auto`, cron or
 * the scheduler: a busy lock throws {@linkcode LockBusyError}.
 */
export interface BackupManager {
  /** The validated settings, defaults filled in. */
  readonly config: Config;
  /** The context the plain functions (`createBackup(context, …)`) take, for finer control. */
  readonly context: SchedulerContext;
  /** Further stores (`copies`) each new backup is copied to, each with its own retention. */
  readonly destinations: Destination[];
  /**
   * Backs up the database (as `create`): checks it exists, takes the lock, writes the backup and
   * its sidecar, copies it to each destination (a failed copy is a warning event, the backup is
   * good), and sends the configured pings and notifications.
   */
  createBackup(options?: ManagerCreateOptions): Promise<BackupMeta>;
  /** The backups in the primary store, newest first (as `list`); partial files never show. */
  listBackups(): Promise<CatalogEntry[]>;
  /** What {@linkcode BackupManager.restoreBackup} would do (as `restore --dry-run`). */
  planRestore(id: string, options?: ManagerRestoreOptions): Promise<RestorePlan>;
  /**
   * Restores a backup (as `restore`): checksum first, a safety backup of an existing target,
   * then all-or-nothing. Replacing an existing database needs `force: true` (there is no prompt).
   */
  restoreBackup(id: string, options?: ManagerRestoreOptions): Promise<RestoreResult>;
  /** Checks a backup (as `verify`); `ok` false with the failed checks, never a throw for damage. */
  verifyBackup(id: string, options?: Omit<VerifyOptions, "signal">): Promise<VerifyResult>;
  /** Applies the retention settings to the store and each destination (as `cleanup`). */
  cleanup(options?: ManagerCleanupOptions): Promise<StoreCleanupReport[]>;
  /** Figures and health of the store and the database (as `status`). */
  status(): Promise<StatusReport>;
}

/**
 * Opens the database and stores that `settings` describe (the keys of `backup-manager.json`,
 * README "Settings"). Nothing is read but what is given: pass `env` and `configPath` to read
 * settings as the command line does. Throws `UsageError` naming the setting on a mistake.
 *
 * @example
 * ```ts
 * const manager = openBackupManager({ database: "./data/app.db", backupDir: "./backups" });
 * const meta = await manager.createBackup({ description: "before the migration" });
 * ```
 */
export function openBackupManager(settings?: Settings, options: OpenOptions = {}): BackupManager {
  const config = resolveSettings(settings, options);
  const clock = options.clock ?? systemClock;
  const onEvent = fanOut(() => options.onEvent ? [options.onEvent] : []);
  const deps = libraryDeps({ clock, env: options.env ?? {}, cwd: options.cwd, onEvent });
  const context: SchedulerContext = {
    ...serviceContext(config, deps),
    clock,
    actor: "cli",
    onEvent,
  };
  const destinations = destinationsFor(config, deps);
  const stores = [context.storage, ...destinations.map((d) => d.storage)];
  const warn = (message: string) => onEvent({ type: "warning", time: clock.now(), message });
  const manager: BackupManager = {
    config,
    context,
    destinations,
    async createBackup(create = {}) {
      const reporter = runReporterFor(config, context, deps, warn);
      await reporter.started();
      const copies: SyncReport[] = [];
      let meta: BackupMeta;
      try {
        await checkDatabase(context, create.database); // before the lock: a typo touches nothing
        meta = await locked(context, "create", async () => {
          const created = await createBackup(context, create);
          for (const destination of destinations) {
            copies.push(
              await syncDestination(context, destination, {
                timeZone: config.timezone,
                signal: create.signal,
              }),
            );
          }
          return created;
        }, { stores });
      } catch (error) {
        // a busy lock means another run is doing the work: it reports, this one stays quiet
        if (!(error instanceof LockBusyError)) await reporter.failed(messageOf(error));
        throw error;
      }
      const failures = copies.flatMap(syncErrors);
      for (const failure of failures) warn(`${failure} (the next run tries again)`);
      if (failures.length) {
        await reporter.failed(`Backup ${meta.id} was created, but: ${failures.join("; ")}`);
      } else await reporter.succeeded(meta.id);
      return meta;
    },
    listBackups: () => listBackups(context.storage),
    planRestore: (id, restore = {}) => planRestore(context, id, { ...restore, checkData: true }),
    restoreBackup: (id, restore = {}) =>
      locked(context, "restore", () => restoreBackup(context, id, restore), {
        locations: [context.database, ...(restore.to === undefined ? [] : [restore.to])],
      }),
    verifyBackup: (id, verify = {}) => verifyBackup(context, id, verify),
    async cleanup(cleanupOptions = {}) {
      const run = () =>
        cleanupStores(context, config.retention, destinations, {
          timeZone: config.timezone,
          dryRun: cleanupOptions.dryRun,
        });
      return cleanupOptions.dryRun ? await run() : await locked(context, "cleanup", run, {
        sweep: false,
      });
    },
    status: () =>
      getStatus(context, {
        policy: healthPolicyOf(config.health),
        destinations: destinations.map((d) => d.storage),
        ...databaseStatusOptions(config.health),
      }),
  };
  REPORTERS.set(manager, (log) => runReporterFor(config, context, deps, log));
  return manager;
}

const REPORTERS = new WeakMap<BackupManager, (log: (message: string) => void) => RunReporter>();

/**
 * The pings and notifications the settings describe, for runs of `manager`'s database (the
 * scheduler's); problems go to `log`. `undefined` for a manager not made by
 * {@linkcode openBackupManager}.
 */
export function runReporterOf(
  manager: BackupManager,
  log: (message: string) => void,
): RunReporter | undefined {
  return REPORTERS.get(manager)?.(log);
}
