/**
 * `GET /metrics`: the store's backups, runs, health and copy destinations in the Prometheus text
 * format, computed from the core (`getStatus`, the catalog, the audit log) at each scrape, so a
 * monitor reads the same verdict `status` prints.
 *
 * Decisions:
 * - A fresh registry per scrape (never prom-client's global default one): every value is this
 *   scrape's fact, a series disappears as soon as its subject does (a destination no longer
 *   configured), and two concurrent scrapes cannot mix their values in shared gauges. Building
 *   about twenty gauges costs microseconds next to listing a store.
 * - No default process metrics (`collectDefaultMetrics`): they describe the Deno process, not the
 *   backups, start process-wide event-loop monitors, and a process or node exporter does that job.
 * - "None" is 0 for timestamps: with no good backup,
 *   `backup_manager_last_good_backup_timestamp_seconds` is 0 (the epoch, i.e. infinitely old), so
 *   `time() - backup_manager_last_good_backup_timestamp_seconds > 86400` fires; an absent series
 *   would make that rule silent. It is unlabelled and counts every type, as `status` does. The
 *   per-type timestamps are emitted for every known type, 0 included, for the same reason (alert
 *   on the type you take, e.g. `{type="full"}`). A value that would claim something false is left
 *   out instead: the last run's success before any run, the duration of a run whose audit line
 *   has none, free bytes the store cannot tell, a destination's figures when it cannot be read
 *   (its `backup_manager_destination_up` is 0).
 * - Counts and bytes are emitted for every known `type` × `state` (zeros included), so `rate` and
 *   `== 0` rules see a series from the first scrape; label values are only the known ones.
 * - A store that cannot be read is not a failed scrape: the answer says
 *   `backup_manager_store_up 0` and a critical health level, whether the database answers, and
 *   omits what only the store can tell. Alert on it (and on Prometheus' own `up`).
 * - One scrape lists the store once and reads each sidecar once: the catalog made here for the
 *   counts is handed to `getStatus`, and the store is seen through a per-scrape cache of its
 *   listings, because finding leftovers lists it again (S3: one LIST of objects, one of uploads).
 *   Each destination is listed once the same way. `getStatus` reads the audit log once for runs.
 * - Labels never hold a secret: `destination` and `store` are storage locations (which hold no
 *   credentials); the database is shown only as `context.engine.redact` gives it.
 */
import client from "npm:prom-client@15.1.3";
import { BACKUP_TYPES, type BackupType, TOOL } from "../core/backup_file.ts";
import { type CatalogEntry, isGood, listBackups } from "../core/catalog.ts";
import { sizeOf } from "../core/cleanup.ts";
import type { ServiceContext } from "../core/context.ts";
import { BackupManagerError, StorageError } from "../core/errors.ts";
import { type HealthPolicy, severity } from "../core/health.ts";
import { getStatus, type StatusReport } from "../core/status.ts";
import type { AtomicWriter, CreateOptions, Storage, StorageEntry } from "../storage/storage.ts";
import { type BackupView, backupView } from "./backup_view.ts";

/** Options of {@linkcode renderMetrics}. */
export interface MetricsOptions {
  /** Further stores backups are copied to, each reported by its `location`. Default none. */
  destinations?: Storage[];
  /** Thresholds of the health verdict. Default `DEFAULT_HEALTH_POLICY`. */
  policy?: HealthPolicy;
}

const STATES: readonly BackupView["state"][] = ["ok", "verified", "damaged"];

/**
 * Prometheus text of the store's backups (counts, bytes, newest good and verified), the last run,
 * the health verdict, the database and every copy destination, as of this call. See the module
 * comment for what "none" looks like and why.
 */
export async function renderMetrics(
  context: ServiceContext,
  options: MetricsOptions = {},
): Promise<{ contentType: string; body: string }> {
  const registry = new client.Registry();
  const storage = new ScrapeCache(context.storage);
  const scoped: ServiceContext = { ...context, storage };
  const gauges = new Gauges(registry);
  gauges.info(context);
  let backups: CatalogEntry[];
  let status: StatusReport;
  try {
    backups = await listBackups(storage);
    status = await getStatus(scoped, {
      backups,
      ...(options.policy ? { policy: options.policy } : {}),
      destinations: (options.destinations ?? []).map((d) => new ScrapeCache(d)),
    });
  } catch (error) {
    if (!(error instanceof StorageError)) throw error;
    gauges.set("store_up", "Whether the backup store could be read (1) or not (0)", 0);
    gauges.health(2);
    gauges.database(await databaseReachable(context));
    return { contentType: registry.contentType, body: await registry.metrics() };
  }
  gauges.set("store_up", "Whether the backup store could be read (1) or not (0)", 1);
  gauges.backups(backups, status);
  gauges.runs(status);
  gauges.health(severity(status.systemHealth), status);
  gauges.set(
    "incomplete_files",
    "Files left in the store by interrupted runs (removed by cleanup)",
    status.incompleteFiles,
  );
  gauges.set(
    "leftovers",
    "Leftovers of interrupted runs: incomplete files in the store and stale scratch beside the " +
      "database or on its server (removed by the next run or cleanup)",
    status.incompleteFiles + status.scratchLeftovers,
  );
  gauges.set(
    "leftover_bytes",
    "Bytes the leftovers of interrupted runs take",
    status.incompleteBytes + status.scratchBytes,
  );
  if (status.freeBytes !== null) {
    gauges.set(
      "store_free_bytes",
      "Free bytes where new backups go (absent when the store cannot tell)",
      status.freeBytes,
    );
  }
  if (status.databaseReachable !== null) gauges.database(status.databaseReachable);
  gauges.destinations(status);
  return { contentType: registry.contentType, body: await registry.metrics() };
}

