/**
 * backup-manager: the command-line entry point. Parses argv, runs one command, exits with its
 * code. This is the only place that exits the process.
 */
import { run } from "../src/cli/main.ts";
import { processIo } from "../src/cli/io.ts";
import { Interrupts } from "../src/cli/interrupts.ts";
import { systemClock } from "../src/core/clock.ts";
import { ExitCode } from "../src/core/errors.ts";
import { holdsLock, releaseHeldLocksSync } from "../src/core/lock.ts";

if (import.meta.main) {
  const interrupts = new Interrupts();
  const onSignal = () => {
    const action = interrupts.receive();
    // a command holding no lock (list, status, verify, a prompt) has nothing to unwind: exit now;
    // otherwise a third (auto) or second (other commands) signal stops waiting for the unwinding
    if (action !== "exit" && (interrupts.graceful || holdsLock())) return;
    releaseHeldLocksSync();
    Deno.exit(ExitCode.Interrupted);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, onSignal);
  Deno.exit(await run(Deno.args, processIo(), systemClock, interrupts));
}
