/**
 * Owners the target server refuses for a reason of its own: an event trigger (and, on
 * PostgreSQL 15, a subscription) must be owned by a superuser, yet a source can hold one owned by
 * a role that lost superuser after it got the object, a state the server would never let anyone
 * create. `pg_dump | psql` prints the error and goes on; failing the whole restore over it would
 * be worse still. So such an owner statement runs on its own (inside a savepoint in the
 * one-transaction restore) and, when the server refuses it for lack of privilege, the object
 * stays owned by the restoring role and the restore completes with one warning naming the
 * statement, where it is in the script, and why. Any other error (a missing role) fails the
 * restore as before.
 */
import type postgres from "npm:postgres@3.4.9";
import { messageOf } from "../../core/errors.ts";
import { OWNER_MARKER } from "./_script.ts";
import type { StatementPlace } from "./_script_reader.ts";
import {
  type BatchOrigin,
  byteToCharIndex,
  type Runner,
  runStatements,
  ScriptError,
} from "./_load_steps.ts";

const IDENT = String.raw`(?:"(?:[^"]|"")*"|[^\s."(;]+)`;
const GUARDED = new RegExp(
  String.raw`^${escape(OWNER_MARKER)}ALTER\s+(EVENT\s+TRIGGER|SUBSCRIPTION)\s+(${IDENT})\s+` +
    String.raw`OWNER\s+TO\s+(${IDENT})\s*;\s*$`,
);
const HINT = /ALTER (?:EVENT TRIGGER|SUBSCRIPTION) /;
const encoder = new TextEncoder();

/** An owner statement whose new owner the server may require to be a superuser. */
export interface GuardedOwner {
  kind: "event trigger" | "subscription";
  /** The object's name and the role, as written (quoted where needed). */
  name: string;
  role: string;
}

/** The object and role of `statement` when it is such an owner statement. */
export function guardedOwner(statement: string): GuardedOwner | undefined {
  const match = GUARDED.exec(statement.trim());
  if (!match) return undefined;
  const kind = /^EVENT/.test(match[1]) ? "event trigger" : "subscription";
  return { kind, name: match[2], role: match[3] };
}

/** A run of a batch: plain statements, or one guarded owner statement alone. */
export interface BatchPart {
  sql: string;
  /** The places of the part's statements, offsets from the part's own start. */
  places?: StatementPlace[];
  owner?: GuardedOwner;
}

/**
 * Cuts the guarded owner statements out of a batch (split at its statements' places), keeping
 * the statements around them batched. A batch without one comes back whole.
 */
export function splitBatch(text: string, places: readonly StatementPlace[] = []): BatchPart[] {
  if (!HINT.test(text) || places.length === 0) return [{ sql: text, places: [...places] }];
  const parts: BatchPart[] = [];
  let run: { start: number; places: StatementPlace[] } | undefined;
  const flush = (end: number) => {
    if (!run) return;
    const sql = text.slice(byteToCharIndex(text, run.start), byteToCharIndex(text, end));
    parts.push({ sql, places: run.places });
    run = undefined;
  };
  const total = encoder.encode(text).length;
  places.forEach((place, i) => {
    const end = places[i + 1]?.offset ?? total;
    const sql = text.slice(byteToCharIndex(text, place.offset), byteToCharIndex(text, end));
    const owner = guardedOwner(sql);
    if (owner) {
      flush(place.offset);
      parts.push({ sql, places: [{ ...place, offset: 0 }], owner });
      return;
    }
    run ??= { start: place.offset, places: [] };
    run.places.push({ ...place, offset: place.offset - run.start });
  });
  flush(total);
  return parts;
}

/** Options of {@linkcode runWithOwnerFallback}. */
export interface OwnerFallbackOptions extends BatchOrigin {
  /** Whether `runner` is inside a transaction (a refused statement is undone by a savepoint). */
  inTransaction?: boolean;
}

/**
 * Runs a batch as {@linkcode runStatements} does, except that a guarded owner statement the
 * server refuses for lack of privilege (SQLSTATE 42501) is left out; returns one warning for each.
 */
export async function runWithOwnerFallback(
  runner: Runner,
  text: string,
  options: OwnerFallbackOptions = {},
): Promise<string[]> {
  const warnings: string[] = [];
  for (const part of splitBatch(text, options.places)) {
    const origin = { places: part.places, sniffer: options.sniffer };
    if (!part.owner) {
      await runStatements(runner, part.sql, origin);
      continue;
    }
    try {
      // In a transaction, postgres.js fails the whole of it for any error of its own queries:
      // a savepoint scope keeps the refused statement's error (and its undoing) to itself.
      if (options.inTransaction) {
        await (runner as postgres.TransactionSql).savepoint((sp) =>
          runStatements(sp, part.sql, origin)
        );
      } else await runStatements(runner, part.sql, origin);
    } catch (error) {
      const original = error instanceof ScriptError ? error.original : error;
      if ((original as { code?: string })?.code !== "42501") throw error;
      const [me] = await runner.unsafe<{ name: string }[]>("SELECT current_user AS name");
      warnings.push(ownerWarning(part, original, me?.name ?? "the restoring role"));
    }
  }
  return warnings;
}

/** One line: what stayed as it was, the statement and its place, the server's reason. */
export function ownerWarning(part: BatchPart, error: unknown, restorer: string): string {
  const owner = part.owner!;
  const place = part.places?.[0];
  const where = place ? ` (statement ${place.number}, line ${place.line} of the script)` : "";
  const statement = part.sql.trim().slice(OWNER_MARKER.length);
  const hint = oneLine((error as { hint?: string })?.hint ?? "").replace(/\.$/, "");
  return `Kept ${owner.kind} ${owner.name} owned by "${restorer}": PostgreSQL refused "${statement}"${where}: ${
    oneLine(messageOf(error))
  } (${hint ? `${hint}; ` : ""}make ${owner.role} a superuser, then run that statement)`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
