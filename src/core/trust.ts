/**
 * The checks that come before anything else when a backup is used: that it is this engine's, and
 * that `signing.trusted` vouches for it. They read only the sidecar, so a refused backup costs
 * no download, and nothing (no SQL, no safety backup, no prompt) happens before them.
 */
import type { BackupMeta } from "./backup_file.ts";
import type { ServiceContext } from "./context.ts";
import { engineMismatchMessage } from "./corruption.ts";
import { IntegrityError } from "./errors.ts";
import { checkSignature, SignatureError, type TrustedKey } from "./signing.ts";

/**
 * Refuses (exit 5, one line) a backup `context` must not `action`: with `restoring`, one of the
 * other engine; always, one that the trusted keys do not vouch for. Returns the key id that
 * signed it, when signatures are required.
 */
export function admitBackup(
  context: Pick<ServiceContext, "engine" | "signing">,
  meta: BackupMeta,
  action: string,
  restoring = true,
): string | undefined {
  if (restoring && meta.engine !== context.engine.kind) {
    throw new IntegrityError(
      engineMismatchMessage(action, meta.id, meta.engine, context.engine.kind),
    );
  }
  return checkSignature(meta, context.signing?.trusted ?? [], action);
}

/**
 * Why `trusted` does not vouch for a backup, for listings (`list`, `status`): the refusal
 * `restore` would give, or `undefined` when it would pass (or no keys are trusted, or the sidecar
 * is unreadable, which the listing reports itself).
 */
export function trustProblem(
  meta: BackupMeta | undefined,
  trusted: TrustedKey[] | undefined,
): string | undefined {
  if (!meta || !trusted?.length) return undefined;
  try {
    checkSignature(meta, trusted, "use");
    return undefined;
  } catch (error) {
    if (error instanceof SignatureError) return error.message;
    throw error;
  }
}
