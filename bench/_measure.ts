/**
 * What every benchmark shares: running commands and our CLI (under GNU time, for peak RSS),
 * medians, and the report tables with their pass/FAIL verdicts.
 */

import { parseArgs } from "node:util";

/** Bytes in a MiB. */
export const MIB = 1024 * 1024;
/** The repository root, where commands run. */
export const REPO: string = new URL("../", import.meta.url).pathname;
/** Benchmark databases and scratch files (git-ignored). */
export const WORK: string = new URL(".work/", import.meta.url).pathname;
/** Our entry point, relative to {@linkcode REPO}. */
export const CLI = "scripts/backup-manager.ts";
/** Peak RSS must stay under this at every size. */
export const RSS_LIMIT_KB = 300 * 1024;
/** Peak RSS on the large database over the small one must not exceed this. */
export const RSS_GROWTH_LIMIT = 1.1;

/** One timed command. */
export interface Run {
  seconds: number;
  /** Peak resident set size in kB, when measured. */
  rssKb?: number;
  stdout: string;
}

/** Our runs and the reference's for one operation, and the ratio target. */
export interface Comparison {
  operation: string;
  ours: Run[];
  reference: Run[];
  target: number;
}

const ENV = { RUST_BACKTRACE: "0", NO_COLOR: "1" };

/**
 * Runs a command to completion; throws with its stderr if it fails. Returns wall time. `env` is
 * added to the inherited environment.
 */
export async function run(
  cmd: string,
  args: string[],
  stdin?: string,
  env: Record<string, string> = {},
): Promise<Run> {
  const command = new Deno.Command(cmd, {
    args,
    cwd: REPO,
    env: { ...env, ...ENV },
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const start = performance.now();
  const child = command.spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  const seconds = (performance.now() - start) / 1000;
  const decoder = new TextDecoder();
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed (${out.code}):\n${decoder.decode(out.stderr)}`,
    );
  }
  return { seconds, stdout: decoder.decode(out.stdout) };
}

/** Runs `bash -c script` with pipefail, so a failing stage of a pipeline is not hidden. */
export function shell(script: string): Promise<Run> {
  return run("bash", ["-c", `set -euo pipefail; ${script}`]);
}

/**
 * Runs our CLI in a fresh Deno process under GNU time, recording wall time and peak RSS; `env` is
 * added to the inherited environment.
 */
export async function ours(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const rssFile = `${WORK}rss-${crypto.randomUUID()}.txt`;
  try {
    const result = await run(
      "/usr/bin/time",
      [
        "-f",
        "%M",
        "-o",
        rssFile,
        Deno.execPath(),
        "run",
        "-A",
        CLI,
        ...args,
      ],
      undefined,
      env,
    );
    const rssKb = Number((await Deno.readTextFile(rssFile)).trim().split("\n").at(-1));
    return { ...result, rssKb };
  } finally {
    await remove(rssFile);
  }
}

/** Removes files or directories; a missing one is fine. */
export async function remove(...paths: string[]): Promise<void> {
  for (const path of paths) {
    await Deno.remove(path, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
}

/** Size of a file in bytes. */
export async function fileSize(path: string): Promise<number> {
  return (await Deno.stat(path)).size;
}

/** The median of `values`. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Median wall time of `runs`. */
export const seconds = (runs: Run[]): number => median(runs.map((r) => r.seconds));
/** Highest peak RSS of `runs`, in kB. */
export const peakRss = (runs: Run[]): number => Math.max(...runs.map((r) => r.rssKb ?? 0));
/** `12.3 MiB`. */
export const mib = (bytes: number): string => `${(bytes / MIB).toFixed(1)} MiB`;
const verdict = (ok: boolean) => ok ? "pass" : "FAIL";

/** Prints `lines` as aligned columns under `header` and a rule. */
export function printColumns(header: string[], lines: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  console.log(format(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const line of lines) console.log(format(line));
}

/** Prints ours vs reference per operation: medians, ratio, target, verdict, and the samples. */
export function printTable(rows: Comparison[]): void {
  const header = ["operation", "ours (s)", "reference (s)", "ratio", "target", "result"];
  const lines = rows.map((row) => {
    const ratio = seconds(row.ours) / seconds(row.reference);
    return [
      row.operation,
      seconds(row.ours).toFixed(2),
      seconds(row.reference).toFixed(2),
      ratio.toFixed(2),
      `≤ ${row.target}`,
      verdict(ratio <= row.target),
    ];
  });
  printColumns(header, lines);
  for (const row of rows) {
    const all = (runs: Run[]) => runs.map((r) => r.seconds.toFixed(2)).join(" ");
    console.log(`  ${row.operation} samples: ours [${all(row.ours)}], ref [${all(row.reference)}]`);
  }
}

/** Prints peak RSS on the small and large database against the flat-memory targets. */
export function printRss(operation: string, small: Run[], large: Run[]): void {
  const [s, l] = [peakRss(small), peakRss(large)];
  const growth = l / s;
  const ok = growth <= RSS_GROWTH_LIMIT && l < RSS_LIMIT_KB && s < RSS_LIMIT_KB;
  console.log(
    `peak RSS ${operation.padEnd(7)}: small ${(s / 1024).toFixed(0)} MiB, large ` +
      `${(l / 1024).toFixed(0)} MiB, large/small ${growth.toFixed(2)} ` +
      `(target ≤ ${RSS_GROWTH_LIMIT} and < ${RSS_LIMIT_KB / 1024} MiB): ${verdict(ok)}`,
  );
}

/** What the create benchmark measured: our runs, the reference's, and what they left behind. */
export interface CreateResult {
  ours: Run[];
  reference: Run[];
  /** The id of the last backup we made, and the last reference dump. */
  id: string;
  refDump: string;
}

/**
 * Runs our `create` of `database` into `dir` `reps` times, each followed by the reference dump
 * (`referenceScript(refDump)`, a shell pipeline) when it is given; `warmUp` runs first so both
 * sides read from a warm cache.
 */
export async function benchCreate(
  database: string,
  dir: string,
  reps: number,
  referenceScript: ((refDump: string) => string) | null,
  warmUp: () => Promise<void>,
): Promise<CreateResult> {
  await remove(dir);
  await Deno.mkdir(dir, { recursive: true });
  await warmUp();
  const result: CreateResult = { ours: [], reference: [], id: "", refDump: `${dir}/ref.sql.gz` };
  for (let i = 0; i < reps; i++) {
    const made = await ours(["create", "--database", database, "--dir", dir, "--format", "json"]);
    result.ours.push(made);
    result.id = JSON.parse(made.stdout).id;
    if (referenceScript) result.reference.push(await shell(referenceScript(result.refDump)));
  }
  return result;
}

/** `--quick` and `--size-mb N` (the large database; default 300, 60 with `--quick`). */
export function sizeArgs(): { quick: boolean; largeMiB: number } {
  const { values } = parseArgs({
    args: Deno.args,
    options: { "size-mb": { type: "string" }, quick: { type: "boolean", default: false } },
  });
  const quick = values.quick ?? false;
  const largeMiB = values["size-mb"] === undefined ? (quick ? 60 : 300) : Number(values["size-mb"]);
  if (!Number.isFinite(largeMiB) || largeMiB < 10) {
    console.error(`--size-mb must be a number ≥ 10, got ${values["size-mb"]}`);
    Deno.exit(2);
  }
  return { quick, largeMiB };
}
