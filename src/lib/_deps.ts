/**
 * The library's stand-in for the command line's dependencies, so it builds its context,
 * destinations and notifications with the very functions the commands use (`serviceContext`,
 * `destinationsFor`, `runReporterFor`) instead of a second copy. Nothing here prints: what a
 * command would write to stderr becomes a warning event, stdout goes nowhere.
 */
import type { CommandDeps } from "../cli/deps.ts";
import { Interrupts } from "../cli/interrupts.ts";
import type { SleepingClock } from "../core/clock.ts";
import type { EventListener, OpsEvent } from "../core/events.ts";

/** What {@linkcode libraryDeps} needs. */
export interface LibraryDepsOptions {
  clock: SleepingClock;
  env: Record<string, string | undefined>;
  cwd?: string;
  /** Receives the warnings (and nothing else) that a command would print. */
  onEvent: EventListener;
}

/** Command dependencies with no terminal, no prompt and no output of their own. */
export function libraryDeps(options: LibraryDepsOptions): CommandDeps {
  const { clock, onEvent } = options;
  const warn = (text: string) => {
    const message = text.replace(/^Warning:\s*/, "").trim();
    if (message) onEvent({ type: "warning", time: clock.now(), message });
  };
  return {
    io: {
      stdout: () => {},
      stderr: warn,
      isTerminal: false,
      prompt: () => Promise.resolve(null),
      env: options.env,
      cwd: options.cwd,
    },
    clock,
    interrupts: new Interrupts(),
    setExitCode: () => {},
  };
}

/**
 * Fans an event out to listeners; a listener that throws is dropped from this event only, so an
 * application's callback can never fail a backup.
 */
export function fanOut(listeners: () => Iterable<EventListener>): EventListener {
  return (event: OpsEvent) => {
    for (const listener of listeners()) {
      try {
        listener(event);
      } catch {
        // a broken callback must not break the run (nor the other listeners)
      }
    }
  };
}
