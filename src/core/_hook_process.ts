/**
 * One hook command as a child process: its own process group (so a timeout kills the shell and
 * whatever it started), a clean environment, stdin closed, its output read line by line within a
 * budget (a hook that prints gigabytes costs us a bounded amount of memory and log).
 */
import { messageOf } from "./errors.ts";

/** Options of {@linkcode runHookProcess}. */
export interface HookProcessOptions {
  /** Program and arguments: run as they are, no shell (a shell hook passes `/bin/sh -c`). */
  argv: string[];
  cwd: string;
  /** The whole environment the process gets (nothing of ours is inherited). */
  env: Record<string, string>;
  /** Killed (SIGTERM, then SIGKILL to its process group) after this long. */
  timeoutMs: number;
  /** Between SIGTERM and SIGKILL. */
  killGraceMs: number;
  /** Kills the process (as a timeout does) when aborted. */
  signal?: AbortSignal;
  /** Output characters handed to `onLine`, stdout and stderr together; the rest is counted. */
  maxOutputChars: number;
  /** A longer line is cut to this many characters (and `…`). */
  maxLineChars: number;
  /**
   * After the process exits, how long to wait for the rest of its output: a background process it
   * started may hold the pipes open for ever.
   */
  drainMs: number;
  /** Receives each line of output (without its newline). Must not throw. */
  onLine(stream: "stdout" | "stderr", line: string): void;
}

/** How a hook process ended. */
export type HookProcessOutcome =
  | { kind: "exited"; code: number; signal: string | null; durationMs: number; dropped: number }
  | { kind: "timeout"; durationMs: number; dropped: number }
  | { kind: "aborted"; durationMs: number; dropped: number }
  | { kind: "unstartable"; message: string; durationMs: number; dropped: number };

/** Runs one hook process to its end, its timeout, or the signal; never throws. */
export async function runHookProcess(options: HookProcessOptions): Promise<HookProcessOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const budget = { left: options.maxOutputChars, dropped: 0 };
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(options.argv[0], {
      args: options.argv.slice(1),
      cwd: options.cwd,
      env: options.env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: true, // its own process group: a kill reaches the children it started
    }).spawn();
  } catch (error) {
    return { kind: "unstartable", message: messageOf(error), durationMs: elapsed(), dropped: 0 };
  }
  const readers = [
    readLines(child.stdout, "stdout", budget, options),
    readLines(child.stderr, "stderr", budget, options),
  ];
  let ended: "timeout" | "aborted" | undefined;
  const kill = (why: "timeout" | "aborted") => {
    if (ended) return;
    ended = why;
    signalGroup(child.pid, "SIGTERM");
    killer = setTimeout(() => signalGroup(child.pid, "SIGKILL"), options.killGraceMs);
  };
  let killer: ReturnType<typeof setTimeout> | undefined;
  const timer = setTimeout(() => kill("timeout"), options.timeoutMs);
  const onAbort = () => kill("aborted");
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let status: Deno.CommandStatus;
  try {
    status = await child.status;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
  if (ended) {
    // the leader is gone (it had its SIGTERM); what it started may ignore one: the whole group
    clearTimeout(killer);
    signalGroup(child.pid, "SIGKILL");
  }
  await drain(readers, options.drainMs);
  const dropped = budget.dropped;
  if (ended) return { kind: ended, durationMs: elapsed(), dropped };
  return {
    kind: "exited",
    code: status.code,
    signal: status.signal,
    durationMs: elapsed(),
    dropped,
  };
}

/** Sends `signal` to the process group `pid` leads; a group already gone is fine. */
function signalGroup(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already; EPERM: nothing more we can do
  }
}

/** Waits for the output readers at most `ms`, then cancels them (closing our end of the pipes). */
async function drain(readers: Reader[], ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<void>((resolve) => timer = setTimeout(resolve, ms));
  await Promise.race([Promise.all(readers.map((r) => r.done)), late]);
  clearTimeout(timer);
  await Promise.all(readers.map((r) => r.cancel()));
}

interface Reader {
  done: Promise<void>;
  cancel(): Promise<void>;
}

/** Splits `stream` into lines for `onLine`, within the shared budget; memory stays bounded. */
function readLines(
  stream: ReadableStream<Uint8Array>,
  name: "stdout" | "stderr",
  budget: { left: number; dropped: number },
  options: HookProcessOptions,
): Reader {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  let cut = false; // the current line was already emitted cut; the rest of it is skipped
  const emit = (line: string) => {
    const shown = line.length > options.maxLineChars
      ? line.slice(0, options.maxLineChars) + "…"
      : line;
    if (budget.left <= 0) {
      budget.dropped += line.length + 1;
      return;
    }
    budget.left -= shown.length + 1;
    options.onLine(name, shown);
  };
  const take = (text: string) => {
    let start = 0;
    for (;;) {
      const newline = text.indexOf("\n", start);
      if (newline < 0) break;
      const piece = text.slice(start, newline).replace(/\r$/, "");
      if (cut) {
        budget.dropped += piece.length + 1;
        cut = false;
      } else emit(pending + piece);
      pending = "";
      start = newline + 1;
    }
    const rest = text.slice(start);
    if (cut) budget.dropped += rest.length;
    else {
      pending += rest;
      if (pending.length > options.maxLineChars) {
        emit(pending); // cut to maxLineChars
        budget.dropped += pending.length - options.maxLineChars;
        pending = "";
        cut = true;
      }
    }
  };
  const done = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        take(value);
      }
    } catch {
      // cancelled after the drain time, or the pipe broke: what was read is shown
    }
    if (pending && !cut) emit(pending);
    pending = "";
  })();
  return {
    done,
    cancel: async () => {
      await reader.cancel().catch(() => {});
      await done;
    },
  };
}
