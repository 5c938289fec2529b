/**
 * Names of the files a local store writes before committing them: `<key>.bm-<host>.<pid>.<startMs>.partial`,
 * the owner written as in `src/core/scratch_names.ts`. A run killed mid-write leaves one behind;
 * its name tells the next run whose it was, so a dead owner's partial is removed at once instead
 * of after an age limit. Partials of older versions (`<key>.partial`) carry no owner.
 */
import type { ScratchOwner } from "../core/scratch_names.ts";

/** Suffix of files being written; they are renamed to their key on commit. */
export const PARTIAL_SUFFIX = ".partial";

/** The partial file name of `key` written by `owner`. */
export function partialName(key: string, owner: ScratchOwner): string {
  return `${key}.bm-${owner.host}.${owner.pid}.${owner.startedAt.getTime()}${PARTIAL_SUFFIX}`;
}

const PATTERN = /^(.+)\.bm-([A-Za-z0-9_-]+)\.(\d{1,10})\.(\d{1,15})\.partial$/;

/**
 * The key and owner of a partial file name; `owner` is absent for the old `<key>.partial`, and
 * the result `undefined` for a name that is no partial at all.
 */
export function parsePartialName(
  name: string,
): { key: string; owner?: ScratchOwner } | undefined {
  const match = PATTERN.exec(name);
  if (match) {
    return {
      key: match[1],
      owner: { host: match[2], pid: Number(match[3]), startedAt: new Date(Number(match[4])) },
    };
  }
  if (!name.endsWith(PARTIAL_SUFFIX) || name === PARTIAL_SUFFIX) return undefined;
  return { key: name.slice(0, -PARTIAL_SUFFIX.length) };
}
