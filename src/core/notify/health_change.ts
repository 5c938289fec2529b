/**
 * Health-change notifications: tell people when the verdict moves (healthy → warning, critical →
 * healthy…), not every time it is computed. The last level people were told is kept in a tiny
 * state file in the backup store, written through the `Storage` (atomic, and the same on every
 * storage), rather than in the audit log: the audit log records actions on backups by an actor,
 * while a health level is an observation, and finding the last one would mean reading the whole
 * log on every check.
 */
import type { Storage } from "../../storage/storage.ts";
import { StorageNotFoundError } from "../../storage/storage.ts";
import { readAll } from "../catalog.ts";
import { BackupManagerError, messageOf } from "../errors.ts";
import type { HealthAssessment, HealthLevel } from "../health.ts";
import { healthEvent } from "./event.ts";
import type { Notifier } from "./notifier.ts";

/** The state file's key in the store; not a backup, so catalogs and cleanup ignore it. */
export const HEALTH_STATE_KEY = "health-state.json";

/** What the state file holds. */
export interface HealthState {
  /** The level the last delivered health notification announced. */
  level: HealthLevel;
  /** ISO time of that notification. */
  since: string;
}

const LEVELS: readonly string[] = ["healthy", "warning", "critical"];

/** The remembered state; `undefined` when there is none or it cannot be read. */
export async function readHealthState(storage: Storage): Promise<HealthState | undefined> {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(await readAll(storage, HEALTH_STATE_KEY)));
    if (LEVELS.includes(parsed?.level) && typeof parsed.since === "string") {
      return { level: parsed.level, since: parsed.since };
    }
    return undefined;
  } catch (error) {
    if (error instanceof StorageNotFoundError || error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/** Options of {@linkcode notifyHealthChange}. */
export interface HealthChangeOptions {
  /** The database as messages may show it (redacted). */
  database: string;
  time: Date;
  /** Receives one line if the state cannot be read or written. */
  log: (message: string) => void;
}

/**
 * Notifies when `assessment.level` differs from the last level announced (no state counts as
 * healthy, so a first check that finds trouble says so). The new level is remembered only when at
 * least one channel delivered it, so a change nobody heard about is announced again next time.
 * Never throws; does nothing unless health notifications are on.
 */
export async function notifyHealthChange(
  storage: Storage,
  notifier: Notifier,
  assessment: Pick<HealthAssessment, "level" | "reasons">,
  options: HealthChangeOptions,
): Promise<boolean> {
  if (!notifier.wants("health")) return false;
  try {
    const previous = (await readHealthState(storage))?.level ?? "healthy";
    if (previous === assessment.level) return false;
    const event = healthEvent(options.time, options.database, previous, assessment);
    const deliveries = await notifier.notify(event);
    if (!deliveries.some((d) => d.ok)) return false;
    const state: HealthState = { level: assessment.level, since: options.time.toISOString() };
    const writer = await storage.create(HEALTH_STATE_KEY, { overwrite: true });
    try {
      await writer.write(new TextEncoder().encode(JSON.stringify(state) + "\n"));
      await writer.commit();
    } catch (error) {
      await writer.abort();
      throw error;
    }
    return true;
  } catch (error) {
    if (!(error instanceof BackupManagerError)) throw error;
    options.log(`Cannot keep track of health notifications: ${messageOf(error)}`);
    return false;
  }
}
