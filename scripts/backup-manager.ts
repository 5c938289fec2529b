/**
 * backup-manager: the command-line entry point. Parses argv, runs one command, exits with its
 * code. This (and `backup-scheduler.ts`, through {@linkcode main}) is the only place that exits
 * the process.
 */
import { run } from "../src/cli/main.ts";
import { processIo } from "../src/cli/io.ts";
import { Interrupts } from "../src/cli/interrupts.ts";
import { systemClock } from "../src/core/clock.ts";
import { ExitCode } from "../src/core/errors.ts";
import { holdsLock, releaseHeldLocksSync } from "../src/core/lock.ts";

/**
 * Runs `argv` as this process's one command and exits with its code. SIGINT/SIGTERM: a command
 * holding no lock (list, status, verify, a prompt) has nothing to unwind and exits at once;
 * otherwise a third (auto) or second (other commands) signal stops waiting for the unwinding.
 */
export async function main(argv: string[]): Promise<never> {
  const interrupts = new Interrupts();
  const onSignal = () => {
    const action = interrupts.receive();
    if (action !== "exit" && (interrupts.graceful || holdsLock())) return;
    releaseHeldLocksSync();
    Deno.exit(ExitCode.Interrupted);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, onSignal);
  Deno.exit(await run(argv, processIo(), systemClock, interrupts));
}

if (import.meta.main) await main(Deno.args);
