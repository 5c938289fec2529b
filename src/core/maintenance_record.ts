/**
 * The last `maintain` of a database, read back from the audit log (where `maintain.ts` records
 * every run), so the integrity rule of `check` and `status` needs no state of its own and the
 * record travels with the store.
 */
import type { Storage } from "../storage/storage.ts";
import { type AuditEntry, readAudit } from "./audit.ts";

/** What the health rules need of the last maintenance run. */
export interface LastMaintenance {
  time: Date;
  /** `failed` when the run failed or its checks found corruption. */
  outcome: "ok" | "failed";
  /** `ok`, `failed` (corruption) or `skipped` (no check ran); absent when the run itself failed. */
  integrity?: "ok" | "failed" | "skipped";
  /** The run's one-line error. */
  error?: string;
}

/**
 * Pure: the newest `maintain` line for `database` (redacted, as lines record it) among `lines`,
 * in any order; `undefined` when it was never maintained.
 */
export function newestMaintenance(
  lines: readonly AuditEntry[],
  database: string,
): LastMaintenance | undefined {
  let newest: { entry: AuditEntry; time: number } | undefined;
  for (const entry of lines) {
    if (entry.action !== "maintain" || entry.target !== database) continue;
    const time = new Date(entry.time).getTime();
    if (Number.isNaN(time) || (newest && newest.time >= time)) continue;
    newest = { entry, time };
  }
  if (!newest) return undefined;
  const { entry } = newest;
  const integrity = entry.details?.integrity;
  return {
    time: new Date(newest.time),
    outcome: entry.outcome,
    ...(integrity === "ok" || integrity === "failed" || integrity === "skipped"
      ? { integrity }
      : {}),
    ...(entry.error ? { error: entry.error } : {}),
  };
}

/** The last maintenance of `database` recorded in `storage`'s audit log. */
export async function lastMaintenance(
  storage: Storage,
  database: string,
): Promise<LastMaintenance | undefined> {
  return newestMaintenance(await readAudit(storage, { actions: ["maintain"] }), database);
}
