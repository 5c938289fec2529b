/**
 * S3 and encryption benchmark: `deno task bench:s3 [--size-mb N] [--quick]`.
 *
 * What is measured, and why:
 * - **create**: wall time of `backup-manager create` of one SQLite database (the sqlite bench's
 *   ~100 MB database; `--quick`: its 30 MB one) to four stores: `--dir ./local` (the baseline),
 *   `--dir s3://…`, and both again with `BACKUP_AGE_RECIPIENTS` set (age encryption after gzip).
 *   Each is a fresh `deno run` subprocess, so start-up is included. Targets, against the plain
 *   local create measured in the same run: S3 ≤ 1.3 ×, encrypted local ≤ 1.15 × (encrypted S3
 *   is reported, with no target of its own).
 * - **peak RSS** (`/usr/bin/time -f %M`) of the S3 create and the encrypted S3 create on a small
 *   (25 MB), the main and a large database (the sqlite bench's 300 MB one, `--size-mb`): it must
 *   stay under 300 MiB everywhere and must not grow with the database, large/main within 15 %.
 *   The small one is shown but not judged: its ~9 MB backup never fills the upload's bounded
 *   buffers (`PARTS_IN_FLIGHT + 1` parts of 8 MiB), so large/small measures that fill, not growth.
 * - **restore** from S3 against restore from the local directory (informative, no target).
 *
 * The S3 server is Ceph's radosgw on 127.0.0.1 (tests/helpers/s3_server.ts; `TEST_S3_ENDPOINT`
 * points at another one instead), started by the benchmark, with one fresh bucket, and stopped at
 * the end, also on error. Each backup is removed right after it is measured (the local directory,
 * every object and incomplete upload in the bucket), so every run starts from an empty store and
 * nothing grows. Runs of the four variants are interleaved (one round = one run of each, after a
 * discarded warm-up round) so that a load change on the machine hits them alike; times are
 * medians. Databases, keys and locks live in `bench/.work/`. The benchmark exits 0 whatever the
 * results (a missed target is printed as FAIL); only a command that fails is an error. Ctrl-C
 * stops the server too.
 */

import { loadavg } from "node:os";
import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import {
  fileSize,
  mib,
  ours,
  peakRss,
  remove,
  RSS_LIMIT_KB,
  type Run,
  run,
  seconds,
  sizeArgs,
  WORK,
} from "./_measure.ts";
import { checkRestored, ensureDatabase, removeDatabase, warmUp } from "./sqlite_bench.ts";
import { type S3Server, startS3Server } from "../tests/helpers/s3_server.ts";
import { PARTS_IN_FLIGHT } from "../src/storage/_s3_writer.ts";

const TARGET = { s3: 1.3, encrypted: 1.15 };
/** Peak RSS on the large database over the main one must not exceed this. */
const RSS_GROWTH_LIMIT = 1.15;

interface Options {
  quick: boolean;
  /**
   * Database sizes in MiB: timed runs use `mainMiB`; flat memory is judged on main against large
   * (`--size-mb`), and small is shown beside them.
   */
  smallMiB: number;
  mainMiB: number;
  largeMiB: number;
  /** Timed rounds (one run of each variant per round), after one warm-up round. */
  rounds: number;
  /** Runs per variant on the small and the large database, for peak RSS. */
  rssReps: number;
  /** Timed restores from each store, after one warm-up restore from each. */
  restoreReps: number;
}

function parseOptions(): Options {
  const { quick, largeMiB } = sizeArgs();
  // "small" and "large" are the sqlite bench's databases (same names and sizes): built once
  return quick
    ? { quick, smallMiB: 10, mainMiB: 30, largeMiB, rounds: 3, rssReps: 1, restoreReps: 2 }
    : { quick, smallMiB: 25, mainMiB: 100, largeMiB, rounds: 5, rssReps: 2, restoreReps: 3 };
}

// ---------------------------------------------------------------- stores

/** Where backups go, and how to empty it after a run. */
interface Store {
  name: string;
  dir: string;
  env: Record<string, string>;
  empty(): Promise<void>;
  /** Sizes of the objects in the store, by key. */
  sizes(): Promise<Map<string, number>>;
}

function localStore(dir: string, env: Record<string, string>): Store {
  return {
    name: "local",
    dir,
    env,
    empty: () => remove(dir),
    sizes: async () => {
      const sizes = new Map<string, number>();
      for await (const entry of Deno.readDir(dir)) {
        if (entry.isFile) sizes.set(entry.name, await fileSize(`${dir}/${entry.name}`));
      }
      return sizes;
    },
  };
}

