/**
 * Shape matrix benchmark: `deno task bench:shapes [--quick] [--engine sqlite|postgres]
 * [--shape NAME]... [--size-mb N] [--keep]`.
 *
 * For each engine, one database per table shape (SQLite: plain rowid tables with indexes,
 * WITHOUT ROWID with a composite key, REAL zeros and -0.0, 150 columns, blobs of 200 KB-2 MB,
 * 1,200 small tables, FTS5; PostgreSQL: the same where they make sense, plus 545 tables and 281
 * views with little data), about 100 MiB each (`--quick`: 15 MiB, and no large one), and a
 * large mixed database of every shape (`--size-mb`, default 1100 MiB). Each is measured:
 * - **create**: our `create` (a fresh `deno run` process, as cron pays it) against `sqlite3 DB
 *   .dump | gzip -6` / `pg_dump URL | gzip -6`; target ≤ 0.5× (schema-heavy PostgreSQL ≤ 1.0×);
 * - **restore**: our `restore ID --to PATH --force` / `--to URL --create` against `gunzip -c |
 *   sqlite3 NEW` / `createdb N && gunzip -c | psql -q -d N`; target ≤ 0.5× (SQLite), ≤ 0.7×
 *   (PostgreSQL). Our restore must match the source: every table's row count, total value
 *   length and negative zeros (SQLite; the text of every row for PostgreSQL), the schema's
 *   object counts, and FTS5's own integrity-check;
 * - **zstd** (the plain shape): `create --compression zstd:3` against `… | zstd -3`, target
 *   ≤ 0.8×, when `create --help` lists `--compression` ("zstd: not available yet" otherwise);
 * - **peak RSS** (`/usr/bin/time -f %M`) of create and restore on the plain and the large
 *   database: within ±10 % of each other and under 300 MiB; and the highest over every shape.
 *
 * Times are medians of 3 (1 with `--quick`), ours and the reference alternating, after a warm-up
 * read of the source. SQLite databases live in `bench/.work/shapes/`, PostgreSQL ones in a
 * cluster of the benchmark's own (`bench/.work/pg-shapes/`, tuned like `postgres_bench.ts`, with
 * `max_locks_per_transaction` 256 for the databases of 1,000+ tables); both are kept between
 * runs and rebuilt when their shape's version or size changes. Prints one table and writes it
 * to `bench/.work/shapes_result.json`. Always exits 0: a missed target, a restore that differs
 * and a command that fails are FAIL lines.
 */

import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import {
  CLI,
  mib,
  ours,
  peakRss,
  printColumns,
  remove,
  RSS_LIMIT_KB,
  type Run,
  run,
  seconds,
  shell,
  WORK,
} from "./_measure.ts";
import {
  type BuiltDatabase,
  ensureSqliteShape,
  type Fingerprint,
  SQLITE_LARGE,
  SQLITE_SHAPES,
  sqliteFingerprint,
} from "./_sqlite_shapes.ts";
import { ensurePgShape, PG_LARGE, PG_SHAPES, pgFingerprint } from "./_pg_shapes.ts";
import { startCluster, type TestCluster } from "../tests/helpers/pg_cluster.ts";
import { databaseUrl, dropDatabase, PG_BIN, psql } from "../tests/helpers/pg_tools.ts";

const TARGET = { create: 0.5, schemaCreate: 1.0, sqliteRestore: 0.5, pgRestore: 0.7, zstd: 0.8 };
/** Peak RSS on the large database must be within this fraction of the plain one's. */
const RSS_FLAT = 0.1;
/** As `postgres_bench.ts`, plus room for the locks of 1,500 tables in one transaction. */
const SERVER_SETTINGS = {
  shared_buffers: "256MB",
  max_wal_size: "8GB",
  checkpoint_timeout: "30min",
  maintenance_work_mem: "256MB",
  max_connections: 50,
  max_locks_per_transaction: 256,
};
const RUN_DIR = `${WORK}shapes-run/`;
const RESULT_FILE = `${WORK}shapes_result.json`;

type EngineName = "sqlite" | "postgres";

interface Options {
  quick: boolean;
  engines: EngineName[];
  /** The shapes named with `--shape`; every shape when empty. */
  shapes: string[];
  shapeMiB: number;
  largeMiB: number;
  reps: number;
  /** Leave the restored databases in place. */
  keep: boolean;
}

/** One line of the table (and of the JSON file). */
interface Row {
  engine: EngineName;
  shape: string;
  operation: string;
  ours: string;
  reference: string;
  ratio: number | null;
  target: string;
  result: "PASS" | "FAIL" | "SKIP";
  note?: string;
  samples?: { ours: number[]; reference: number[]; oursRssMiB: number[] };
}

