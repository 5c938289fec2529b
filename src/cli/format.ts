/** Text rendering shared by commands: sizes, tables, JSON. */

export { formatBytes } from "../core/units.ts";

/** 1234567 -> "1,234,567". */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** Left-aligned columns with a header row; numbers right-aligned ("-" counts as a missing number). */
export function renderTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const numeric = header.map((_, i) =>
    rows.some((r) => typeof r[i] === "number") &&
    rows.every((r) => typeof r[i] === "number" || r[i] === "-")
  );
  return cells.map((row) =>
    row.map((cell, i) => numeric[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))
      .join("  ").trimEnd()
  ).join("\n") + "\n";
}

/** Pretty JSON with a trailing newline, for `--format json`. */
export function renderJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}
