/**
 * Calendar periods of an instant in an IANA time zone, for grandfather-father-son retention:
 * "the newest backup of each day" means each day on the wall clock where the backups are read,
 * across DST changes. Computed with `Intl.DateTimeFormat`, so no time zone table of our own.
 */

/** The period lengths retention tiers count in. */
export const PERIODS = ["hourly", "daily", "weekly", "monthly", "yearly"] as const;
/** One of {@linkcode PERIODS}. */
export type Period = typeof PERIODS[number];

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      timeZoneName: "longOffset",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Wall-clock fields of `at` in `timeZone`, with its UTC offset ("GMT+01:00", "GMT"). */
function wallClock(at: Date, timeZone: string) {
  const parts: Record<string, string> = {};
  for (const part of formatter(timeZone).formatToParts(at)) parts[part.type] = part.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    offset: parts.timeZoneName,
  };
}

/**
 * The period of `at` as a label that is equal exactly for instants in the same period:
 * `2026-03-29 01:00 GMT+01:00` (hourly: the offset tells apart the two hours that share a wall
 * clock reading when clocks go back), `2026-03-29`, `2026-W13` (ISO week, Monday first, in the
 * ISO week-year), `2026-03`, `2026`.
 */
export function periodOf(at: Date, period: Period, timeZone: string): string {
  const w = wallClock(at, timeZone);
  const ymd = `${w.year}-${pad(w.month)}-${pad(w.day)}`;
  switch (period) {
    case "hourly":
      return `${ymd} ${pad(w.hour)}:00 ${w.offset}`;
    case "daily":
      return ymd;
    case "weekly": {
      const { year, week } = isoWeek(w.year, w.month, w.day);
      return `${year}-W${pad(week)}`;
    }
    case "monthly":
      return `${w.year}-${pad(w.month)}`;
    case "yearly":
      return String(w.year);
  }
}

const DAY_MS = 86_400_000;

/** ISO 8601 week of a calendar date: weeks start on Monday; week 1 holds the year's first Thursday. */
export function isoWeek(year: number, month: number, day: number): { year: number; week: number } {
  const date = Date.UTC(year, month - 1, day);
  const weekday = (new Date(date).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  const thursday = date + (3 - weekday) * DAY_MS;
  const isoYear = new Date(thursday).getUTCFullYear();
  return {
    year: isoYear,
    week: 1 + Math.floor((thursday - Date.UTC(isoYear, 0, 1)) / (7 * DAY_MS)),
  };
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}