/** A shape's database, built and ready. `db.path` is a file (SQLite) or a URL (PostgreSQL). */
interface Source {
  shape: { name: string; title: string };
  db: BuiltDatabase;
}

/** What differs between the engines: reference pipelines, restore targets and checks. */
interface Engine {
  name: EngineName;
  restoreTarget: number;
  /** The reference dump of `source` through `compress` into `file`, as a shell pipeline. */
  dumpScript(source: string, compress: string, file: string): string;
  /** Our restore's arguments into `target`, which `clear` has made absent. */
  restoreArgs(target: string): string[];
  refRestoreScript(file: string, target: string): string;
  /** Where our restore and the reference's go, for `shape`. */
  targets(shape: string): [string, string];
  clear(target: string): Promise<void>;
  /** Of a source (which it reads whole: the warm-up too) or of a restore target. */
  fingerprint(database: string, restored: boolean): Promise<Fingerprint>;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean", default: false },
      engine: { type: "string" },
      shape: { type: "string", multiple: true, default: [] },
      "size-mb": { type: "string" },
      keep: { type: "boolean", default: false },
    },
  });
  const engine = values.engine;
  if (engine !== undefined && engine !== "sqlite" && engine !== "postgres") {
    throw new Error(`--engine must be "sqlite" or "postgres", got "${engine}"`);
  }
  const known = new Set(["large", ...[...SQLITE_SHAPES, ...PG_SHAPES].map((s) => s.name)]);
  for (const shape of values.shape ?? []) {
    if (!known.has(shape)) throw new Error(`Unknown shape "${shape}" (${[...known].join(", ")})`);
  }
  const largeMiB = values["size-mb"] === undefined ? 1100 : Number(values["size-mb"]);
  if (!Number.isFinite(largeMiB) || largeMiB < 20) {
    throw new Error(`--size-mb must be a number ≥ 20, got "${values["size-mb"]}"`);
  }
  const quick = values.quick ?? false;
  return {
    quick,
    engines: engine ? [engine] : ["sqlite", "postgres"],
    shapes: values.shape ?? [],
    shapeMiB: quick ? 15 : 100,
    largeMiB,
    reps: quick ? 1 : 3,
    keep: values.keep ?? false,
  };
}

/** The shapes to measure: those named by `--shape` (default all), then large unless `--quick`. */
function selected<T extends { name: string }>(options: Options, shapes: readonly T[], large: T) {
  const named = options.shapes;
  const list = shapes.filter((s) => named.length === 0 || named.includes(s.name));
  const withLarge = named.includes("large") || (named.length === 0 && !options.quick);
  return withLarge ? [...list, large] : list;
}

/** The line of an error that says what went wrong, with long quoted values cut short. */
function reason(error: unknown): string {
  const lines = String(error instanceof Error ? error.message : error).split("\n")
    .map((l) => l.trim()).filter(Boolean);
  const line = lines.find((l) => /error/i.test(l) && !/ failed \(\d+\):$/.test(l)) ?? lines[0];
  return (line ?? "").replace(/"([^"]{24})[^"]{8,}"/g, '"$1…"').slice(0, 200);
}

/** The first table (or "objects") whose fingerprint differs, or "" when all match. */
function difference(want: Fingerprint, got: Fingerprint): string {
  for (const [table, value] of want) {
    if (got.get(table) !== value) return `${table}: ${got.get(table) ?? "missing"} vs ${value}`;
  }
  for (const table of got.keys()) if (!want.has(table)) return `${table}: not in the source`;
  return "";
}

const BLANK = { ours: "", reference: "", ratio: null, target: "", result: "FAIL" } as const;

function row(engine: EngineName, shape: string, operation: string, rest: Partial<Row>): Row {
  return { ...BLANK, engine, shape, operation, ...rest };
}

/** A timed comparison; FAIL when the ratio misses `target` or a `note` says what is wrong. */
function timeRow(
  [engine, shape, operation]: [EngineName, string, string],
  runs: { ours: Run[]; reference: Run[] },
  target: number,
  note = "",
): Row {
  const ratio = seconds(runs.ours) / seconds(runs.reference);
  return row(engine, shape, operation, {
    ours: `${seconds(runs.ours).toFixed(2)} s`,
    reference: `${seconds(runs.reference).toFixed(2)} s`,
    ratio,
    target: `≤ ${target}`,
    result: ratio <= target && !note ? "PASS" : "FAIL",
    ...(note ? { note } : {}),
    samples: {
      ours: runs.ours.map((r) => r.seconds),
      reference: runs.reference.map((r) => r.seconds),
      oursRssMiB: runs.ours.map((r) => Math.round((r.rssKb ?? 0) / 1024)),
    },
  });
}

