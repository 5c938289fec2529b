/**
 * PostgreSQL backup benchmark: `deno task bench:pg [--size-mb N] [--quick] [--keep]`.
 *
 * What is measured, and why:
 * - **create**: wall time of `backup-manager create --database URL` (a fresh `deno run`
 *   subprocess, start-up included, as cron would pay it) against `pg_dump URL | gzip -6 > FILE`.
 *   Target: ours ≤ 0.6 × reference.
 * - **restore**: wall time of `backup-manager restore <id> --to URL --create` into a database
 *   that does not exist yet against `createdb NAME && gunzip -c FILE | psql -q -d NAME`.
 *   Target: ours ≤ 0.8 × reference. Our restore is then checked against the source: row counts
 *   and content aggregates of every table must match.
 * - **peak RSS** (`/usr/bin/time -f %M`) of our create and restore on a small (~300 MiB) and a
 *   large (≥ 1 GiB) database: memory must not grow with the database (large/small within 10 %)
 *   and must stay under 300 MiB.
 *
 * The server is a cluster of our own in `bench/.work/pg/` (kept between runs with its
 * databases, rebuilt when the generator or the size changes), tuned like a real server: shared_buffers
 * 256MB, max_wal_size 8GB, checkpoint_timeout 30min, maintenance_work_mem 256MB. fsync and
 * full_page_writes are off, for both sides alike: the machine's disk is not what is compared.
 * The databases hold realistic rows (see `_pg_generator.ts`). Every timed run reads warm data:
 * one untimed pass over every table comes first. Times are medians. Always exits 0; a missed
 * target is printed as FAIL.
 */

import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import {
  benchCreate,
  type Comparison,
  type CreateResult,
  fileSize,
  MIB,
  mib,
  ours,
  printRss,
  printTable,
  remove,
  type Run,
  shell,
  WORK,
} from "./_measure.ts";
import {
  BYTES_PER_UNIT,
  GENERATED_TABLES,
  GENERATOR_VERSION,
  generatorSql,
} from "./_pg_generator.ts";
import { startCluster } from "../tests/helpers/pg_cluster.ts";
import { databaseUrl, dropDatabase, PG_BIN, psql } from "../tests/helpers/pg_tools.ts";

const TARGET = { create: 0.6, restore: 0.8 };
const SERVER_SETTINGS = {
  shared_buffers: "256MB",
  max_wal_size: "8GB",
  checkpoint_timeout: "30min",
  maintenance_work_mem: "256MB",
  max_connections: 50,
};

interface Options {
  smallMiB: number;
  largeMiB: number;
  smallReps: number;
  largeReps: number;
  /** Leave the restored databases in place (for inspection). */
  keep: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "size-mb": { type: "string" },
      quick: { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
    },
  });
  const quick = values.quick ?? false;
  const largeMiB = values["size-mb"] === undefined
    ? (quick ? 120 : 1100)
    : Number(values["size-mb"]);
  if (!Number.isFinite(largeMiB) || largeMiB < 20) {
    console.error(`--size-mb must be a number ≥ 20, got ${values["size-mb"]}`);
    Deno.exit(2);
  }
  return {
    smallMiB: quick ? 40 : 300,
    largeMiB,
    smallReps: 1,
    largeReps: quick ? 1 : 2,
    keep: values.keep ?? false,
  };
}

// ---------------------------------------------------------------- databases

async function databaseSize(url: string): Promise<number> {
  return Number(await psql(url, "SELECT pg_database_size(current_database())"));
}

/** The generator marker of a built database (`generator version V, N units`), or "". */
async function marker(url: string): Promise<string> {
  try {
    return (await psql(url, "SELECT obj_description('public.events'::regclass, 'pg_class')"))
      .trim();
  } catch {
    return "";
  }
}

/** Builds (or reuses) database `name` of about `targetMiB`; returns its URL. */
async function ensureDatabase(server: string, name: string, targetMiB: number): Promise<string> {
  const url = databaseUrl(server, name);
  const units = Math.round(targetMiB * MIB / BYTES_PER_UNIT);
  if (await marker(url) === `generator version ${GENERATOR_VERSION}, ${units} units`) {
    console.log(`reusing ${name} (${mib(await databaseSize(url))})`);
    return url;
  }
  await dropDatabase(server, name);
  await psql(server, `CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8'`);
  const start = performance.now();
  await psql(url, generatorSql(units));
  const seconds = (performance.now() - start) / 1000;
  console.log(`built ${name} (${mib(await databaseSize(url))}) in ${seconds.toFixed(1)} s`);
  return url;
}

