/**
 * The failure drills' machinery: a seeded PRNG, the seeds a run uses (`DRILL_SEEDS=N` for more,
 * `DRILL_SEED=S` to replay one), a real process killed with SIGKILL at a random moment of its
 * measured duration, and a tally per scenario that the README's Reliability figures come from
 * (printed as a table and merged into `.test-results/drills.json`).
 *
 * A drill collects every seed's outcome before it asserts, so one run gives the whole count and
 * a failure names every seed that broke (replay one with `DRILL_SEED=S`).
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { dirname } from "node:path";
import {
  type CliResult,
  FakeClock,
  runCli,
  scriptCommand,
  type ScriptOptions,
} from "../helpers/cli.ts";
import { systemClock } from "../../src/core/clock.ts";

/**
 * mulberry32: a tiny, fast PRNG with a 32-bit state; the same seed gives the same moments on every
 * machine, so a failing seed can be replayed.
 */

/**
 * The temporary directory of every drill's commands, killed ones and next runs alike: a killed
 * `verify --restore-test` leaves its scratch directory there, and in the shared `/tmp` the other
 * test files running beside the drills would meet it (their own runs sweep it, and say so).
 */
export const DRILL_TMP: string = Deno.makeTempDirSync({ prefix: "bm-drills-tmp-" });
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(DRILL_TMP, { recursive: true });
  } catch {
    // already gone
  }
});

/** {@linkcode DRILL_TMP} as an environment, for the drills' commands. */
export function drillEnv(env: Record<string, string> = {}): Record<string, string> {
  return { TMPDIR: DRILL_TMP, ...env };
}

export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The seeds of one scenario: `DRILL_SEED=S` replays only S; otherwise `DRILL_SEEDS` (default
 * `fallback`, 20 for the kill drills) seeds 1..N.
 */
export function drillSeeds(fallback = 20): number[] {
  const one = Deno.env.get("DRILL_SEED");
  if (one) return [Number(one)];
  const count = Number(Deno.env.get("DRILL_SEEDS") ?? fallback);
  return Array.from({ length: count }, (_, i) => i + 1);
}

/** How a killed command ended. */
export interface KillOutcome {
  /** The moment chosen, in ms after spawning. */
  atMs: number;
  /** Whether SIGKILL ended it (false: it finished first). */
  killed: boolean;
  /** Exit code when it finished by itself. */
  code: number;
  pid: number;
  stderr: string;
}

/** Runs the real script with `args` to the end; returns its duration (ms) and output. */
export async function timeCommand(
  args: string[],
  options: ScriptOptions = {},
): Promise<{ ms: number; code: number; stderr: string }> {
  const started = performance.now();
  const output = await scriptCommand(args, options).output();
  return {
    ms: performance.now() - started,
    code: output.code,
    stderr: new TextDecoder().decode(output.stderr),
  };
}

/** Starts the real script with `args` and kills it with SIGKILL `atMs` after spawning. */
export async function killAt(
  args: string[],
  atMs: number,
  options: ScriptOptions = {},
): Promise<KillOutcome> {
  const child = scriptCommand(args, options).spawn();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  await Promise.race([status, new Promise((resolve) => setTimeout(resolve, atMs))]);
  if (!exited) killIfRunning(child);
  const final = await status;
  const output = await child.output();
  return {
    atMs,
    killed: final.signal === "SIGKILL",
    code: final.code,
    pid: child.pid,
    stderr: new TextDecoder().decode(output.stderr),
  };
}

/** SIGKILL, unless the child ended since we last looked (its status not yet delivered). */
export function killIfRunning(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
}

/** What one seed of a scenario showed. */
export interface SeedResult {
  seed: number;
  outcome: KillOutcome;
  /** Empty when the target was exactly the old or the new content and every backup verified. */
  broken: string[];
  /** What was still there after the next run (should be nothing). */
  leftovers: string[];
  /** Which content the target held: `old`, `new`, or `partway` where each step is atomic. */
  held: "old" | "new" | "partway";
}