function failRow(engine: EngineName, shape: string, operation: string, error: unknown): Row {
  const note = reason(error);
  console.log(
    `FAIL: ${engine} ${shape} ${operation}: ${error instanceof Error ? error.message : error}`,
  );
  return row(engine, shape, operation, { ours: "error", note });
}

function createArgs(source: Source, dir: string, ...more: string[]): string[] {
  return ["create", "--database", source.db.path, "--dir", dir, "--format", "json", ...more];
}

const noRuns = () => ({ ours: [] as Run[], reference: [] as Run[] });

/** Our runs of create and restore on one shape, for the memory rows. */
interface Measured {
  create: Run[];
  restore: Run[];
}

/** Creates then restores `source` `reps` times each, ours and the reference alternating. */
async function measureShape(engine: Engine, source: Source, options: Options, rows: Row[]) {
  const { name } = source.shape;
  const dir = `${RUN_DIR}${engine.name}-${name}`;
  const refFile = `${dir}/ref.sql.gz`;
  const label = (operation: string): [EngineName, string, string] => [engine.name, name, operation];
  const [create, restore] = [noRuns(), noRuns()];
  await remove(dir);
  await Deno.mkdir(dir, { recursive: true });
  try {
    const want = await engine.fingerprint(source.db.path, false);
    let id = "";
    try {
      for (let i = 0; i < options.reps; i++) {
        create.ours.push(await ours(createArgs(source, dir)));
        id = JSON.parse(create.ours.at(-1)!.stdout).id;
        create.reference.push(await shell(engine.dumpScript(source.db.path, "gzip -6", refFile)));
      }
      const heavy = engine.name === "postgres" && name === "schema_heavy";
      rows.push(timeRow(label("create"), create, heavy ? TARGET.schemaCreate : TARGET.create));
    } catch (error) {
      rows.push(failRow(engine.name, name, "create", error));
      return null;
    }
    const [target, refTarget] = engine.targets(name);
    try {
      await shell(`cat '${dir}/'*.sql.gz > /dev/null`);
      for (let i = 0; i < options.reps; i++) {
        await engine.clear(target);
        restore.ours.push(await ours(["restore", id, "--dir", dir, ...engine.restoreArgs(target)]));
        await engine.clear(refTarget);
        restore.reference.push(await shell(engine.refRestoreScript(refFile, refTarget)));
      }
      const differs = difference(want, await engine.fingerprint(target, true));
      const note = differs ? `restore differs from the source: ${differs}` : "";
      if (note) console.log(`FAIL: ${engine.name} ${name}: ${note}`);
      rows.push(timeRow(label("restore"), restore, engine.restoreTarget, note));
    } catch (error) {
      rows.push(failRow(engine.name, name, "restore", error));
    } finally {
      if (!options.keep) { for (const t of [target, refTarget]) await engine.clear(t); }
    }
  } finally {
    await remove(dir);
  }
  return { create: create.ours, restore: restore.ours };
}

/** Our `create --compression zstd:3` against `dump | zstd -3`. */
async function measureZstd(engine: Engine, source: Source, options: Options): Promise<Row> {
  const dir = `${RUN_DIR}${engine.name}-${source.shape.name}-zstd`;
  await remove(dir);
  await Deno.mkdir(dir, { recursive: true });
  const runs = noRuns();
  try {
    await engine.fingerprint(source.db.path, false);
    for (let i = 0; i < options.reps; i++) {
      runs.ours.push(await ours(createArgs(source, dir, "--compression", "zstd:3")));
      const refFile = `${dir}/ref.sql.zst`;
      runs.reference.push(await shell(engine.dumpScript(source.db.path, "zstd -3 -q -c", refFile)));
    }
    return timeRow([engine.name, source.shape.name, "create zstd"], runs, TARGET.zstd);
  } catch (error) {
    return failRow(engine.name, source.shape.name, "create zstd", error);
  } finally {
    await remove(dir);
  }
}

