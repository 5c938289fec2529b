/**
 * The moment `restore --at` names: `YYYY-MM-DD HH:MM[:SS[.fff]]` (or with a `T`) in a time zone
 * (`--tz`, default the `timezone` setting), an ISO 8601 time with `Z` or an offset (the zone is
 * then its own), or `latest`. Pure: zones through `Intl`, so daylight saving time is the zone's
 * own (a wall time skipped by the spring change is refused; one repeated in autumn is its first).
 */
import { UsageError } from "../core/errors.ts";

/** `latest`, or a moment. */
export type AtTime = "latest" | Date;

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?$/;
const ZONED = /(?:Z|[+-]\d{2}:?\d{2})$/i;

/** Parses `text` in `timeZone` (an IANA name). Throws a one-line {@linkcode UsageError}. */
export function parseAtTime(text: string, timeZone: string): AtTime {
  const value = text.trim();
  if (value.toLowerCase() === "latest") return "latest";
  if (ZONED.test(value)) {
    const date = new Date(value.replace(" ", "T"));
    if (Number.isNaN(date.getTime())) throw invalid(text);
    return date;
  }
  const m = LOCAL.exec(value);
  if (!m) throw invalid(text);
  const [year, month, day, hour, minute] = m.slice(1, 6).map(Number);
  const second = Number(m[6] ?? 0);
  const ms = Number((m[7] ?? "0").padEnd(3, "0"));
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    throw invalid(text);
  }
  const wall = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  // the instant whose wall time in the zone is `wall`: two passes settle DST edges
  let guess = wall - offsetOf(wall, timeZone);
  guess = wall - offsetOf(guess, timeZone);
  if (wallTime(guess, timeZone) !== wall) {
    throw new UsageError(
      `Invalid value "${text}" for --at: that wall time does not exist in ${timeZone} (a daylight saving change skips it)`,
    );
  }
  // of two instants with this wall time (autumn), the first
  const earlier = guess - 3600_000;
  return new Date(wallTime(earlier, timeZone) === wall ? earlier : guess);
}

function invalid(text: string): UsageError {
  return new UsageError(
    `Invalid value "${text}" for --at: expected "YYYY-MM-DD HH:MM:SS" (in --tz ZONE), an ISO 8601 time with Z or an offset, or "latest"`,
  );
}

/** The zone's offset from UTC at `instant`, in ms. */
function offsetOf(instant: number, timeZone: string): number {
  return wallTime(instant, timeZone) - Math.floor(instant / 1000) * 1000;
}

/** The wall time in the zone at `instant`, as ms of a UTC date with those fields (whole seconds). */
function wallTime(instant: number, timeZone: string): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    }).formatToParts(new Date(instant)).map((p) => [p.type, p.value]),
  );
  return Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  ) + (instant % 1000 + 1000) % 1000;
}
