/**
 * Round trip of PostgreSQL's own regression database (issue 10, part E).
 *
 * pg_upgrade's test suite checks pg_dump against the database the server's regression tests leave
 * behind, because it holds nearly every kind of object in odd combinations. This script builds that
 * database from a directory of regression SQL files (a PostgreSQL source tree's
 * `src/test/regress/sql`, which we do not ship), then copies it twice and compares each copy with
 * the source by our fidelity oracle (`tests/helpers/pg_compare.ts`):
 *
 * - `pg_dump | psql` into a fresh database (the reference: what pg_dump itself gets right);
 * - our `create`, then `restore --to NEW --create` and `restore --to EMPTY` (plain restore).
 *
 * It prints a summary (schema entries, tables, differences by object kind for each copy) and writes
 * the details to `bench/.work/regress_report.json`.
 *
 * Usage:
 *   deno task bench:regress --sql-dir PGSRC/src/test/regress/sql [--schedule PGSRC/src/test/regress/parallel_schedule]
 *     [--only NAME,NAME] [--keep]
 */
import { join, resolve } from "node:path";
import { startCluster, type TestCluster } from "../tests/helpers/pg_cluster.ts";
import { compareDatabases } from "../tests/helpers/pg_compare.ts";
import { schemaOf } from "../tests/helpers/pg_schema_dump.ts";
import { createDatabase, databaseUrl, PG_BIN, psql } from "../tests/helpers/pg_tools.ts";
import { runScript } from "../tests/helpers/cli.ts";
import { countKinds, scheduleTests } from "./_regress_kinds.ts";

const WORK = resolve(import.meta.dirname ?? ".", ".work");
const REPORT = join(WORK, "regress_report.json");
/** The regression database, named as pg_regress names it. */
const SOURCE_DB = "regression";
/** One regression file may not take longer than this (a test waiting on a lock forever). */
const FILE_TIMEOUT_MS = 180_000;

/**
 * What pg_regress sets on the database it creates: the regression files expect these, and a
 * faithful copy must carry them as database settings.
 */
const REGRESS_DATABASE_SETTINGS = [
  "lc_messages TO 'C'",
  "lc_monetary TO 'C'",
  "lc_numeric TO 'C'",
  "lc_time TO 'C'",
  "bytea_output TO 'hex'",
  "timezone_abbreviations TO 'Default'",
  "timezone TO 'PST8PDT'",
  "datestyle TO 'Postgres, MDY'",
  "intervalstyle TO 'postgres_verbose'",
];

/** Options from the command line. */
export interface RegressOptions {
  sqlDir: string;
  schedule?: string;
  /** Run only these tests (names without `.sql`), in schedule order. */
  only?: string[];
  /** Keep the cluster's data in `bench/.work/regress-cluster` (stopped, not removed) for a look. */
  keep: boolean;
}

/** One regression file's run. */
interface FileRun {
  name: string;
  errors: number;
  seconds: number;
  timedOut: boolean;
}

/** One copy's outcome. */
interface CopyOutcome {
  label: string;
  /** The first error of the copy's load, when it failed (a restore error names the statement). */
  error?: string;
  /** Statements that failed (pg_dump | psql goes on after an error; our restore stops). */
  loadErrors: number;
  seconds: number;
  differences: string[];
  byKind: Record<string, number>;
}

/** Reads `--sql-dir DIR [--schedule FILE] [--only a,b] [--keep]`; exits 2 on a bad argument. */
export function parseArgs(args: string[]): RegressOptions {
  let sqlDir: string | undefined;
  let schedule: string | undefined;
  let only: string[] | undefined;
  let keep = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--sql-dir") sqlDir = args[++i];
    else if (arg === "--schedule") schedule = args[++i];
    else if (arg === "--only") only = (args[++i] ?? "").split(",").filter((s) => s);
    else if (arg === "--keep") keep = true;
    else usage(`unknown argument ${arg}`);
  }
  if (!sqlDir) usage("--sql-dir is required");
  return { sqlDir: resolve(sqlDir!), schedule: schedule && resolve(schedule), only, keep };
}

function usage(problem: string): never {
  console.error(
    `${problem}: give --sql-dir PGSRC/src/test/regress/sql [--schedule FILE] [--only a,b] [--keep]`,
  );
  Deno.exit(2);
}

/** The files to run: the schedule's that exist in `sqlDir`, else every `.sql` file by name. */
async function testFiles(options: RegressOptions): Promise<string[]> {
  const present = new Set<string>();
  for await (const entry of Deno.readDir(options.sqlDir)) {
    if (entry.isFile && entry.name.endsWith(".sql")) present.add(entry.name.slice(0, -4));
  }
  let names = options.schedule
    ? scheduleTests(await Deno.readTextFile(options.schedule)).filter((n) => present.has(n))
    : [...present].sort();
  if (options.only) names = names.filter((n) => options.only!.includes(n));
  return names;
}

