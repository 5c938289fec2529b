/**
 * Health rules for the further stores backups are copied to: a pure function, like the rest of
 * `health.ts`, so a destination that lags, is unreachable or holds nothing is one table-driven
 * test away from the verdict a monitor sees.
 */
import { formatAge } from "./units.ts";

/** What `status` learns about one destination from its own listing. */
export interface DestinationFacts {
  /** Where it is, without credentials. */
  location: string;
  /** Creation time of the newest good copy there. */
  newestGoodAt?: Date;
  /** Good backups there. */
  goodCopies: number;
  /** The primary store's newest good backup (full or schema) that the destination lacks. */
  missingNewest?: string;
  /** Incomplete writes (S3: multipart uploads never completed). */
  incompleteFiles: number;
  /** Set when the destination could not be listed. */
  error?: string;
}

/** A destination as `status` prints it. */
export interface DestinationFigures {
  location: string;
  goodCopies: number;
  newestGoodCopyDate: string | null;
  newestGoodCopyAgeMs: number | null;
  missingNewest: string | null;
  incompleteFiles: number;
  error: string | null;
}

/** One finding about a destination. */
export interface DestinationReason {
  level: "warning" | "critical";
  message: string;
}

/** Figures and reasons for every destination at `now`, against the RPO. */
export function assessDestinations(
  destinations: DestinationFacts[],
  rpoMs: number,
  now: Date,
): { figures: DestinationFigures[]; reasons: DestinationReason[] } {
  const reasons: DestinationReason[] = [];
  const figures = destinations.map((d) => {
    const age = d.newestGoodAt ? Math.max(0, now.getTime() - d.newestGoodAt.getTime()) : null;
    const where = `copy destination "${d.location}"`;
    if (d.error) reasons.push({ level: "warning", message: `${where} cannot be read: ${d.error}` });
    else if (d.goodCopies === 0) {
      reasons.push({ level: "warning", message: `${where} holds no good copy yet` });
    } else if (age !== null && age > rpoMs) {
      reasons.push({
        level: "warning",
        message: `${where}: the newest copy is ${formatAge(age)} old, past the RPO (limit ${
          formatAge(rpoMs)
        })`,
      });
    }
    if (!d.error && d.missingNewest && d.goodCopies > 0) {
      reasons.push({
        level: "warning",
        message: `${where} lags: the newest backup "${d.missingNewest}" is not copied yet`,
      });
    }
    if (d.incompleteFiles > 0) {
      reasons.push({
        level: "warning",
        message:
          `${where} has ${d.incompleteFiles} incomplete upload(s) from interrupted runs (run cleanup)`,
      });
    }
    return {
      location: d.location,
      goodCopies: d.goodCopies,
      newestGoodCopyDate: d.newestGoodAt?.toISOString() ?? null,
      newestGoodCopyAgeMs: age,
      missingNewest: d.missingNewest ?? null,
      incompleteFiles: d.incompleteFiles,
      error: d.error ?? null,
    };
  });
  return { figures, reasons };
}
