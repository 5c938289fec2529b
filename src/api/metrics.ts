/**
 * `GET /metrics`: the store's backups, runs and destinations in the Prometheus text format, from
 * the same facts `status` judges (one listing of the store per scrape). A fresh registry per
 * scrape holds only what is true now: a backup type that disappeared leaves no stale series.
 * Process metrics (heap, CPU) are left out: they describe this process, not the backups.
 *
 * Timestamps of things that never happened are 0, so `time() - metric > threshold` alerts fire
 * for a store that never had a good (or verified) backup, instead of the series going missing.
 */
import client from "prom-client";
import type { ServiceContext } from "../core/context.ts";
import type { Storage } from "../storage/storage.ts";
import type { HealthPolicy } from "../core/health.ts";
import { isGood, listBackups } from "../core/catalog.ts";
import { sizeOf } from "../core/cleanup.ts";
import { getStatus } from "../core/status.ts";
import { TOOL } from "../core/backup_file.ts";

/** Options of {@linkcode renderMetrics}. */
export interface MetricsOptions {
  /** Copy destinations, each reported with its own labels. Default none. */
  destinations?: Storage[];
  /** Health thresholds (the verdict is a metric too). Default the built-in ones. */
  policy?: HealthPolicy;
}

const TYPES = ["full", "schema", "pre-restore"] as const;
const STATES = ["ok", "verified", "damaged"] as const;
const LEVELS = { healthy: 0, warning: 1, critical: 2 } as const;

/** The Prometheus text of the store `context` backs up into. */
export async function renderMetrics(
  context: ServiceContext,
  options: MetricsOptions = {},
): Promise<{ contentType: string; body: string }> {
  const backups = await listBackups(context.storage);
  const status = await getStatus(context, {
    backups,
    policy: options.policy,
    destinations: options.destinations,
  });
  const registry = new client.Registry();
  const gauge = (name: string, help: string, labelNames: string[] = []) =>
    new client.Gauge({ name: `backup_manager_${name}`, help, labelNames, registers: [registry] });
  const seconds = (iso: string | null | undefined) => iso ? Date.parse(iso) / 1000 : 0;

  gauge("info", "Version of backup-manager and the engine of the database it backs up", [
    "version",
    "engine",
  ]).set({ version: TOOL.version, engine: context.engine.kind }, 1);

  const count = gauge("backups", "Backups in the store, by type and state", ["type", "state"]);
  const bytes = gauge("backup_bytes", "Bytes on disk of the backups (data and sidecar)", [
    "type",
    "state",
  ]);
  const newestGood = gauge(
    "last_good_backup_timestamp_seconds",
    "When the newest good backup of the type was taken (0: none)",
    ["type"],
  );
  const newestVerified = gauge(
    "last_verified_backup_timestamp_seconds",
    "When the newest backup of the type whose last verification passed was taken (0: none)",
    ["type"],
  );
  for (const type of TYPES) {
    const ofType = backups.filter((b) => b.type === type);
    for (const state of STATES) {
      const inState = ofType.filter((b) => stateOf(b) === state);
      count.set({ type, state }, inState.length);
      bytes.set({ type, state }, inState.reduce((sum, b) => sum + sizeOf(b), 0));
    }
    const good = ofType.find(isGood);
    newestGood.set({ type }, good ? good.createdAt.getTime() / 1000 : 0);
    const verified = ofType.find((b) => stateOf(b) === "verified");
    newestVerified.set({ type }, verified ? verified.createdAt.getTime() / 1000 : 0);
  }
  gauge(
    "last_backup_timestamp_seconds",
    "When the newest good full or schema backup was taken (0: none), the RPO's clock",
  ).set(seconds(status.lastGoodBackupDate));
  gauge(
    "last_verified_timestamp_seconds",
    "When the newest verified backup was taken (0: none)",
  ).set(seconds(status.lastVerifiedBackupDate));

  gauge("last_run_timestamp_seconds", "When the last run (a cycle or a create) ended (0: none)")
    .set(seconds(status.lastRunDate));
  gauge("last_run_success", "1 when the last run succeeded, 0 when it failed or none is recorded")
    .set(status.lastRunOutcome === "ok" ? 1 : 0);
  gauge("last_run_duration_seconds", "How long the last run took (0: unknown)")
    .set((status.lastRunDurationMs ?? 0) / 1000);
  gauge("consecutive_failures", "Failed runs since the last successful one")
    .set(status.consecutiveFailures);

  gauge("health", "The health verdict: 0 healthy, 1 warning, 2 critical")
    .set(LEVELS[status.systemHealth]);
  const reasons = gauge("health_reasons", "Findings of the health rules, by rule and level", [
    "rule",
    "level",
  ]);
  for (const reason of status.reasons) reasons.inc({ rule: reason.rule, level: reason.level });
  gauge("incomplete_files", "Files left by interrupted runs in the store")
    .set(status.incompleteFiles);
  if (status.freeBytes !== null) {
    gauge("store_free_bytes", "Free space where backups are written").set(status.freeBytes);
  }
  gauge("database_up", "1 when the database answers, 0 when it does not")
    .set(status.databaseReachable ? 1 : 0);

  if (status.destinations.length) {
    const labels = ["destination"];
    const up = gauge("destination_up", "1 when the destination could be listed", labels);
    const copies = gauge("destination_good_copies", "Good copies in the destination", labels);
    const newest = gauge(
      "destination_last_copy_timestamp_seconds",
      "When the newest good copy in the destination was taken (0: none)",
      labels,
    );
    const lag = gauge(
      "destination_lagging",
      "1 when the destination lacks the newest good backup of the store",
      labels,
    );
    const incomplete = gauge(
      "destination_incomplete_files",
      "Uploads or files left incomplete in the destination",
      labels,
    );
    for (const d of status.destinations) {
      const destination = { destination: d.location };
      up.set(destination, d.error ? 0 : 1);
      copies.set(destination, d.goodCopies);
      newest.set(destination, seconds(d.newestGoodCopyDate));
      lag.set(destination, d.missingNewest ? 1 : 0);
      incomplete.set(destination, d.incompleteFiles);
    }
  }
  return { contentType: registry.contentType, body: await registry.metrics() };
}

function stateOf(entry: Parameters<typeof isGood>[0]): (typeof STATES)[number] {
  if (!isGood(entry)) return "damaged";
  return entry.meta?.verification?.outcome === "passed" ? "verified" : "ok";
}