/** Counts of one scenario, as the README's table shows them. */
export interface DrillTally {
  scenario: string;
  seeds: number;
  /** Kills that landed before the command finished. */
  killed: number;
  /** Targets exactly old or new content, every listed backup verifying. */
  intact: number;
  /** Of those: how many held the old, the new content, or were partway (cleanup). */
  old: number;
  new: number;
  partway: number;
  /** Seeds after whose next run something was left over. */
  leftovers: number;
  /** The command's measured duration, ms. */
  durationMs: number;
  /** Wall time of the whole scenario, s. */
  wallSeconds: number;
}

/** Options of {@linkcode runKillDrill}. */
export interface KillDrillOptions {
  scenario: string;
  /** Puts the world back to the state before the command (the old content). */
  prepare: () => Promise<void>;
  /** The command line to kill. */
  args: () => string[];
  /** The command's environment (default the runner's). */
  env?: Record<string, string>;
  /** Looks at the world after the kill: what is broken (empty if nothing), and what it holds. */
  judge: (outcome: KillOutcome) => Promise<{ broken: string[]; held: SeedResult["held"] }>;
  /** Runs the next run(s) and returns what is still left over (empty if nothing). */
  nextRun: (outcome: KillOutcome) => Promise<string[]>;
  /** Default {@linkcode drillSeeds}(). */
  seeds?: number[];
}

/**
 * Measures the command once (prepared, run to the end), then for each seed: prepare, kill at a
 * random moment of that duration after the process's fixed start (`--version`'s time), judge, next run, look for leftovers. Asserts at the end, naming
 * every seed that broke; returns the tally (also recorded for {@linkcode printTallies}).
 */
export async function runKillDrill(options: KillDrillOptions): Promise<DrillTally> {
  const wall = performance.now();
  // the shorter of two unkilled runs: one slow start (a busy machine) would put most kills after
  // the end
  let measured = { ms: Infinity, code: 0, stderr: "" };
  for (let i = 0; i < 2; i++) {
    await options.prepare();
    const run = await timeCommand(options.args(), { env: drillEnv(options.env) });
    assert.equal(run.code, 0, `${options.scenario}: the unkilled run failed: ${run.stderr}`);
    if (run.ms < measured.ms) measured = run;
  }
  // the process's fixed start (runtime, module graph) does nothing to the target: kill after it
  const startup = (await timeCommand(["--version"])).ms;
  const from = Math.min(startup, measured.ms * 0.8);
  const results: SeedResult[] = [];
  for (const seed of options.seeds ?? drillSeeds()) {
    await options.prepare();
    const random = seededRandom(seed);
    const atMs = Math.round(from + random() * (measured.ms - from));
    const outcome = await killAt(options.args(), atMs, { env: drillEnv(options.env) });
    const judged = await options.judge(outcome);
    if (!outcome.killed && outcome.code !== 0) {
      judged.broken.push(`it ended by itself with exit ${outcome.code}: ${outcome.stderr.trim()}`);
    }
    const leftovers = await cleanOrphansLater(await options.nextRun(outcome));
    results.push({ seed, outcome, leftovers, ...judged });
  }
  const tally: DrillTally = {
    scenario: options.scenario,
    seeds: results.length,
    killed: results.filter((r) => r.outcome.killed).length,
    intact: results.filter((r) => r.broken.length === 0).length,
    old: results.filter((r) => r.broken.length === 0 && r.held === "old").length,
    new: results.filter((r) => r.broken.length === 0 && r.held === "new").length,
    partway: results.filter((r) => r.broken.length === 0 && r.held === "partway").length,
    leftovers: results.filter((r) => r.leftovers.length > 0).length,
    durationMs: Math.round(measured.ms),
    wallSeconds: Math.round((performance.now() - wall) / 100) / 10,
  };
  record(tally);
  const failures = results.filter((r) => r.broken.length > 0 || r.leftovers.length > 0).map((r) =>
    `seed ${r.seed} (killed at ${r.outcome.atMs} ms of ${Math.round(measured.ms)}, ${
      r.outcome.killed ? "killed" : `exited ${r.outcome.code}`
    }): ${[...r.broken, ...r.leftovers.map((l) => `left over: ${l}`)].join("; ")}`
  );
  assert.deepEqual(
    failures,
    [],
    `${options.scenario}: ${failures.length} of ${results.length} seeds failed ` +
      `(replay one with DRILL_SEED=S):\n  ${failures.join("\n  ")}`,
  );
  return tally;
}

