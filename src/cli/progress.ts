import type { Io } from "./io.ts";
import { formatBytes, formatCount } from "./format.ts";
import type { DumpProgress } from "../engines/engine.ts";

/**
 * Progress on a terminal, at most ten updates a second on one line of stderr; nothing when not
 * on a terminal (cron, pipes) or when asked for JSON.
 */
export function progressReporter(io: Io, enabled: boolean) {
  let last = 0;
  let shown = false;
  const show = (text: string) => {
    const now = Date.now();
    if (now - last < 100) return;
    last = now;
    shown = true;
    io.stderr(`\r\x1b[2K${text}`);
  };
  const active = enabled && io.isTerminal;
  return {
    dump: active
      ? (p: DumpProgress) =>
        show(
          `  ${p.table}: ${formatCount(p.tableRows)} rows (${formatCount(p.totalRows)} total, ${
            formatBytes(p.bytes)
          } SQL)`,
        )
      : undefined,
    bytes: active ? (bytes: number) => show(`  ${formatBytes(bytes)} read`) : undefined,
    /** A line of one's own (a server recovering: WAL files restored). */
    text: active ? (text: string) => show(`  ${text}`) : undefined,
    done: () => {
      if (shown) io.stderr("\r\x1b[2K");
    },
  };
}
