/**
 * Pins: a pinned backup is never deleted by a retention policy (a pre-migration backup kept
 * forever). The pin lives in the sidecar, rewritten atomically with a fresh self-checksum, so
 * there is no separate state to lose or to disagree with the store.
 */
import { type BackupMeta, metaKey, parseMeta } from "./backup_file.ts";
import { findBackup, readAll, writeMeta } from "./catalog.ts";
import { IntegrityError } from "./errors.ts";
import { audited, type ServiceContext } from "./context.ts";

/** Options of {@linkcode pinBackup}. */
export interface PinOptions {
  /** Why it is kept, shown by `list` and `cleanup`. Default none (an earlier reason stays). */
  reason?: string;
}

/** What `pin` / `unpin` did. */
export interface PinResult {
  id: string;
  pinned: boolean;
  /** Whether the sidecar changed (pinning a pinned backup without a new reason changes nothing). */
  changed: boolean;
  pinnedAt?: string;
  pinReason?: string;
}

/** Pins the backup `query` names (any unique part of an id). */
export async function pinBackup(
  context: ServiceContext,
  query: string,
  options: PinOptions = {},
): Promise<PinResult> {
  const meta = await readMeta(context, query, "pin");
  const reason = options.reason ?? meta.pinReason;
  if (meta.pinned && reason === meta.pinReason) return resultOf(meta, false);
  return await audited(context, "pin", meta.id, async () => {
    const pinned: BackupMeta = {
      ...meta,
      pinned: true,
      pinnedAt: meta.pinned && meta.pinnedAt ? meta.pinnedAt : context.clock.now().toISOString(),
      ...(reason ? { pinReason: reason } : {}),
    };
    await writeMeta(context.storage, pinned, true);
    return reported(resultOf(pinned, true));
  });
}

/** Removes the pin of the backup `query` names; retention may delete it from then on. */
export async function unpinBackup(context: ServiceContext, query: string): Promise<PinResult> {
  const meta = await readMeta(context, query, "unpin");
  if (!meta.pinned) return resultOf(meta, false);
  return await audited(context, "unpin", meta.id, async () => {
    const { pinned: _p, pinnedAt: _at, pinReason: _r, ...rest } = meta;
    await writeMeta(context.storage, rest, true);
    return reported(resultOf(rest, true));
  });
}

/** What the audit log records of a pin or unpin (only changes are recorded). */
function reported(result: PinResult) {
  return { result, ...(result.pinReason ? { details: { reason: result.pinReason } } : {}) };
}

async function readMeta(context: ServiceContext, query: string, verb: string) {
  const entry = await findBackup(context.storage, query);
  try {
    return parseMeta(await readAll(context.storage, metaKey(entry.id)), entry.id);
  } catch (error) {
    if (!(error instanceof IntegrityError)) throw error;
    throw new IntegrityError(
      `Cannot ${verb} backup "${entry.id}": ${
        error.message.replace(/^Backup "[^"]+" has /, "it has ")
      } (rewriting it would hide that)`,
      { cause: error },
    );
  }
}

function resultOf(meta: Omit<BackupMeta, "pinned"> & { pinned?: boolean }, changed: boolean) {
  return {
    id: meta.id,
    pinned: meta.pinned === true,
    changed,
    ...(meta.pinnedAt ? { pinnedAt: meta.pinnedAt } : {}),
    ...(meta.pinReason ? { pinReason: meta.pinReason } : {}),
  };
}