export {
  freeBytes,
  listedIds,
  makeDrillDatabase,
  ownedBy,
  resetDir,
  storeLeftovers,
  storeProblems,
  withTmpfs,
} from "./drills_world.ts";

const tallies: DrillTally[] = [];

/** Where the figures of the last run go (gitignored). */
export const RESULT_PATH: string = fileURLToPath(
  new URL("../../.test-results/drills.json", import.meta.url),
);

/** Keeps a tally for the table and merges it into {@linkcode RESULT_PATH}. */
export function record(tally: DrillTally): void {
  tallies.push(tally);
  recordFigure(tally.scenario, tally);
}

/** Merges one named figure (a tally, a latency measurement) into {@linkcode RESULT_PATH}. */
export function recordFigure(name: string, figure: unknown): void {
  Deno.mkdirSync(dirname(RESULT_PATH), { recursive: true });
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(Deno.readTextFileSync(RESULT_PATH));
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound) && !(error instanceof SyntaxError)) throw error;
  }
  all[name] = { ...figure as object, at: new Date().toISOString() };
  Deno.writeTextFileSync(RESULT_PATH, JSON.stringify(all, null, 2) + "\n");
}

/** Prints this process's tallies as a table (the README's Reliability rows). */
export function printTallies(): void {
  const header = "| drill | kills tried | killed mid-run | targets intact (old/new/partway) | " +
    "leftovers after next run | run (ms) | wall (s) |";
  const rows = tallies.map((t) =>
    `| ${t.scenario} | ${t.seeds} | ${t.killed} | ${t.intact} (${t.old}/${t.new}/${t.partway}) | ${t.leftovers} | ${t.durationMs} | ${t.wallSeconds} |`
  );
  console.log([header, "|---|---|---|---|---|---|---|", ...rows].join("\n"));
  console.log(`next runs that waited out a torn lock (10 s): ${tornLocks.waits}`);
  console.log(
    `data files without a sidecar, removed by cleanup at 15 min: ${orphans.removedLater}`,
  );
}

/** How many next runs met a torn lock (a kill between creating the lock file and filling it). */
export const tornLocks = { waits: 0 };

/**
 * Runs the next run in-process. A kill between creating the lock file and writing its holder
 * leaves an unreadable lock, which the lock treats as possibly being written for 10 s (exit 6,
 * "holds the lock"): then wait that grace out once, count it, and run again.
 */
export async function nextRunCli(argv: string[]): Promise<CliResult> {
  const first = await runCli(argv, { clock: systemClock, env: drillEnv() });
  if (first.code !== 6 || !/holds the lock "([^"]+)"/.test(first.stderr)) return first;
  const lock = /holds the lock "([^"]+)"/.exec(first.stderr)![1];
  const text = await Deno.readTextFile(lock).catch(() => "{}");
  try {
    JSON.parse(text);
    return first; // a readable lock: a real holder, report it
  } catch {
    tornLocks.waits++;
    await new Promise((resolve) => setTimeout(resolve, 10_500));
    return await runCli(argv, { clock: systemClock, env: drillEnv() });
  }
}

/** Data files a kill left without their sidecar that cleanup removed once 15 min old. */
export const orphans = { removedLater: 0 };

/**
 * A kill between renaming the data file into place and renaming the sidecar leaves a data file
 * without its sidecar. Such a name carries no owner, so the sweep keeps it until it is 15 minutes
 * old (it might be a run still writing elsewhere): run `cleanup` 16 minutes later on its store and
 * count it if it goes. What remains is returned.
 */
async function cleanOrphansLater(leftovers: string[]): Promise<string[]> {
  const orphanData = leftovers.filter((l) => /\.sql(\.gz|\.zst)?$/.test(l));
  if (orphanData.length === 0) return leftovers;
  const later = new FakeClock(new Date(Date.now() + 16 * 60_000));
  for (const store of new Set(orphanData.map((l) => dirname(l)))) {
    await runCli(["cleanup", "--dir", store, "--keep-last", "1000"], {
      clock: later,
      env: drillEnv(),
    });
  }
  const remaining = leftovers.filter((l) => {
    try {
      Deno.statSync(l);
      return true;
    } catch {
      if (orphanData.includes(l)) orphans.removedLater++;
      return false;
    }
  });
  return remaining;
}