/** Row counts and content aggregates per table: a cheap check that a restore is complete. */
async function fingerprint(url: string): Promise<string> {
  return (await psql(
    url,
    `SELECT (SELECT count(*) || ' ' || sum(length(name || email)) || ' ' || sum(balance)
               FROM customers),
            (SELECT count(*) || ' ' || sum(total) || ' ' || sum(length(items::text)) FROM orders),
            (SELECT count(*) || ' ' || sum(length(payload)) || ' ' || sum(duration_ms)
               FROM events),
            (SELECT count(*) || ' ' || sum(length(content)) FROM attachments),
            (SELECT string_agg(version, ',' ORDER BY version) FROM schema_migrations)`,
  )).trim();
}

async function checkRestored(source: string, restored: string, label: string): Promise<void> {
  const [want, got] = await Promise.all([fingerprint(source), fingerprint(restored)]);
  console.log(
    want === got
      ? `${label}: row counts and aggregates of ${GENERATED_TABLES.join(", ")} match the source`
      : `FAIL: ${label} differs from the source: ${got} vs ${want}`,
  );
}

/** One untimed pass over every table, so that timed runs all read warm data. */
async function warmUp(url: string): Promise<void> {
  await psql(url, GENERATED_TABLES.map((t) => `SELECT count(*) FROM ${t};`).join("\n"));
}

// ---------------------------------------------------------------- measurements

async function benchRestore(
  server: string,
  source: string,
  dir: string,
  created: CreateResult,
  reps: number,
  withRef: boolean,
  keep: boolean,
): Promise<{ ours: Run[]; reference: Run[] }> {
  const [target, refTarget] = ["bench_restored", "bench_restored_ref"];
  const oursRuns: Run[] = [];
  const refRuns: Run[] = [];
  for (let i = 0; i < reps; i++) {
    await dropDatabase(server, target);
    oursRuns.push(
      await ours([
        "restore",
        created.id,
        "--to",
        databaseUrl(server, target),
        "--create",
        "--dir",
        dir,
      ]),
    );
    if (withRef) {
      await dropDatabase(server, refTarget);
      const refUrl = databaseUrl(server, refTarget);
      refRuns.push(
        await shell(
          `'${PG_BIN}/createdb' --maintenance-db='${server}' '${refTarget}' && ` +
            `gunzip -c '${created.refDump}' | '${PG_BIN}/psql' -X -q -v ON_ERROR_STOP=1 ` +
            `-d '${refUrl}' > /dev/null`,
        ),
      );
    }
  }
  await checkRestored(source, databaseUrl(server, target), "our restore");
  if (!keep) {
    await dropDatabase(server, target);
    await dropDatabase(server, refTarget);
  }
  return { ours: oursRuns, reference: refRuns };
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const options = parseOptions();
  await Deno.mkdir(WORK, { recursive: true });
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  const cluster = await startCluster({ directory: `${WORK}pg`, settings: SERVER_SETTINGS });
  try {
    const server = cluster.url;
    // Named by size, so a --quick run does not replace the full-size databases.
    const small = await ensureDatabase(server, `bench_${options.smallMiB}mb`, options.smallMiB);
    const large = await ensureDatabase(server, `bench_${options.largeMiB}mb`, options.largeMiB);
    const smallDir = `${WORK}pg-backups-small`;
    const largeDir = `${WORK}pg-backups-large`;

    const smallCreate = await benchCreate(
      small,
      smallDir,
      options.smallReps,
      null,
      () => warmUp(small),
    );
    const smallRestore = await benchRestore(
      server,
      small,
      smallDir,
      smallCreate,
      options.smallReps,
      false,
      false,
    );
    const largeCreate = await benchCreate(
      large,
      largeDir,
      options.largeReps,
      (refDump) => `'${PG_BIN}/pg_dump' -d '${large}' | gzip -6 > '${refDump}'`,
      () => warmUp(large),
    );
    const largeRestore = await benchRestore(
      server,
      large,
      largeDir,
      largeCreate,
      options.largeReps,
      true,
      options.keep,
    );

    const oursGz = await fileSize(`${largeDir}/${largeCreate.id}.sql.gz`);
    const refGz = await fileSize(largeCreate.refDump);
    const internalMs = JSON.parse(largeCreate.ours.at(-1)!.stdout).durationMs;
    console.log();
    console.log(
      `databases (pg_database_size): small ${mib(await databaseSize(small))}, large ${
        mib(await databaseSize(large))
      }; median of ${options.largeReps} run(s) on large`,
    );
    console.log(
      `large compressed: ours ${mib(oursGz)}, reference pg_dump | gzip -6 ${mib(refGz)}`,
    );
    console.log(`last large create reports ${(internalMs / 1000).toFixed(2)} s of its own`);
    console.log();
    const rows: Comparison[] = [
      { operation: "create (large)", ...largeCreate, target: TARGET.create },
      { operation: "restore (large)", ...largeRestore, target: TARGET.restore },
    ];
    printTable(rows);
    console.log();
    printRss("create", smallCreate.ours, largeCreate.ours);
    printRss("restore", smallRestore.ours, largeRestore.ours);
    console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
    await remove(smallDir, largeDir);
  } finally {
    await cluster.stop();
  }
}

if (import.meta.main) await main();
