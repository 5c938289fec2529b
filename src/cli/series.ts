/**
 * Commands over several databases: with a glob or a list as the `database` setting, a command
 * runs once per series (`src/core/series.ts`), each run seeing the settings of its series alone
 * (`seriesConfig` in `deps.ts`: its database, its sub-store, its retention), so every command's
 * own code stays what it is for one database. Their outputs are combined here: a block (or one
 * line) per series in text, one array with a `series` field in JSON; the exit code is the worst.
 * With one plain database nothing changes: the command runs as it always did.
 */
import type { Command } from "npm:commander@15.1.0";
import type { CommandDeps } from "./deps.ts";
import { locationFlags, settingsFor, storageFor } from "./deps.ts";
import type { Config } from "../config/schema.ts";
import { expandDatabases, isSeveral, type Series } from "../core/series.ts";
import { listBackups } from "../core/catalog.ts";
import {
  AmbiguousIdError,
  BackupManagerError,
  BackupNotFoundError,
  DatabaseNotFoundError,
  ExitCode,
  InterruptedError,
  messageOf,
  UsageError,
} from "../core/errors.ts";
import { engineFor } from "../engines/registry.ts";
import { subStoreUrl } from "../storage/open_storage.ts";
import { renderJson } from "./format.ts";

/** The flags every series-aware command takes. */
export interface SeriesArgs {
  /** `--series NAME`: only this series. */
  series?: string;
  database?: string;
  dir?: string;
}

/** What a several-database setting names today. */
export interface SeriesPlan {
  /** The series the setting names now (a glob matched afresh), in name order. */
  current: Series[];
  /**
   * Sub-stores holding backups whose database the setting names no more (a file that vanished,
   * an entry taken out of the list): kept, reported, never pruned; their database is the one
   * their newest sidecar names.
   */
  vanished: Series[];
}

/**
 * The series of the settings, or `undefined` for one plain database (today's layout). Reads the
 * store's sub-stores to find the vanished ones.
 */
export async function seriesPlan(
  config: Config,
  deps: CommandDeps,
): Promise<SeriesPlan | undefined> {
  if (!isSeveral(config.database)) return undefined;
  const current = await expandDatabases(config.database, { cwd: deps.io.cwd });
  const names = new Set(current.map((s) => s.name));
  const root = storageFor(config.backupDir, config, deps);
  const vanished: Series[] = [];
  for (const name of ((await root.subStores?.()) ?? []).sort()) {
    if (names.has(name)) continue;
    const backups = await listBackups(storageFor(subStoreUrl(config.backupDir, name), config, deps))
      .catch(() => []);
    const meta = backups.find((b) => b.meta)?.meta;
    if (!meta) continue; // not a series: no backup in it
    const database = meta.database.path
      ? `sqlite:${meta.database.path}`
      : `postgres://${meta.database.host ?? "localhost"}/${encodeURIComponent(meta.database.name)}`;
    vanished.push({ name, database });
  }
  return { current, vanished };
}

/** Options of {@linkcode runPerSeries}. */
export interface PerSeriesOptions {
  /** How the runs' stdout is combined. */
  format: "text" | "json";
  /** Also run on vanished series (list: their backups are still restorable). Default `false`. */
  vanished?: boolean;
  /**
   * Text: prefix every line with the series name (`app: WARNING: …`), as monitors read
   * `status --check`. Default: a block per series, or `name: line` for one line.
   */
  prefixLines?: boolean;
  /** A setting that matches no database at all fails (exit 3) rather than printing nothing. */
  requireSeries?: boolean;
  /**
   * Report vanished series in the output (`status`: a line, or `{series, vanished: true}` in
   * JSON) rather than as a note on stderr. Default `false`.
   */
  vanishedInOutput?: boolean;
}

/**
 * Runs `run` once per series the settings name (or the one `--series` picks), with `deps` whose
 * settings describe that series, and combines what they print. One series failing does not stop
 * the others; an interrupt does. With one plain database, `run(deps)` as it is.
 */
