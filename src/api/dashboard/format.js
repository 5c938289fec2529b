// Values as a person reads them: sizes in binary units, durations, counts, dates in the browser's
// zone, and text for API values of unknown shape. All pure but `timeElement`, which wraps a date
// in <time> so that its title keeps the exact instant the API sent.
import { el } from "./dom.js";

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** `1536` → `1.50 KiB`; not a number → `—`. */
export function formatBytes(bytes) {
  if (typeof bytes !== "number" || !Number.isFinite(bytes)) return "—";
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${bytes < 0 ? "-" : ""}${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** Milliseconds as `850 ms`, `2.50 s`, `3 min 5 s` or `1 h 2 min`; not a number → `—`. */
export function formatDuration(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** `12345` → `12,345`; not a number → `—`. */
export function formatNumber(value) {
  return typeof value === "number" && Number.isFinite(value) ? value.toLocaleString("en") : "—";
}

function pad(n) {
  return String(n).padStart(2, "0");
}

/** A date in the browser's zone, `2026-11-23 10:15:00`; none → `—`, not a date → as it is. */
export function formatDate(value) {
  if (value === null || value === undefined || value === "") return "—";
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** A <time> showing {@linkcode formatDate}, with the API's own value as its title; none → `—`. */
export function timeElement(value) {
  if (!value) return "—";
  return el("time", { datetime: value, title: value, text: formatDate(value) });
}

/** Text for a value of unknown shape: strings as they are, lists joined, objects as JSON. */
export function describe(value) {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.map(describe).filter(Boolean).join("; ");
  if (typeof value === "object") {
    if (typeof value.message === "string") return value.message;
    return JSON.stringify(value);
  }
  return String(value);
}