/** Runs one regression file with psql, errors accepted; counts them. */
async function runFile(url: string, options: RegressOptions, name: string): Promise<FileRun> {
  const started = performance.now();
  const source = resolve(options.sqlDir, "..");
  const child = new Deno.Command(`${PG_BIN}/psql`, {
    args: ["-X", "-q", "-a", "-d", url, "-f", join(options.sqlDir, `${name}.sql`)],
    cwd: options.sqlDir,
    env: {
      PG_ABS_SRCDIR: source,
      PG_ABS_BUILDDIR: source,
      PG_LIBDIR: join(source, "lib"),
      PG_DLSUFFIX: ".so",
      PGAPPNAME: `pg_regress/${name}`,
      PGTZ: "PST8PDT",
      PGDATESTYLE: "Postgres, MDY",
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, FILE_TIMEOUT_MS);
  const output = await child.output();
  clearTimeout(timer);
  const stderr = new TextDecoder().decode(output.stderr);
  const errors = stderr.split("\n").filter((l) => /^psql:.*(ERROR|FATAL):/.test(l)).length;
  return { name, errors, seconds: (performance.now() - started) / 1000, timedOut };
}

/** Creates the regression database as pg_regress does, and the roles its files take for granted. */
async function prepareSource(cluster: TestCluster): Promise<string> {
  await psql(cluster.url, `CREATE DATABASE ${SOURCE_DB} TEMPLATE template0 ENCODING 'UTF8'`);
  for (const setting of REGRESS_DATABASE_SETTINGS) {
    await psql(cluster.url, `ALTER DATABASE ${SOURCE_DB} SET ${setting}`);
  }
  return databaseUrl(cluster.url, SOURCE_DB);
}

/** With `--keep` the cluster is reused: the last run's databases and tablespaces go first. */
async function dropEarlierRun(cluster: TestCluster): Promise<void> {
  const names = (await psql(
    cluster.url,
    "SELECT datname FROM pg_database WHERE datname <> 'postgres' AND NOT datistemplate",
  )).trim();
  for (const name of names ? names.split("\n") : []) {
    await psql(cluster.url, `DROP DATABASE "${name}" WITH (FORCE)`).catch(() => {});
  }
}

/** `pg_dump SOURCE | psql TARGET`, going on after errors; returns the errors psql printed. */
async function pgDumpCopy(source: string, target: string): Promise<string[]> {
  const dump = new Deno.Command(`${PG_BIN}/pg_dump`, {
    args: ["-d", source],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const load = new Deno.Command(`${PG_BIN}/psql`, {
    args: ["-X", "-q", "-d", target],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const piping = dump.stdout.pipeTo(load.stdin).catch(() => {});
  const [dumpStderr, , loadOut] = await Promise.all([
    new Response(dump.stderr).text(),
    dump.status,
    load.output(),
  ]);
  await piping;
  const lines = new TextDecoder().decode(loadOut.stderr).split("\n");
  const dumpErrors = dumpStderr.trim();
  return [
    ...(dumpErrors ? [`pg_dump: ${dumpErrors}`] : []),
    ...lines.filter((l) => /ERROR:/.test(l)),
  ];
}

async function outcome(
  label: string,
  source: string,
  target: string,
  started: number,
  errors: string[],
  failure?: string,
): Promise<CopyOutcome> {
  const differences = await compareDatabases(source, target, { limit: 100_000 });
  return {
    label,
    error: failure ?? errors[0],
    loadErrors: errors.length,
    seconds: (performance.now() - started) / 1000,
    differences,
    byKind: countKinds(differences),
  };
}

/** Our create, then restore into `target` (`--create` or an empty database made first). */
async function ourCopy(
  cluster: TestCluster,
  source: string,
  backupId: string,
  dir: string,
  name: string,
  create: boolean,
): Promise<CopyOutcome> {
  const started = performance.now();
  const target = databaseUrl(cluster.url, name);
  if (!create) await createDatabase(cluster.url, name);
  const args = ["restore", backupId, "--dir", dir, "--to", target, "--verbose"];
  const result = await runScript(create ? [...args, "--create"] : args);
  const failure = result.code === 0
    ? undefined
    : `exit ${result.code}: ${result.stderr.trim().split("\n").slice(0, 6).join(" | ")}`;
  const label = create ? "ours (restore --create)" : "ours (restore into empty)";
  if (failure) {
    const stub = { differences: [], byKind: {}, loadErrors: 1 };
    if (!create) return { label, error: failure, seconds: 0, ...stub };
    // With --create nothing is left to compare when the load failed.
    return { label, error: failure, seconds: (performance.now() - started) / 1000, ...stub };
  }
  return await outcome(label, source, target, started, []);
}

function printSummary(facts: Record<string, number>, copies: CopyOutcome[]): void {
  console.log("");
  for (const [k, v] of Object.entries(facts)) console.log(`${k.padEnd(28)} ${v}`);
  const kinds = [...new Set(copies.flatMap((c) => Object.keys(c.byKind)))].sort();
  const width = Math.max(20, ...kinds.map((k) => k.length)) + 2;
  console.log("");
  console.log(
    `${"differences by kind".padEnd(width)}${copies.map((c) => c.label.padStart(28)).join("")}`,
  );
  for (const kind of kinds) {
    const cells = copies.map((c) => String(c.byKind[kind] ?? "").padStart(28)).join("");
    console.log(`${kind.padEnd(width)}${cells}`);
  }
  const total = copies.map((c) => String(c.differences.length).padStart(28)).join("");
  console.log(`${"(difference lines)".padEnd(width)}${total}`);
  for (const c of copies) {
    console.log(
      `${c.label}: ${c.seconds.toFixed(1)} s, load errors ${c.loadErrors}` +
        (c.error ? `, first: ${c.error.slice(0, 400)}` : ""),
    );
  }
  console.log(`\ndetails: ${REPORT}`);
}

async function main(): Promise<void> {
  const options = parseArgs(Deno.args);
  const files = await testFiles(options);
  if (files.length === 0) usage(`no regression files in ${options.sqlDir}`);
  await Deno.mkdir(WORK, { recursive: true });
  const cluster = await startCluster({
    directory: options.keep ? join(WORK, "regress-cluster") : undefined,
    settings: {
      max_locks_per_transaction: 512,
      max_prepared_transactions: 10,
      allow_in_place_tablespaces: "on",
      wal_level: "logical",
    },
  });
  try {
    if (options.keep) await dropEarlierRun(cluster);
    const source = await prepareSource(cluster);
    const runs: FileRun[] = [];
    for (const name of files) {
      const run = await runFile(source, options, name);
      runs.push(run);
      console.log(
        `${name.padEnd(28)} ${String(run.errors).padStart(4)} errors ${run.seconds.toFixed(1)} s` +
          (run.timedOut ? " (timed out)" : ""),
      );
    }
    // Prepared transactions left behind hold locks that would stall the dumps.
    const prepared = (await psql(source, "SELECT gid FROM pg_prepared_xacts")).trim();
    for (const gid of prepared ? prepared.split("\n") : []) {
      await psql(source, `ROLLBACK PREPARED '${gid.replaceAll("'", "''")}'`).catch(() => {});
    }
    const schema = await schemaOf(source);
    const tables = Number(
      (await psql(
        source,
        `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r','p') AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'`,
      )).trim(),
    );
    const copies: CopyOutcome[] = [];
    let started = performance.now();
    await createDatabase(cluster.url, "regress_pg_dump");
    const pgDumpErrors = await pgDumpCopy(source, databaseUrl(cluster.url, "regress_pg_dump"));
    copies.push(
      await outcome(
        "pg_dump | psql",
        source,
        databaseUrl(cluster.url, "regress_pg_dump"),
        started,
        pgDumpErrors,
      ),
    );
    const dir = join(WORK, "regress-backups");
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    started = performance.now();
    const created = await runScript([
      "create",
      "--database",
      source,
      "--dir",
      dir,
      "--format",
      "json",
    ]);
    const createSeconds = (performance.now() - started) / 1000;
    if (created.code !== 0) {
      copies.push({
        label: "ours (create)",
        error: `exit ${created.code}: ${created.stderr.trim()}`,
        loadErrors: 1,
        seconds: createSeconds,
        differences: [],
        byKind: {},
      });
    } else {
      const id = JSON.parse(created.stdout).id as string;
      copies.push(await ourCopy(cluster, source, id, dir, "regress_ours_create", true));
      copies.push(await ourCopy(cluster, source, id, dir, "regress_ours_empty", false));
    }
    const facts = {
      "regression files run": runs.length,
      "their errors (accepted)": runs.reduce((n, r) => n + r.errors, 0),
      "schema entries": schema.length,
      "tables": tables,
      "our create (s)": Math.round(createSeconds * 10) / 10,
    };
    await Deno.writeTextFile(
      REPORT,
      JSON.stringify({ facts, files: runs, copies }, null, 2) + "\n",
    );
    printSummary(facts, copies);
  } finally {
    await cluster.stop();
  }
}

if (import.meta.main) await main();