export async function runPerSeries(
  args: SeriesArgs,
  deps: CommandDeps,
  run: (deps: CommandDeps) => Promise<number>,
  options: PerSeriesOptions,
): Promise<number> {
  if (deps.series) return await run(deps);
  const config = settingsFor(deps, locationFlags(args));
  const plan = await seriesPlan(config, deps);
  if (!plan) {
    if (args.series !== undefined) throw singleDatabaseError();
    return await run(deps);
  }
  const selected = selectSeries(plan, args.series, options.vanished ?? false);
  if (selected.length === 0 && options.requireSeries) throw noSeriesError(config);
  if (args.series === undefined && !options.vanished && !options.vanishedInOutput) {
    reportVanished(plan, deps);
  }
  const outputs: { series: Series; stdout: string; code: number; vanished: boolean }[] = [];
  const vanishedNames = new Set(plan.vanished.map((s) => s.name));
  let code: number = ExitCode.Ok;
  for (const series of selected) {
    if (deps.interrupts.abort.aborted) break;
    let stdout = "";
    const seriesDeps: CommandDeps = {
      ...deps,
      series,
      io: {
        ...deps.io,
        stdout: (text) => stdout += text,
        stderr: (text) => deps.io.stderr(prefixed(series.name, text)),
      },
    };
    let seriesCode: number;
    try {
      seriesCode = await run(seriesDeps);
    } catch (error) {
      if (error instanceof InterruptedError) throw error;
      seriesCode = error instanceof BackupManagerError ? error.exitCode : ExitCode.Failure;
      deps.io.stderr(`Error: ${series.name}: ${messageOf(error)}\n`);
    }
    code = Math.max(code, seriesCode);
    outputs.push({ series, stdout, code: seriesCode, vanished: vanishedNames.has(series.name) });
  }
  const gone = args.series === undefined && options.vanishedInOutput ? plan.vanished : [];
  if (options.format === "json") {
    deps.io.stdout(renderJson([
      ...outputs.flatMap((o) => jsonOf(o.series.name, o.stdout)),
      ...gone.map((s) => ({ series: s.name, vanished: true, database: redact(s.database, deps) })),
    ]));
  } else {
    for (const output of outputs) {
      deps.io.stdout(textBlock(output.series, output.stdout, deps, {
        prefixLines: options.prefixLines ?? false,
        vanished: output.vanished,
      }));
    }
    for (const series of gone) deps.io.stdout(`${series.name}: ${vanishedText(series, deps)}\n`);
  }
  return code;
}

/**
 * The one series an id names, for the commands that take an id (restore, pin, unpin, copy,
 * verify ID): the id is looked up in every series (vanished ones too); found in one, that one;
 * in several, refused as ambiguous (exit 4) until `--series` picks. `undefined` for one plain
 * database. With `--series`, that series without a look.
 */
export async function seriesOfId(
  args: SeriesArgs,
  deps: CommandDeps,
  query: string,
): Promise<Series | undefined> {
  if (deps.series) return deps.series;
  const config = settingsFor(deps, locationFlags(args));
  const plan = await seriesPlan(config, deps);
  if (!plan) {
    if (args.series !== undefined) throw singleDatabaseError();
    return undefined;
  }
  const all = [...plan.current, ...plan.vanished];
  if (args.series !== undefined) return selectSeries(plan, args.series, true)[0];
  const holding: { series: Series; exact: boolean }[] = [];
  for (const series of all) {
    const backups = await listBackups(
      storageFor(subStoreUrl(config.backupDir, series.name), config, deps),
    );
    const needle = query.trim();
    if (backups.some((b) => b.id === query)) holding.push({ series, exact: true });
    else if (needle !== "" && backups.some((b) => b.id.includes(needle))) {
      holding.push({ series, exact: false });
    }
  }
  const exact = holding.filter((h) => h.exact);
  const found = exact.length > 0 ? exact : holding;
  if (found.length === 1) return found[0].series;
  if (found.length > 1) {
    throw new SeriesAmbiguousError(query, found.map((h) => h.series.name));
  }
  throw new BackupNotFoundError(
    `Cannot find backup "${query}": no backup id of any series contains it (run "list" to see the ids)`,
  );
}

/**
 * The one series a command without an id works on (`restore --at`): `--series NAME`, or the only
 * one matched; with several and no `--series`, a usage error naming them. `undefined` for one
 * plain database.
 */
export async function seriesToPick(
  args: SeriesArgs,
  deps: CommandDeps,
  what: string,
): Promise<Series | undefined> {
  if (deps.series) return deps.series;
  const plan = await seriesPlan(settingsFor(deps, locationFlags(args)), deps);
  if (!plan) {
    if (args.series !== undefined) throw singleDatabaseError();
    return undefined;
  }
  if (args.series !== undefined) return selectSeries(plan, args.series, true)[0];
  if (plan.current.length === 1) return plan.current[0];
  throw new UsageError(
    `Cannot ${what}: the "database" setting names several databases; pick one with --series NAME (the series are ${
      plan.current.map((s) => `"${s.name}"`).join(", ")
    })`,
  );
}