/** Memory rows: plain against large (±10 %, < 300 MiB), and the highest over every shape. */
function memoryRows(engine: EngineName, measured: Map<string, Measured>): Row[] {
  const rows: Row[] = [];
  const limit = `< ${RSS_LIMIT_KB / 1024} MiB`;
  const inMiB = (kb: number) => (kb / 1024).toFixed(0);
  for (const op of ["create", "restore"] as const) {
    const peaks = [...measured].filter(([, m]) => m[op].length)
      .map(([shape, m]) => ({ shape, kb: peakRss(m[op]) }));
    const [small, large] = ["plain", "large"].map((n) => peaks.find((p) => p.shape === n)?.kb);
    if (small !== undefined && large !== undefined) {
      const ratio = large / small;
      const ok = Math.max(small, large) < RSS_LIMIT_KB && Math.abs(ratio - 1) <= RSS_FLAT;
      rows.push(row(engine, "plain / large", `peak RSS ${op}`, {
        ours: `${inMiB(small)} / ${inMiB(large)} MiB`,
        ratio,
        target: `±${RSS_FLAT * 100}%, ${limit}`,
        result: ok ? "PASS" : "FAIL",
      }));
    } else if (small !== undefined) {
      rows.push(row(engine, "plain", `peak RSS ${op}`, {
        ours: `${inMiB(small)} MiB`,
        target: limit,
        result: small < RSS_LIMIT_KB ? "PASS" : "FAIL",
        note: "no large run: limit only",
      }));
    }
    const top = peaks.sort((a, b) => b.kb - a.kb)[0];
    if (peaks.length > 1) {
      rows.push(row(engine, `max: ${top.shape}`, `peak RSS ${op}`, {
        ours: `${inMiB(top.kb)} MiB`,
        target: limit,
        result: top.kb < RSS_LIMIT_KB ? "PASS" : "FAIL",
      }));
    }
  }
  return rows;
}

const sqliteEngine: Engine = {
  name: "sqlite",
  restoreTarget: TARGET.sqliteRestore,
  dumpScript: (db, compress, file) => `sqlite3 '${db}' .dump | ${compress} > '${file}'`,
  restoreArgs: (target) => ["--to", target, "--force"],
  refRestoreScript: (file, target) => `gunzip -c '${file}' | sqlite3 '${target}'`,
  targets: (shape) => [`${RUN_DIR}sqlite-${shape}-ours.db`, `${RUN_DIR}sqlite-${shape}-ref.db`],
  clear: (path) => remove(path, `${path}-wal`, `${path}-shm`, `${path}-journal`),
  async fingerprint(db, restored) {
    if (!restored) await shell(`cat '${db}' > /dev/null`);
    return sqliteFingerprint(db, restored);
  },
};

function pgEngine(server: string): Engine {
  const psqlCommand = `'${PG_BIN}/psql' -X -q -v ON_ERROR_STOP=1`;
  return {
    name: "postgres",
    restoreTarget: TARGET.pgRestore,
    dumpScript: (url, compress, file) =>
      `'${PG_BIN}/pg_dump' -d '${url}' | ${compress} > '${file}'`,
    restoreArgs: (target) => ["--to", databaseUrl(server, target), "--create"],
    refRestoreScript: (file, target) =>
      `'${PG_BIN}/createdb' --maintenance-db='${server}' '${target}' && ` +
      `gunzip -c '${file}' | ${psqlCommand} -d '${databaseUrl(server, target)}' > /dev/null`,
    targets: (shape) => [`shapes_${shape}_ours`, `shapes_${shape}_ref`],
    clear: (name) => dropDatabase(server, name),
    fingerprint: (database, restored) =>
      pgFingerprint(restored ? databaseUrl(server, database) : database),
  };
}

/** Builds (or reuses) every database first, so no build runs during a measurement. */
async function sources<T extends { name: string; title: string }>(
  engine: EngineName,
  shapes: T[],
  ensure: (shape: T) => Promise<BuiltDatabase>,
  rows: Row[],
): Promise<Source[]> {
  const ready: Source[] = [];
  for (const shape of shapes) {
    try {
      const db = await ensure(shape);
      const how = db.buildSeconds ? `built in ${db.buildSeconds.toFixed(1)} s` : "reused";
      console.log(`${engine} ${shape.name}: ${mib(db.bytes)}, ${how}`);
      ready.push({ shape, db });
    } catch (error) {
      rows.push(failRow(engine, shape.name, "build", error));
    }
  }
  return ready;
}

/** The ratio, target and result cells of a row. */
function verdict(r: Row): string[] {
  return [r.ratio?.toFixed(2) ?? "", r.target, r.result + (r.note ? ` (${r.note})` : "")];
}

