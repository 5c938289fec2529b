/**
 * The time a freshness column's newest value names, whatever way the application stores it:
 * epoch seconds, milliseconds, microseconds or nanoseconds (told apart by magnitude), ISO 8601
 * text, SQLite's `datetime()` text, or PostgreSQL's `timestamp`, `timestamptz` and `date` as
 * text. Text without a zone is UTC, as SQLite's functions write it. Pure, so every form has a
 * table-driven test.
 */

/** Epoch numbers below these magnitudes are seconds, milliseconds, microseconds; above, ns. */
const SECONDS_BELOW = 1e11; // 5138 AD in seconds, 1973 in milliseconds
const MILLISECONDS_BELOW = 1e14;
const MICROSECONDS_BELOW = 1e17;

const ISO_LIKE =
  /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** The time `value` names, or `undefined` when it is no time this reads. */
export function timeOfValue(value: string | number): Date | undefined {
  if (typeof value === "number") return epochTime(value);
  const text = value.trim();
  if (/^-?\d+(\.\d+)?$/.test(text)) return epochTime(Number(text));
  const match = ISO_LIKE.exec(text);
  if (!match) return undefined;
  const [, date, time = "00:00:00", zone] = match;
  const offset = zone === undefined || zone.toUpperCase() === "Z"
    ? "Z"
    : zone.length === 3
    ? `${zone}:00`
    : zone.includes(":")
    ? zone
    : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const parsed = new Date(`${date}T${time.length === 5 ? `${time}:00` : time}${offset}`);
  return Number.isNaN(parsed.getTime()) ? undefined : parsed;
}

function epochTime(number: number): Date | undefined {
  if (!Number.isFinite(number)) return undefined;
  const magnitude = Math.abs(number);
  const ms = magnitude < SECONDS_BELOW
    ? number * 1000
    : magnitude < MILLISECONDS_BELOW
    ? number
    : magnitude < MICROSECONDS_BELOW
    ? number / 1000
    : number / 1e6;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