/** An id that backups of several series match (exit 4, as an ambiguous id). */
export class SeriesAmbiguousError extends AmbiguousIdError {
  constructor(query: string, readonly series: string[]) {
    super(query, series);
    this.message = `Cannot choose a backup for "${query}": series ${
      series.map((s) => `"${s}"`).join(" and ")
    } each have one; pick one with --series NAME`;
  }
}

/** The series `--series` names, or all (current, and vanished when asked). */
function selectSeries(plan: SeriesPlan, name: string | undefined, vanished: boolean): Series[] {
  if (name === undefined) return vanished ? [...plan.current, ...plan.vanished] : plan.current;
  const found = [...plan.current, ...plan.vanished].find((s) => s.name === name);
  if (found) return [found];
  const known = [...plan.current, ...plan.vanished].map((s) => `"${s.name}"`);
  throw new UsageError(
    `Invalid value "${name}" for --series: no such series (${
      known.length ? `the series are ${known.join(", ")}` : "the database setting matches none"
    })`,
  );
}

function singleDatabaseError(): UsageError {
  return new UsageError(
    'Cannot use --series: the "database" setting names one database (--series picks one of a glob or a list)',
  );
}

function noSeriesError(config: Config): DatabaseNotFoundError {
  const setting = typeof config.database === "string"
    ? `"${config.database}"`
    : config.database.map((d) => `"${redact(d)}"`).join(", ");
  return new DatabaseNotFoundError(
    `Cannot find a database for "database" ${setting}: it matches no file (check the path and the pattern)`,
  );
}

/** One stderr line per vanished series: not an error, but the user should know. */
function reportVanished(plan: SeriesPlan, deps: CommandDeps): void {
  for (const series of plan.vanished) {
    deps.io.stderr(`Note: ${series.name}: ${vanishedText(series, deps)}\n`);
  }
}

function vanishedText(series: Series, deps: CommandDeps): string {
  return `the "database" setting no longer names ${
    redact(series.database, deps)
  }; its backups are kept (see "list --series ${series.name}")`;
}

/**
 * How notifications and messages name the database of a run: with several databases, the
 * series first (`app (sqlite:/srv/data/app.db)`), else the (redacted) location alone.
 */
export function databaseLabel(redacted: string, deps: CommandDeps): string {
  return deps.series ? `${deps.series.name} (${redacted})` : redacted;
}

/** What one series printed in JSON, each object with a `series` field first. */
function jsonOf(name: string, stdout: string): unknown[] {
  if (stdout.trim() === "") return [];
  let value: unknown;
  try {
    value = JSON.parse(stdout);
  } catch {
    return [{ series: name, output: stdout }];
  }
  const tag = (item: unknown) =>
    item && typeof item === "object" && !Array.isArray(item)
      ? { series: name, ...item }
      : { series: name, value: item };
  return Array.isArray(value) ? value.map(tag) : [tag(value)];
}

/** What one series printed, as a block under its name or as `name: line`. */
function textBlock(
  series: Series,
  stdout: string,
  deps: CommandDeps,
  options: { prefixLines: boolean; vanished: boolean },
): string {
  const lines = stdout.replace(/\n$/, "").split("\n");
  if (stdout.trim() === "") return "";
  if (options.prefixLines || lines.length === 1) return prefixed(series.name, stdout);
  const header = `${series.name} (${redact(series.database, deps)}${
    options.vanished ? ", no longer in the database setting" : ""
  }):\n`;
  return header + lines.map((line) => line === "" ? "\n" : `  ${line}\n`).join("") + "\n";
}

/** Every line of `text` with `name: ` before it. */
/** Each line of `text` with the series' name in front (`app: …`). */
export function prefixed(name: string, text: string): string {
  return text.replace(/^(?=.)/gm, `${name}: `);
}

function redact(database: string, deps?: CommandDeps): string {
  return engineFor(database, deps?.io.env ?? {}).redact(database);
}

/** Adds `--series NAME` to a command. */
export function withSeriesOption(command: Command, what = "run on"): Command {
  return command.option(
    "--series <name>",
    `with several databases (a glob or a list): only ${what} this series (default: every one)`,
  );
}

/** Runs `run` in the series that holds backup `query` (see {@linkcode seriesOfId}). */
export async function inSeriesOf(
  args: SeriesArgs,
  deps: CommandDeps,
  query: string,
  run: (deps: CommandDeps) => Promise<number>,
): Promise<number> {
  const series = await seriesOfId(args, deps, query);
  return await run(series ? { ...deps, series } : deps);
}
