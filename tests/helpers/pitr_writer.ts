/**
 * `replicate` running (in-process, real clock) while the test's application writes bursts of
 * rows: the helper the point-in-time tests share. After each burst it waits for the replicator to
 * see every commit, and records the moment and the row count then: what `restore --at` must give.
 */
import type { DatabaseSync } from "node:sqlite";
import { Interrupts } from "../../src/cli/interrupts.ts";
import type { CliResult, RunCliOptions } from "./cli.ts";

/** A moment after a burst, and the rows committed by then. */
export interface Moment {
  at: string;
  rows: number;
}

/** Options of {@linkcode replicateWhileWriting}. */
export interface ReplicateWhileWritingOptions {
  /** Runs the command line (with the test's config, clock and environment). */
  cli: (args: string[], extra?: RunCliOptions) => Promise<CliResult>;
  /** The application's connection; `events` is counted after each burst. */
  app: DatabaseSync;
  bursts: number;
  /** Writes burst number `burst` (0-based). */
  write: (burst: number) => Promise<void> | void;
  /** Before the first burst: the first snapshot is taken. */
  warmupMs: number;
  /** After each burst: several steps, so every commit of it is shipped. */
  settleMs: number;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `replicate` through the bursts, then stops it with a signal; its result and the moments. */
export async function replicateWhileWriting(
  options: ReplicateWhileWritingOptions,
): Promise<{ replicated: CliResult; moments: Moment[] }> {
  const interrupts = new Interrupts();
  const replicating = options.cli(["replicate"], { interrupts });
  const moments: Moment[] = [];
  try {
    await sleep(options.warmupMs);
    for (let burst = 0; burst < options.bursts; burst++) {
      await options.write(burst);
      await sleep(options.settleMs);
      moments.push({
        at: new Date().toISOString(),
        rows: Number(options.app.prepare("SELECT count(*) AS n FROM events").get()!.n),
      });
    }
  } finally {
    interrupts.receive();
  }
  return { replicated: await replicating, moments };
}
