/**
 * The audit log: one JSON line per action on the backups (who, what, which, outcome) in
 * `audit.jsonl` beside them, so "who deleted last week's backup?" has an answer that travels with
 * the store. It is append-only, and readers tolerate a torn last line left by a crash.
 */
import { z } from "npm:zod@4.6.7";
import type { Storage } from "../storage/storage.ts";
import { StorageNotFoundError } from "../storage/storage.ts";
import { LocalStorage } from "../storage/local.ts";
import type { EventListener } from "./events.ts";
import {
  AmbiguousIdError,
  BackupNotFoundError,
  DatabaseNotFoundError,
  messageOf,
  RefusedError,
  StorageError,
  UsageError,
} from "./errors.ts";

/** The audit log's key in the store; catalogs skip it (it is not a backup). */
export const AUDIT_KEY = "audit.jsonl";

/** Who acted: a person at the command line, the `auto` scheduler, or the API. */
export type Actor = "cli" | "scheduler" | "api";

/**
 * What was done. `run` is one scheduler cycle (create, verify, cleanup); `copy` one backup copied
 * to or from another store; `sweep` one leftover of an interrupted run removed; `hook` one run of a
 * hook command (`hooks.ts`), its target the hook's name; `maintain` one maintenance run of the
 * database (`maintain.ts`), its target the redacted database, its details the figures.
 */
export type AuditAction =
  | "create"
  | "restore"
  | "verify"
  | "delete"
  | "pin"
  | "unpin"
  | "run"
  | "copy"
  | "sweep"
  | "hook"
  | "maintain"
  | "base-backup";

const AuditEntrySchema = z.object({
  time: z.string(),
  actor: z.enum(["cli", "scheduler", "api"]),
  action: z.enum([
    "create",
    "restore",
    "verify",
    "delete",
    "pin",
    "unpin",
    "run",
    "copy",
    "sweep",
    "hook",
    "maintain",
    "base-backup",
  ]),
  target: z.string(),
  outcome: z.enum(["ok", "failed"]),
  error: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
  client: z.object({ token: z.string(), address: z.string() }).optional(),
});

/** One line of the audit log. Never holds a secret: targets are ids or redacted locations. */
export interface AuditEntry {
  /** ISO 8601, UTC. */
  time: string;
  actor: Actor;
  action: AuditAction;
  /** A backup id, or the redacted database location. */
  target: string;
  outcome: "ok" | "failed";
  /** One line, for a failed outcome. */
  error?: string;
  details?: Record<string, unknown>;
  /** For API actions: the name of the token used (never the token) and the client's address. */
  client?: ApiClient;
}

/** Who called the API: a token's configured name and the address the request came from. */
export interface ApiClient {
  token: string;
  address: string;
}

/** Appends one entry (one `write` of one line, so concurrent writers never interleave). */
export async function appendAudit(storage: Storage, entry: AuditEntry): Promise<void> {
  const line = JSON.stringify({ ...entry, error: entry.error?.replace(/\s*\n\s*/g, " ") });
  await storage.append(AUDIT_KEY, new TextEncoder().encode(line + "\n"));
}

/** Options of {@linkcode readAudit}. */
export interface ReadAuditOptions {
  /** At most this many entries (the newest). Default: all. */
  limit?: number;
  /** Only these actions. Default: all. */
  actions?: readonly AuditAction[];
}

/**
 * Audit entries, newest first. A store without a log has none. Lines that do not parse (a torn
 * last line from a crashed writer, a hand edit) are skipped rather than failing the reader:
 * health checks must still work on a log that a power cut damaged.
 */
export async function readAudit(
  store: Storage | string,
  options: ReadAuditOptions = {},
): Promise<AuditEntry[]> {
  const storage = typeof store === "string" ? new LocalStorage(store) : store;
  let stream: ReadableStream<Uint8Array>;
  try {
    stream = await storage.read(AUDIT_KEY);
  } catch (error) {
    if (error instanceof StorageNotFoundError) return [];
    throw error;
  }
  const limit = options.limit ?? Infinity;
  const wanted = options.actions ? new Set<string>(options.actions) : undefined;
  const newest: AuditEntry[] = [];
  const take = (line: string) => {
    const entry = parseLine(line);
    if (!entry || (wanted && !wanted.has(entry.action))) return;
    newest.push(entry);
    if (newest.length > limit) newest.shift();
  };
  let rest = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const lines = (rest + text).split("\n");
    rest = lines.pop()!;
    lines.forEach(take);
  }
  take(rest);
  return newest.reverse();
}

function parseLine(line: string): AuditEntry | undefined {
  if (line.trim() === "") return undefined;
  try {
    const parsed = AuditEntrySchema.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data as AuditEntry : undefined;
  } catch {
    return undefined; // torn or edited line
  }
}

/** What {@linkcode recordAction} needs: where the log is, who acts, who listens. */
export interface AuditContext {
  storage: Storage;
  clock: { now(): Date };
  /** Default `cli`. */
  actor?: Actor;
  /** The API caller, recorded with each entry. */
  client?: ApiClient;
  onEvent?: EventListener;
}

/**
 * Writes one audit entry and tells the listener. A log that cannot be written never fails the
 * action it records (the backup exists either way): the listener gets a warning instead, unless
 * `failure`, the error a failed action ended with, was itself the store's.
 */
export async function recordAction(
  context: AuditContext,
  entry: Omit<AuditEntry, "time" | "actor">,
  failure?: unknown,
): Promise<void> {
  const time = context.clock.now();
  const full: AuditEntry = {
    time: time.toISOString(),
    actor: context.actor ?? "cli",
    ...entry,
    ...(context.client ? { client: context.client } : {}),
  };
  try {
    await appendAudit(context.storage, full);
  } catch (error) {
    // the action itself failed on the store (unreachable, wrong key) and says so: a second line
    // saying that the log in that store cannot be written either adds nothing
    if (!(failure instanceof StorageError && error instanceof StorageError)) {
      context.onEvent?.({
        type: "warning",
        time,
        message: `Cannot write the audit log: ${messageOf(error)}`,
      });
    }
  }
  context.onEvent?.({ type: "action", time, entry: full });
}

/**
 * Whether a failure was a refusal before anything was touched (bad id, missing database, needs
 * --force, lock busy). Those are not audited: bad input leaves the store exactly as it was.
 */
export function isRefusal(error: unknown): boolean {
  return error instanceof UsageError || error instanceof BackupNotFoundError ||
    error instanceof AmbiguousIdError || error instanceof DatabaseNotFoundError ||
    error instanceof RefusedError;
}
