/**
 * The check a restore makes before its result replaces anything: the restored tables and their
 * row counts against the sidecar's. A backup whose SQL was replaced and its sidecar re-sealed
 * to match would otherwise restore "successfully" into something else.
 */
import type { ExpectedContent } from "./engine.ts";
import { IntegrityError } from "../core/errors.ts";

/** Options of {@linkcode restoredDifference}. */
export interface RestoredDifferenceOptions {
  /**
   * The restored counts name only the tables that got rows (PostgreSQL counts its COPY blocks):
   * a table of the sidecar absent from them has 0 rows, and a missing empty table goes unseen.
   * Default `false`: the counts name every restored table.
   */
  onlyLoaded?: boolean;
}

/**
 * The first difference between what was restored (`restored`: table name to rows) and the
 * sidecar's `expected` tables, as one line; undefined when they agree. Sidecar order first,
 * then tables the sidecar lacks in name order.
 */
export function restoredDifference(
  expected: ExpectedContent,
  restored: ReadonlyMap<string, number>,
  options: RestoredDifferenceOptions = {},
): string | undefined {
  const listed = new Set<string>();
  for (const table of expected.tables) {
    listed.add(table.name);
    const rows = restored.get(table.name) ?? (options.onlyLoaded ? 0 : undefined);
    if (rows === undefined) {
      return `table "${table.name}" of the backup's sidecar is not in the restored database`;
    }
    if (rows !== table.rows) {
      return `restored table "${table.name}" has ${count(rows)} rows, the backup's sidecar says ${
        count(table.rows)
      }`;
    }
  }
  const extra = [...restored.keys()].filter((name) => !listed.has(name)).sort();
  if (extra.length > 0) return `restored table "${extra[0]}" is not in the backup's sidecar`;
  return undefined;
}

/** Throws the IntegrityError of {@linkcode restoredDifference}, saying nothing was replaced. */
export function checkRestored(
  expected: ExpectedContent | undefined,
  restored: ReadonlyMap<string, number>,
  options: RestoredDifferenceOptions & { undone?: string } = {},
): void {
  if (expected === undefined || expected.compare === false) return;
  const difference = restoredDifference(expected, restored, options);
  if (difference === undefined) return;
  throw new IntegrityError(
    `Cannot restore: ${difference} (the SQL is not what the sidecar describes; ${
      options.undone ?? "nothing was replaced"
    })`,
  );
}

function count(n: number): string {
  return n.toLocaleString("en-US");
}
