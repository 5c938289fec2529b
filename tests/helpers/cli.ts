/**
 * Runs the command line in tests: in-process through `run()` with a fake `Io` and clock (fast,
 * output captured), or as a real `deno run` subprocess for the few tests that need a process
 * (exit, kill).
 */
import { fileURLToPath } from "node:url";
import { run } from "../../src/cli/main.ts";
import type { Io } from "../../src/cli/io.ts";
import type { SleepingClock } from "../../src/core/clock.ts";
import { Interrupts } from "../../src/cli/interrupts.ts";
import { ENV_SETTINGS } from "../../src/config/environment.ts";

/** What one command line produced. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A clock that stands still until a test moves it. Sleeping jumps it to the wake-up time at once,
 * so a scheduler runs days of cycles in milliseconds; every wake-up time is kept in `sleeps`.
 */
export class FakeClock implements SleepingClock {
  #now: number;
  /** Every time something slept until, in order. */
  readonly sleeps: Date[] = [];

  /** Default start: 2026-11-23T10:15:00.000Z. */
  constructor(start: Date | string = "2026-11-23T10:15:00.000Z") {
    this.#now = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.#now);
  }

  /** Moves the clock forward by `ms` (default one minute). */
  advance(ms = 60_000): void {
    this.#now += ms;
  }

  set(at: Date | string): void {
    this.#now = new Date(at).getTime();
  }

  async sleepUntil(at: Date, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(at);
    await new Promise((resolve) => setTimeout(resolve, 0)); // let signals and other tasks run
    if (!signal?.aborted) this.#now = Math.max(this.#now, at.getTime());
  }
}

/** Options of {@linkcode runCli}. */
export interface RunCliOptions {
  /** Default: a {@linkcode FakeClock} at its default start. */
  clock?: SleepingClock;
  /** Signals the command sees; a test calls `receive()` to send one. Default: none arrive. */
  interrupts?: Interrupts;
  /** Whether the fake io claims a terminal. Default `false`. */
  isTerminal?: boolean;
  /** Answers the prompt gives, in order; `null` once they run out (EOF). Default none. */
  answers?: string[];
  /** The environment the command sees. Default empty: the test process's own is never read. */
  env?: Record<string, string | undefined>;
  /** Receives every question asked. */
  questions?: string[];
  /** Where `backup-manager.json` is looked for. Default: a directory that has none. */
  cwd?: string;
}

/** A directory without a config file, so a developer's own `backup-manager.json` never leaks in. */
const NO_CONFIG_DIR = fileURLToPath(new URL("./", import.meta.url));

/** Runs `backup-manager <argv>` in-process and captures what it wrote. */
export async function runCli(argv: string[], options: RunCliOptions = {}): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const answers = [...(options.answers ?? [])];
  const io: Io = {
    stdout: (text) => stdout += text,
    stderr: (text) => stderr += text,
    isTerminal: options.isTerminal ?? false,
    prompt: (question) => {
      options.questions?.push(question);
      return Promise.resolve(answers.shift() ?? null);
    },
    env: { ...(options.env ?? {}) },
    cwd: options.cwd ?? NO_CONFIG_DIR,
  };
  const code = await run(
    argv,
    io,
    options.clock ?? new FakeClock(),
    options.interrupts ?? new Interrupts(),
  );
  return { code, stdout, stderr };
}

/** Absolute path of the real entry point. */
export const SCRIPT_PATH: string = fileURLToPath(
  new URL("../../scripts/backup-manager.ts", import.meta.url),
);

/** Settings variables that a subprocess must not inherit from the test runner's environment. */
const SETTING_VARIABLES = Object.keys(ENV_SETTINGS);

/** Options of {@linkcode scriptCommand} and {@linkcode runScript}. */
export interface ScriptOptions {
  /** Extra environment (on top of the runner's, minus the settings variables). */
  env?: Record<string, string>;
  /** Working directory. Default the test process's. */
  cwd?: string;
}

/** A `deno run -A scripts/backup-manager.ts <args>` command, stdout and stderr piped. */
export function scriptCommand(args: string[], options: ScriptOptions = {}): Deno.Command {
  const env = Deno.env.toObject();
  for (const name of SETTING_VARIABLES) delete env[name];
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT_PATH, ...args],
    env: { ...env, RUST_BACKTRACE: "0", NO_COLOR: "1", ...options.env },
    clearEnv: true,
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Runs the real script as a subprocess to completion. */
export async function runScript(args: string[], options: ScriptOptions = {}): Promise<CliResult> {
  const output = await scriptCommand(args, options).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}