/** Whether the database answers, as `getStatus` judges it. */
async function databaseReachable(context: ServiceContext): Promise<boolean> {
  try {
    return await context.engine.exists(context.database);
  } catch (error) {
    if (!(error instanceof BackupManagerError)) throw error;
    return false;
  }
}

/** Seconds since the epoch of an ISO date, or 0 for none. */
function seconds(iso: string | Date | null | undefined): number {
  if (iso === null || iso === undefined) return 0;
  return new Date(iso).getTime() / 1000;
}

/** The gauges of one scrape, each registered in that scrape's registry as it is set. */
class Gauges {
  readonly #registry: client.Registry;

  constructor(registry: client.Registry) {
    this.#registry = registry;
  }

  /** A gauge `backup_manager_<name>` with these labels. */
  gauge<T extends string>(name: string, help: string, labelNames: readonly T[] = []) {
    return new client.Gauge<T>({
      name: `backup_manager_${name}`,
      help,
      labelNames,
      registers: [this.#registry],
    });
  }

  /** An unlabelled gauge with one value. */
  set(name: string, help: string, value: number): void {
    this.gauge(name, help).set(value);
  }

  info(context: ServiceContext): void {
    this.gauge(
      "info",
      "Always 1: the version of backup-manager, its database engine, the database (without " +
        "secrets) and the store it backs up to",
      ["version", "engine", "database", "store"],
    ).set({
      version: TOOL.version,
      engine: context.engine.kind,
      database: context.engine.redact(context.database),
      store: context.storage.location,
    }, 1);
  }

  backups(backups: CatalogEntry[], status: StatusReport): void {
    const count = this.gauge(
      "backups",
      "Backups in the store by type and state (ok: passes its checks; verified: its last " +
        "verification passed; damaged: fails a check or its last verification)",
      ["type", "state"],
    );
    const bytes = this.gauge(
      "backup_bytes",
      "Bytes the backups take in the store (data file and sidecar) by type and state",
      ["type", "state"],
    );
    const counts = new Map<string, { count: number; bytes: number }>();
    const key = (type: string, state: string) => `${type}\0${state}`;
    for (const type of BACKUP_TYPES) {
      for (const state of STATES) counts.set(key(type, state), { count: 0, bytes: 0 });
    }
    const newestGood = new Map<BackupType, number>();
    const newestVerified = new Map<BackupType, number>();
    for (const backup of backups) { // newest first
      const { state } = backupView(backup);
      const figures = counts.get(key(backup.type, state))!;
      figures.count++;
      figures.bytes += sizeOf(backup);
      if (!isGood(backup)) continue;
      const at = seconds(backup.createdAt);
      if (!newestGood.has(backup.type)) newestGood.set(backup.type, at);
      if (state === "verified" && !newestVerified.has(backup.type)) {
        newestVerified.set(backup.type, at);
      }
    }
    for (const type of BACKUP_TYPES) {
      for (const state of STATES) {
        const figures = counts.get(key(type, state))!;
        count.set({ type, state }, figures.count);
        bytes.set({ type, state }, figures.bytes);
      }
    }
    this.set(
      "last_good_backup_timestamp_seconds",
      "Creation time of the newest good backup of any type, in seconds since the epoch " +
        "(0 when there is none, so an age rule fires)",
      seconds(status.lastGoodBackupDate),
    );
    const goodByType = this.gauge(
      "last_good_backup_by_type_timestamp_seconds",
      "Creation time of the newest good backup of each type, in seconds since the epoch " +
        "(0 when there is none)",
      ["type"],
    );
    this.set(
      "last_verified_backup_timestamp_seconds",
      "Creation time of the newest good backup whose verification passed, in seconds since the " +
        "epoch (0 when none has been verified)",
      seconds(status.lastVerifiedBackupDate),
    );
    const verifiedByType = this.gauge(
      "last_verified_backup_by_type_timestamp_seconds",
      "Creation time of the newest verified good backup of each type, in seconds since the " +
        "epoch (0 when none has been verified)",
      ["type"],
    );
    for (const type of BACKUP_TYPES) {
      goodByType.set({ type }, newestGood.get(type) ?? 0);
      verifiedByType.set({ type }, newestVerified.get(type) ?? 0);
    }
  }

  /** The newest run (a scheduler cycle, or a `create` from the command line or the API). */
  runs(status: StatusReport): void {
    this.set(
      "last_run_timestamp_seconds",
      "When the newest run (scheduler cycle, or create from the command line or the API) ended, " +
        "in seconds since the epoch (0 when none is recorded)",
      seconds(status.lastRunDate),
    );
    if (status.lastRunOutcome !== null) {
      this.set(
        "last_run_success",
        "Whether the newest run succeeded (1) or failed (0); absent before the first run",
        status.lastRunOutcome === "ok" ? 1 : 0,
      );
    }
    if (status.lastRunDurationMs !== null) {
      this.set(
        "last_run_duration_seconds",
        "How long the newest run took, in seconds (absent when its audit line does not say)",
        status.lastRunDurationMs / 1000,
      );
    }
    this.set(
      "consecutive_failed_runs",
      "Failed runs since the last successful one",
      status.consecutiveFailures,
    );
  }

  /** The verdict as a number, and (from a status) how many reasons each rule raised. */
  health(level: number, status?: StatusReport): void {
    this.set(
      "health_level",
      "Health of the backups as status judges it: 0 healthy, 1 warning, 2 critical",
      level,
    );
    if (!status) return;
    const reasons = this.gauge(
      "health_reasons",
      "Reasons behind the health level, by rule and level (only rules that raised one)",
      ["rule", "level"],
    );
    const counts = new Map<string, { rule: string; level: string; n: number }>();
    for (const reason of status.reasons) {
      const key = `${reason.rule}\0${reason.level}`;
      const entry = counts.get(key) ?? { rule: reason.rule, level: reason.level, n: 0 };
      entry.n++;
      counts.set(key, entry);
    }
    for (const { rule, level, n } of counts.values()) reasons.set({ rule, level }, n);
  }

  database(reachable: boolean): void {
    this.set(
      "database_reachable",
      "Whether the database to back up exists and answers (1) or not (0)",
      reachable ? 1 : 0,
    );
  }

  destinations(status: StatusReport): void {
    if (status.destinations.length === 0) return;
    const labels = ["destination"] as const;
    const up = this.gauge(
      "destination_up",
      "Whether the copy destination could be listed (1) or not (0); its other figures are " +
        "absent when it could not",
      labels,
    );
    const copies = this.gauge(
      "destination_good_copies",
      "Good backups at the copy destination",
      labels,
    );
    const newest = this.gauge(
      "destination_last_good_copy_timestamp_seconds",
      "Creation time of the newest good copy at the destination, in seconds since the epoch " +
        "(0 when it holds none)",
      labels,
    );
    const lagging = this.gauge(
      "destination_lagging",
      "1 when the destination lacks the store's newest good full or schema backup, else 0",
      labels,
    );
    const incomplete = this.gauge(
      "destination_incomplete_files",
      "Incomplete uploads left at the destination by interrupted copies",
      labels,
    );
    for (const d of status.destinations) {
      const destination = { destination: d.location };
      up.set(destination, d.error === null ? 1 : 0);
      if (d.error !== null) continue;
      copies.set(destination, d.goodCopies);
      newest.set(destination, seconds(d.newestGoodCopyDate));
      lagging.set(destination, d.missingNewest === null ? 0 : 1);
      incomplete.set(destination, d.incompleteFiles);
    }
  }
}

/**
 * One scrape's view of a store: its listings are fetched once however often the core asks
 * (catalog, then leftovers); everything else goes straight to the store.
 */
class ScrapeCache implements Storage {
  readonly location: string;
  readonly #storage: Storage;
  #list?: Promise<StorageEntry[]>;
  #incomplete?: Promise<StorageEntry[]>;

  constructor(storage: Storage) {
    this.#storage = storage;
    this.location = storage.location;
  }

  list(): Promise<StorageEntry[]> {
    return this.#list ??= this.#storage.list();
  }

  listIncomplete(): Promise<StorageEntry[]> {
    return this.#incomplete ??= this.#storage.listIncomplete();
  }

  read(key: string): Promise<ReadableStream<Uint8Array>> {
    return this.#storage.read(key);
  }

  stat(key: string): Promise<StorageEntry> {
    return this.#storage.stat(key);
  }

  create(key: string, options?: CreateOptions): Promise<AtomicWriter> {
    return this.#storage.create(key, options);
  }

  append(key: string, bytes: Uint8Array): Promise<void> {
    return this.#storage.append(key, bytes);
  }

  remove(key: string): Promise<void> {
    return this.#storage.remove(key);
  }

  freeBytes(): Promise<number | undefined> {
    return this.#storage.freeBytes();
  }
}