/** One row as a progress line. */
function progress(r: Row): string {
  const ratio = r.ratio === null ? "" : `, ratio ${r.ratio.toFixed(2)}`;
  return `${r.operation}: ours ${r.ours}${r.reference ? `, reference ${r.reference}` : ""}${ratio}`;
}

async function measureEngine(engine: Engine, ready: Source[], options: Options, zstd: boolean) {
  const rows: Row[] = [];
  const measured = new Map<string, Measured>();
  const add = (...more: Row[]) => {
    for (const r of more) console.log(progress(r));
    rows.push(...more);
  };
  for (const source of ready) {
    const { name, title } = source.shape;
    console.log(`\n--- ${engine.name} ${name} (${title}, ${mib(source.db.bytes)})`);
    const shapeRows: Row[] = [];
    try {
      const result = await measureShape(engine, source, options, shapeRows);
      if (result) measured.set(name, result);
    } catch (error) {
      shapeRows.push(failRow(engine.name, name, "read source", error));
    }
    add(...shapeRows);
    if (name !== "plain") continue;
    if (zstd) add(await measureZstd(engine, source, options));
    else {
      console.log("zstd: not available yet");
      const skip = {
        ours: "not available yet",
        target: `≤ ${TARGET.zstd}`,
        result: "SKIP" as const,
      };
      add(row(engine.name, name, "create zstd", skip));
    }
  }
  return [...rows, ...memoryRows(engine.name, measured)];
}

async function main(): Promise<void> {
  let options: Options;
  try {
    options = parseOptions();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    Deno.exit(2);
  }
  const started = performance.now();
  const loadStart = loadavg();
  await Deno.mkdir(RUN_DIR, { recursive: true });
  const help = await run(Deno.execPath(), ["run", "-A", CLI, "create", "--help"]);
  const zstd = help.stdout.includes("--compression");
  const miB = (name: string) => name === "large" ? options.largeMiB : options.shapeMiB;
  const rows: Row[] = [];
  const databases: { engine: EngineName; shape: string; bytes: number }[] = [];
  const note = (engine: EngineName, ready: Source[]) =>
    databases.push(...ready.map((s) => ({ engine, shape: s.shape.name, bytes: s.db.bytes })));
  if (options.engines.includes("sqlite")) {
    const shapes = selected(options, SQLITE_SHAPES, SQLITE_LARGE);
    const ready = await sources(
      "sqlite",
      shapes,
      (s) => Promise.resolve(ensureSqliteShape(s, `${WORK}shapes/`, miB(s.name))),
      rows,
    );
    note("sqlite", ready);
    rows.push(...await measureEngine(sqliteEngine, ready, options, zstd));
  }
  if (options.engines.includes("postgres")) {
    let cluster: TestCluster | null = null;
    const interrupted = () => {
      (cluster?.stop() ?? Promise.resolve()).finally(() => Deno.exit(130));
    };
    Deno.addSignalListener("SIGINT", interrupted);
    try {
      cluster = await startCluster({ directory: `${WORK}pg-shapes`, settings: SERVER_SETTINGS });
      const server = cluster.url;
      const shapes = selected(options, PG_SHAPES, PG_LARGE);
      const ready = await sources(
        "postgres",
        shapes,
        (s) => ensurePgShape(server, s, miB(s.name)),
        rows,
      );
      await psql(server, "CHECKPOINT");
      note("postgres", ready);
      rows.push(...await measureEngine(pgEngine(server), ready, options, zstd));
    } finally {
      Deno.removeSignalListener("SIGINT", interrupted);
      await cluster?.stop();
    }
  }
  const minutes = (performance.now() - started) / 60_000;
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(" ");
  console.log(
    `\nshape matrix, ${options.quick ? "--quick: 1 run" : `median of ${options.reps}`} each; ` +
      `load average ${load(loadStart)} at start, ${load(loadavg())} at end; ` +
      `${minutes.toFixed(1)} min\n`,
  );
  printColumns(
    ["engine", "shape", "operation", "ours", "reference", "ratio", "target", "result"],
    rows.map((r) => [r.engine, r.shape, r.operation, r.ours, r.reference, ...verdict(r)]),
  );
  const loadAverage = { start: loadStart, end: loadavg() };
  const { quick, reps } = options;
  const result = { date: new Date().toISOString(), quick, reps, minutes, loadAverage, databases };
  await Deno.writeTextFile(RESULT_FILE, JSON.stringify({ ...result, rows }, null, 2) + "\n");
  console.log(`\nwritten to ${RESULT_FILE}`);
  if (!options.keep) await remove(RUN_DIR);
}

if (import.meta.main) await main();
