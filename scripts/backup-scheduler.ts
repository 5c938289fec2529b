/**
 * backup-scheduler: the scheduler alone, for a compose service or a systemd unit. It is `auto`
 * (the same code path: settings from `backup-manager.json`, the environment and its flags; the
 * same log, human or JSON, on stdout; the same retries, notifications and exit codes), so
 * `deno task backup:scheduler` with `BACKUP_CRON` or `BACKUP_INTERVAL` set needs no arguments.
 *
 * Signals as `backup-manager auto`: the first SIGINT/SIGTERM lets the cycle in progress finish
 * and exits 0, a second abandons it cleanly (exit 130), a third exits at once. Besides
 * `backup-manager.ts`, the only place that exits the process.
 */
import { run } from "../src/cli/main.ts";
import { processIo } from "../src/cli/io.ts";
import { Interrupts } from "../src/cli/interrupts.ts";
import { systemClock } from "../src/core/clock.ts";
import { ExitCode } from "../src/core/errors.ts";
import { holdsLock, releaseHeldLocksSync } from "../src/core/lock.ts";

/** The command line `backup-scheduler ARGS` runs: `auto ARGS` (`--help` shows auto's). */
export function schedulerArgv(args: readonly string[]): string[] {
  return ["auto", ...args];
}

if (import.meta.main) {
  const interrupts = new Interrupts();
  const onSignal = () => {
    const action = interrupts.receive();
    // once the loop runs, the first signal stops and the second abandons (the third exits here);
    // before it does (reading the settings), nothing is held: exit now
    if (action !== "exit" && (interrupts.graceful || holdsLock())) return;
    releaseHeldLocksSync();
    Deno.exit(ExitCode.Interrupted);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, onSignal);
  Deno.exit(await run(schedulerArgv(Deno.args), processIo(), systemClock, interrupts));
}
