/**
 * Durations in settings and flags: `90s`, `15m`, `6h`, `7d`, `2w`, or several parts such as
 * `1h30m`. One parser for every setting, so `schedule.every`, `health.rpo` and friends all accept
 * the same spelling.
 */

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const WHOLE = /^(?:\d+(?:ms|s|m|h|d|w))+$/;
const PART = /(\d+)(ms|s|m|h|d|w)/g;

/** What a duration may look like, for error messages. */
export const DURATION_HINT = 'a duration like "90s", "15m", "6h", "7d" or "1h30m"';

/**
 * Milliseconds in `text`, or `undefined` when it is not a duration (a bare number has no unit and
 * is refused: "6" could mean seconds, minutes or hours).
 */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!WHOLE.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(PART)) total += Number(amount) * UNIT_MS[unit];
  return Number.isSafeInteger(total) ? total : undefined;
}

/** `5400000` -> `"1h30m"`: the shortest text {@linkcode parseDuration} reads back as `ms`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  let rest = ms;
  let text = "";
  for (const unit of ["w", "d", "h", "m", "s", "ms"]) {
    const size = UNIT_MS[unit];
    if (rest >= size) {
      text += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return text;
}

/** What a timeout that can be switched off may look like, for error messages. */
export const TIMEOUT_HINT = `${DURATION_HINT}, or "off" (or "0") to disable it`;

/**
 * Milliseconds of a timeout setting such as `stallTimeout`: a duration, or `off` / `0` for none
 * (returned as 0); `undefined` when it is neither.
 */
export function parseTimeout(text: string): number | undefined {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === "off" || trimmed === "0") return 0;
  return parseDuration(trimmed);
}
