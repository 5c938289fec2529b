/**
 * backup-scheduler: the scheduler alone, for a compose service or a systemd unit. It is `auto`
 * (the same code path: settings from `backup-manager.json`, the environment and its flags; the
 * same log, human or JSON, on stdout; the same retries, notifications and exit codes), so
 * `deno task backup:scheduler` with `BACKUP_CRON` or `BACKUP_INTERVAL` set needs no arguments.
 *
 * Signals as `backup-manager auto`: the first SIGINT/SIGTERM lets the cycle in progress finish
 * and exits 0, a second abandons it cleanly (exit 130), a third exits at once. It exits through
 * `backup-manager.ts`'s `main`, the one place that exits the process.
 */
import { main } from "./backup-manager.ts";

/** The command line `backup-scheduler ARGS` runs: `auto ARGS` (`--help` shows auto's). */
export function schedulerArgv(args: readonly string[]): string[] {
  return ["auto", ...args];
}

if (import.meta.main) await main(schedulerArgv(Deno.args));