function s3Store(server: S3Server, bucket: string, env: Record<string, string>): Store {
  const client = new S3Client({
    endpoint: server.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  const list = async () => {
    const objects: { Key?: string; Size?: number }[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }),
      );
      objects.push(...(page.Contents ?? []));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return objects;
  };
  return {
    name: "S3",
    dir: `s3://${bucket}/backups`,
    env: { ...server.env, ...env },
    empty: async () => {
      const objects = await list();
      for (let i = 0; i < objects.length; i += 1000) {
        await client.send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: objects.slice(i, i + 1000).map(({ Key }) => ({ Key })) },
          }),
        );
      }
      const { Uploads = [] } = await client.send(
        new ListMultipartUploadsCommand({ Bucket: bucket }),
      );
      for (const { Key, UploadId } of Uploads) {
        await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId }));
      }
    },
    sizes: async () =>
      new Map((await list()).map((o) => [o.Key!.replace(/^backups\//, ""), o.Size ?? 0])),
  };
}

// ---------------------------------------------------------------- measurements

/** One way of creating a backup: a store, with or without encryption. */
interface Variant {
  label: string;
  store: Store;
  encrypted: boolean;
}

/** A new age key in `bench/.work/` (kept: only its public half is needed, for recipients). */
async function ageRecipient(): Promise<{ recipient: string; identityFile: string }> {
  const identityFile = `${WORK}age-key.txt`;
  try {
    await Deno.stat(identityFile);
  } catch {
    await run("age-keygen", ["-o", identityFile]);
  }
  const { stdout } = await run("age-keygen", ["-y", identityFile]);
  return { recipient: stdout.trim(), identityFile };
}

/** Creates one backup of `db` with `variant`, returns the run and its output; removes nothing. */
async function createOnce(
  variant: Variant,
  db: string,
  recipient: string,
): Promise<Run & { meta: { id: string; file: { name: string }; durationMs: number } }> {
  const made = await ours(
    ["create", "--database", db, "--dir", variant.store.dir, "--format", "json"],
    { ...variant.store.env, BACKUP_AGE_RECIPIENTS: variant.encrypted ? recipient : "" },
  );
  const meta = JSON.parse(made.stdout);
  const expected = variant.encrypted ? ".sql.gz.age" : ".sql.gz";
  if (!meta.file.name.endsWith(expected)) {
    throw new Error(`${variant.label}: made ${meta.file.name}, expected a ${expected} file`);
  }
  return { ...made, meta };
}

/** Creates and removes a backup `reps` times per variant, round-robin; the runs per variant. */
async function createRounds(
  variants: Variant[],
  db: string,
  recipient: string,
  reps: number,
  onFirst?: (variant: Variant) => Promise<void>,
): Promise<Run[][]> {
  const runs: Run[][] = variants.map(() => []);
  for (let rep = 0; rep < reps; rep++) {
    for (const [i, variant] of variants.entries()) {
      runs[i].push(await createOnce(variant, db, recipient));
      if (rep === 0) await onFirst?.(variant);
      await variant.store.empty();
    }
  }
  return runs;
}

/** Restores backup `id` of `store` to the new database `target` (removed first). */
async function restoreOnce(store: Store, id: string, target: string): Promise<Run> {
  await removeDatabase(target);
  return await ours(["restore", id, "--to", target, "--dir", store.dir, "--force"], store.env);
}

// ---------------------------------------------------------------- report

const verdict = (ok: boolean) => ok ? "PASS" : "FAIL";
const samples = (runs: Run[]) => runs.map((r) => r.seconds.toFixed(2)).join(" ");

function printTimes(variants: Variant[], runs: Run[][], targets: (number | undefined)[]): void {
  const base = seconds(runs[0]);
  const rows = variants.map((variant, i) => {
    const ratio = seconds(runs[i]) / base;
    const target = targets[i];
    return [
      variant.label,
      seconds(runs[i]).toFixed(2),
      i === 0 ? "1.00" : ratio.toFixed(2),
      target === undefined ? (i === 0 ? "baseline" : "-") : `≤ ${target}`,
      target === undefined ? "" : verdict(ratio <= target),
      `[${samples(runs[i])}]`,
    ];
  });
  printRows(["create", "median (s)", "ratio", "target", "result", "samples (s)"], rows);
}

function printRows(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const format = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  console.log(format(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows) console.log(format(row));
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(" ");

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const options = parseOptions();
  const started = performance.now();
  await Deno.mkdir(WORK, { recursive: true });
  console.log(`load average at start: ${load()}`);
  const mainDb = await ensureDatabase("small", options.mainMiB);
  const smallDb = await ensureDatabase(`s3-${options.smallMiB}`, options.smallMiB);
  const largeDb = await ensureDatabase("large", options.largeMiB);
  const { recipient, identityFile } = await ageRecipient();

  const server = await startS3Server();
  const interrupted = () => server.stop().finally(() => Deno.exit(130));
  Deno.addSignalListener("SIGINT", interrupted);
  Deno.addSignalListener("SIGTERM", interrupted);
  try {
    const bucket = await server.createBucket();
    // S3 stores lock in $XDG_STATE_HOME; keep that in bench/.work too
    const env = { XDG_STATE_HOME: `${WORK}state`, BACKUP_AGE_IDENTITY_FILE: identityFile };
    const local = localStore(`${WORK}s3bench-local`, env);
    const s3 = s3Store(server, bucket, env);
    console.log(`S3 server: radosgw at ${server.endpoint}, store ${s3.dir}`);
    await local.empty();
    await s3.empty();
    const variants: Variant[] = [
      { label: "local", store: local, encrypted: false },
      { label: "S3", store: s3, encrypted: false },
      { label: "local + age", store: local, encrypted: true },
      { label: "S3 + age", store: s3, encrypted: true },
    ];

    // 1. create: a warm-up round, then timed rounds
    await warmUp(mainDb);
    const sizes = new Map<string, number>();
    await createRounds(variants, mainDb, recipient, 1, async (variant) => {
      for (const [key, size] of await variant.store.sizes()) {
        if (/\.sql\.gz(\.age)?$/.test(key)) sizes.set(`${variant.label}`, size);
      }
    });
    const timed = await createRounds(variants, mainDb, recipient, options.rounds);

    // 2. peak RSS of the S3 creates on the small and the large database
    const s3Variants = [variants[1], variants[3]];
    await warmUp(smallDb);
    const small = await createRounds(s3Variants, smallDb, recipient, options.rssReps);
    await warmUp(largeDb);
    const large = await createRounds(s3Variants, largeDb, recipient, options.rssReps);

    // 3. restore from S3 and from the local directory, interleaved, after one warm-up each
    const restored = `${WORK}s3bench-restored.db`;
    const stores = [local, s3];
    const ids: string[] = [];
    for (const store of stores) {
      ids.push(
        (await createOnce({ label: store.name, store, encrypted: false }, mainDb, "")).meta.id,
      );
    }
    const restores: Run[][] = [[], []];
    for (let rep = 0; rep <= options.restoreReps; rep++) {
      for (const [i, store] of stores.entries()) {
        const made = await restoreOnce(store, ids[i], restored);
        if (rep > 0) restores[i].push(made);
        if (rep === options.restoreReps) {
          await checkRestored(mainDb, restored, `restore from ${store.name}`);
        }
      }
    }
    for (const store of stores) await store.empty();
    await removeDatabase(restored);

    console.log();
    console.log(
      `databases: small ${mib(await fileSize(smallDb))}, main ${mib(await fileSize(mainDb))}, ` +
        `large ${mib(await fileSize(largeDb))} (WAL mode)`,
    );
    console.log(
      `backups of main: ${
        variants.map((v) => `${v.label} ${mib(sizes.get(v.label) ?? 0)}`)
          .join(", ")
      }`,
    );
    console.log(
      `create of main: median of ${options.rounds} interleaved round(s) after 1 warm-up round`,
    );
    console.log();
    printTimes(variants, timed, [undefined, TARGET.s3, TARGET.encrypted, undefined]);
    console.log();
    const mb = (kb: number) => (kb / 1024).toFixed(0);
    const rssRows = s3Variants.map((variant, i) => {
      const [s, m, l] = [
        peakRss(small[i]),
        peakRss(timed[variants.indexOf(variant)]),
        peakRss(large[i]),
      ];
      const growth = l / m;
      const ok = growth <= RSS_GROWTH_LIMIT && Math.max(s, m, l) < RSS_LIMIT_KB;
      return [
        `create ${variant.label}`,
        mb(s),
        mb(m),
        mb(l),
        growth.toFixed(2),
        (l / s).toFixed(2),
        verdict(ok),
      ];
    });
    console.log(
      `peak RSS (MiB; target: every size < ${RSS_LIMIT_KB / 1024} MiB, large/main ≤ ` +
        `${RSS_GROWTH_LIMIT}; small fills fewer than ${PARTS_IN_FLIGHT + 1} upload parts, so ` +
        `large/small is shown, not judged):`,
    );
    printRows(
      [
        "operation",
        `small ${options.smallMiB}`,
        `main ${options.mainMiB}`,
        `large ${options.largeMiB}`,
        "large/main",
        "large/small",
        "result",
      ],
      rssRows,
    );
    console.log(
      `  (local create on main for comparison: ${mb(peakRss(timed[0]))} MiB, local + age ` +
        `${mb(peakRss(timed[2]))} MiB)`,
    );
    console.log();
    const [localRestore, s3Restore] = [seconds(restores[0]), seconds(restores[1])];
    console.log(
      `restore of main (informative): local ${localRestore.toFixed(2)} s [${
        samples(restores[0])
      }], S3 ${s3Restore.toFixed(2)} s [${samples(restores[1])}], S3/local ${
        (s3Restore / localRestore).toFixed(2)
      }; peak RSS local ${mb(peakRss(restores[0]))} MiB, S3 ${mb(peakRss(restores[1]))} MiB`,
    );
    console.log(`load average at end: ${load()}`);
    console.log(`total ${((performance.now() - started) / 1000).toFixed(0)} s`);
    await local.empty();
    await s3.empty();
  } finally {
    Deno.removeSignalListener("SIGINT", interrupted);
    Deno.removeSignalListener("SIGTERM", interrupted);
    await server.stop();
    await remove(`${WORK}state`);
  }
}

if (import.meta.main) await main();
