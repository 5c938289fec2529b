import type { Engine } from "../engines/engine.ts";
import type { Storage } from "../storage/storage.ts";
import type { Clock } from "./clock.ts";
import { messageOf } from "./errors.ts";
import { type Actor, type ApiClient, type AuditEntry, isRefusal, recordAction } from "./audit.ts";
import type { EventListener } from "./events.ts";
import type { CompressionSpec } from "./compression.ts";
import type { SigningSettings } from "./signing.ts";
import type { HookSettings } from "./hooks.ts";

export { type Clock, systemClock } from "./clock.ts";

/** What every service function works on. */
export interface ServiceContext {
  storage: Storage;
  engine: Engine;
  /** The database location (path or URL) this context backs up. */
  database: string;
  clock: Clock;
  /** Who acts, for the audit log. Default `cli`. */
  actor?: Actor;
  /** The API caller (token name and address), for the audit log. */
  client?: ApiClient;
  /** Receives every audited action, and warnings that did not fail the action. */
  onEvent?: EventListener;
  /** Public-key encryption of new backups, and where the key to read them is. */
  encryption?: EncryptionSettings;
  /**
   * The key that signs new backups' sidecars, and the keys a backup must be signed by to be
   * restored, verified or copied (`signing.ts`). Default: unsigned, nothing required.
   */
  signing?: SigningSettings;
  /**
   * Directory of the run lock. Default `storage.location`; an object store has no files, so its
   * lock lives on this machine (see `lockDirectoryFor`).
   */
  lockDirectory?: string;
  /**
   * How new backups are compressed (the `compression` setting), unless an operation's options
   * say otherwise. Default gzip level 6.
   */
  compression?: CompressionSpec;
  /**
   * At most this many threads or connections a dump or a load uses (the `jobs` setting), unless
   * an operation's options say otherwise. Default: the number of cores.
   */
  jobs?: number;
  /**
   * Milliseconds a create, restore, copy or verify may go without progress before the stall
   * watchdog abandons it (the `stallTimeout` setting; `watchdog.ts`). `0` disables it. Default
   * 10 minutes.
   */
  stallTimeoutMs?: number;
  /**
   * Commands run before, after and on the failure of operations (`hooks.ts`). Default: none.
   */
  hooks?: HookSettings;
}

/** The default of {@linkcode ServiceContext.stallTimeoutMs}: 10 minutes. */
export const DEFAULT_STALL_TIMEOUT_MS = 10 * 60_000;

/** Which keys new backups are encrypted for, and which identity file decrypts them. */
export interface EncryptionSettings {
  /** age recipients (`age1…`); empty: new backups are not encrypted. */
  recipients: string[];
  /** An age identity file (`age-keygen` output) for restores and restore tests. */
  identityFile?: string;
}

/**
 * Runs an action and records it in the audit log: success with what `fn` reports, failure with
 * its one-line message. Refusals are not recorded ({@linkcode isRefusal}).
 */
export async function audited<T>(
  context: ServiceContext,
  action: AuditEntry["action"],
  target: string,
  fn: () => Promise<{ result: T; target?: string; details?: Record<string, unknown> }>,
): Promise<T> {
  let done;
  try {
    done = await fn();
  } catch (error) {
    if (!isRefusal(error)) {
      await recordAction(
        context,
        { action, target, outcome: "failed", error: messageOf(error) },
        error,
      );
    }
    throw error;
  }
  await recordAction(context, {
    action,
    target: done.target ?? target,
    outcome: "ok",
    ...(done.details ? { details: done.details } : {}),
  });
  return done.result;
}
