/**
 * A full disk or an exhausted quota while writing to a store is the store's failure, not the
 * database's: these words and the store's exit code (7) follow it wherever the write happened
 * (a dump's sink, a restore's safety backup, a copy).
 */

/** `errno` codes of "the store has no room". */
const SPACE_CODES = new Set(["ENOSPC", "EDQUOT", "EFBIG"]);

/** S3 error names of "the store takes no more": a per-object limit or a quota (Ceph: 403). */
const SPACE_NAMES = new Set(["EntityTooLarge", "QuotaExceeded", "InsufficientStorage"]);

const SPACE_MESSAGE = /no space left on device|disk quota exceeded|file too large/i;

/** Whether `error` (or a cause of it) says the store is out of space. */
export function isOutOfSpace(error: unknown, depth = 0): boolean {
  if (depth > 5 || typeof error !== "object" || error === null) return false;
  const { code, name, message, cause } = error as Record<string, unknown>;
  if (typeof code === "string" && SPACE_CODES.has(code)) return true;
  if (typeof name === "string" && SPACE_NAMES.has(name)) return true;
  if (typeof message === "string" && SPACE_MESSAGE.test(message)) return true;
  return isOutOfSpace(cause, depth + 1);
}

/** What follows the system's words in a message: what to do about it. */
export const OUT_OF_SPACE_HINT = "free space there, or delete old backups with cleanup";

/** The state of an out-of-space `error` in plain words, for "Cannot write "…": <state>". */
export function outOfSpaceState(error: unknown): string {
  const text = describeChain(error);
  const what = /EDQUOT|quota/i.test(text)
    ? "the quota is exhausted"
    : /EFBIG|too ?large/i.test(text)
    ? "the object is larger than the store accepts"
    : "no space left on the device";
  return `${what} (${OUT_OF_SPACE_HINT})`;
}

function describeChain(error: unknown, depth = 0): string {
  if (depth > 5 || typeof error !== "object" || error === null) return "";
  const { code, name, message, cause } = error as Record<string, unknown>;
  return [code, name, message].filter((v) => typeof v === "string").join(" ") + " " +
    describeChain(cause, depth + 1);
}
