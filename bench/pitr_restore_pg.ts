/**
 * PostgreSQL point-in-time recovery (issue 13): how long `restore --at latest --to-datadir
 * --check` takes for the WAL a pgbench load archives, per WAL segment, extrapolated to 1 hour
 * and 24 hours of WAL at the measured rate; and what one `wal-fetch` / `wal-push` costs (the
 * recovered server's `restore_command` starts one process per WAL file).
 *
 *   deno run -A bench/pitr_restore_pg.ts [--seconds 60]   (as root: the server runs as postgres)
 *
 * A throwaway cluster archives through our `wal-push` (`tests/helpers/pg_archiving.ts`; the
 * helper's cluster runs with fsync=off, and this bench turns full_page_writes back on, as a real
 * server has it, so the WAL volume is a real one's). Steps: `pgbench -i -s 10`, a base backup
 * (`create --type base`), `pgbench -c 4 -T SECONDS -n`, the archiver's backlog drained and the
 * current segment switched and archived; the archive counted (`wal.<24 hex>.json` in
 * `<backupDir>/pitr`); then the restore, timed. A second base backup and restore then measure the
 * fixed part of a restore (base backup laid down, server started, promoted, checked) with
 * almost no WAL, so the per-segment cost is also given as (restore - fixed) / segments.
 * The 1 h and 24 h figures are extrapolated (seconds per segment × segments the pgbench WAL
 * rate makes in that time), not measured.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startArchivingCluster } from "../tests/helpers/pg_archiving.ts";

const BIN = Deno.env.get("PG_BIN") ?? "/usr/lib/postgresql/15/bin";
const SEGMENT_BYTES = 16 * 1024 * 1024;
const MIB = 1024 * 1024;
const SEGMENT_JSON = /^wal\.([0-9A-F]{24})\.json$/;

async function tool(command: string, args: string[]): Promise<string> {
  const output = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" })
    .output();
  const decoder = new TextDecoder();
  if (!output.success) {
    throw new Error(`${command} ${args.join(" ")}: ${decoder.decode(output.stderr)}`);
  }
  return decoder.decode(output.stdout) + decoder.decode(output.stderr);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The archive's segments (names and stored bytes of `.gz` + `.json`), by name. */
async function archive(pitr: string): Promise<{ names: string[]; storedBytes: number }> {
  const names: string[] = [];
  let storedBytes = 0;
  for await (const e of Deno.readDir(pitr)) {
    const name = SEGMENT_JSON.exec(e.name)?.[1];
    if (!name) continue;
    names.push(name);
    storedBytes += (await Deno.stat(join(pitr, e.name))).size;
    storedBytes += (await Deno.stat(join(pitr, `wal.${name}.gz`))).size;
  }
  return { names: names.sort(), storedBytes };
}

if (Deno.uid() !== 0) {
  console.error("Run as root: the cluster and the command line run as postgres through runuser");
  Deno.exit(2);
}
const { values } = parseArgs({
  args: Deno.args,
  options: { seconds: { type: "string", default: "60" } },
});
const seconds = Number(values.seconds);
if (!(seconds > 0)) throw new Error(`--seconds ${values.seconds}: expected a positive number`);
console.error(
  `nproc ${navigator.hardwareConcurrency}, load ${
    Deno.loadavg().map((l) => l.toFixed(2)).join(" ")
  }`,
);

const root = await Deno.makeTempDir({ prefix: "pitr-restore-pg-" });
const archiving = await startArchivingCluster({ root });
const { sql, cli, cluster } = archiving;
const ok = async (args: string[]) => {
  const t0 = performance.now();
  const run = await cli(args);
  const ms = performance.now() - t0;
  if (run.code !== 0) throw new Error(`${args.join(" ")} exited ${run.code}: ${run.stderr}`);
  return { ...run, seconds: ms / 1000 };
};
/** Waits until the archiver has no segment left to push, then switches and archives the current. */
const drain = async () => {
  const t0 = performance.now();
  const deadline = Date.now() + 60 * 60_000;
  for (;;) {
    const [{ ready }] = await sql.unsafe(
      "SELECT count(*)::int AS ready FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'",
    );
    if (ready === 0) break;
    if (Date.now() > deadline) throw new Error(`${ready} WAL files still not archived after 1 h`);
    await new Promise((r) => setTimeout(r, 500));
  }
  await archiving.archiveCurrent();
  return (performance.now() - t0) / 1000;
};
const lsn = async () => {
  const [{ at }] = await sql.unsafe("SELECT pg_current_wal_lsn()::text AS at");
  return String(at);
};
const lsnBytes = async (from: string, to: string) => {
  const [{ bytes }] = await sql.unsafe(
    `SELECT pg_wal_lsn_diff('${to}', '${from}')::bigint AS bytes`,
  );
  return Number(bytes);
};
try {
  await sql.unsafe("ALTER SYSTEM SET full_page_writes = on");
  await sql.unsafe("SELECT pg_reload_conf()");
  const pitr = join(archiving.backupDir, "pitr");
  console.error("  pgbench -i -s 10");
  await tool(`${BIN}/pgbench`, ["-i", "-s", "10", "-q", cluster.url]);
  await drain();
  console.error("  base backup");
  const base = await ok(["create", "--type", "base", "--format", "json"]);
  const manifest = JSON.parse(base.stdout);
  const before = await archive(pitr);
  const fromLsn = await lsn();
  console.error(`  pgbench -c 4 -T ${seconds} -n`);
  const t0 = performance.now();
  const bench = await tool(`${BIN}/pgbench`, [
    "-c",
    "4",
    "-T",
    String(seconds),
    "-n",
    cluster.url,
  ]);
  const loadSeconds = (performance.now() - t0) / 1000;
  const toLsn = await lsn();
  const walBytes = await lsnBytes(fromLsn, toLsn);
  const tps = Number(/tps = ([\d.]+)/.exec(bench)?.[1]);
  const transactions = Number(/actually processed: (\d+)/.exec(bench)?.[1]);
  console.error(`  draining the archiver's backlog`);
  const drainSeconds = await drain();
  const after = await archive(pitr);
  const needed = after.names.filter((n) => n >= manifest.startWal);
  const produced = after.names.filter((n) => !before.names.includes(n));
  let producedStored = 0;
  for (const name of produced) {
    producedStored += (await Deno.stat(join(pitr, `wal.${name}.gz`))).size +
      (await Deno.stat(join(pitr, `wal.${name}.json`))).size;
  }

  console.error(`  restore --at latest (${needed.length} segments from ${manifest.startWal})`);
  const restore = await ok([
    "restore",
    "--at",
    "latest",
    "--to-datadir",
    join(root, "restored"),
    "--check",
    "--format",
    "json",
  ]);
  const restored = JSON.parse(restore.stdout);
  await Deno.remove(join(root, "restored"), { recursive: true });

  // the fixed part: a base backup taken now, restored with only its own few segments
  console.error("  second base backup and restore (the fixed part)");
  const base2 = await ok(["create", "--type", "base", "--format", "json"]);
  const manifest2 = JSON.parse(base2.stdout);
  await drain();
  const fixed = await ok([
    "restore",
    "--at",
    "latest",
    "--to-datadir",
    join(root, "restored-fixed"),
    "--check",
    "--format",
    "json",
  ]);
  const fixedResult = JSON.parse(fixed.stdout);
  await Deno.remove(join(root, "restored-fixed"), { recursive: true });

  // one wal-fetch, one wal-push: the cost of a process per WAL file
  console.error("  wal-fetch ×10, wal-push ×10");
  const sample = produced[Math.floor(produced.length / 2)] ?? after.names.at(-1)!;
  const fetched = join(root, "fetched");
  const fetchSeconds: number[] = [];
  for (let i = 0; i < 10; i++) {
    fetchSeconds.push((await ok(["wal-fetch", sample, fetched])).seconds);
  }
  const pushSource = join(root, "push-source");
  const pushStore = join(root, "push-store");
  await Deno.mkdir(pushSource);
  await Deno.mkdir(pushStore);
  await tool("chown", ["postgres", pushSource, pushStore]);
  const pushSeconds: number[] = [];
  for (let i = 0; i < 10; i++) {
    // a name the scratch store does not hold yet, so each push compresses and stores 16 MiB
    const name = `00000009000000AA000000${i.toString(16).toUpperCase().padStart(2, "0")}`;
    const file = join(pushSource, name);
    await Deno.copyFile(fetched, file);
    await tool("chown", ["postgres", file]);
    pushSeconds.push((await ok(["wal-push", file, "--dir", pushStore])).seconds);
  }

  const walRestored = Number(restored.check?.walRestored ?? 0);
  const perSegment = restore.seconds / Math.max(1, walRestored);
  const fixedWal = Number(fixedResult.check?.walRestored ?? 0);
  const marginal = (restore.seconds - fixed.seconds) / Math.max(1, walRestored - fixedWal);
  const walPerSecond = walBytes / loadSeconds;
  const segmentsPerHour = walPerSecond * 3600 / SEGMENT_BYTES;
  const result = {
    seconds,
    pgbench: { scale: 10, clients: 4, tps, transactions, loadSeconds },
    settings: "fsync=off (the test cluster's), full_page_writes=on",
    walBytesWritten: walBytes,
    walBytesPerSecond: walPerSecond,
    archive: {
      segmentsTotal: after.names.length,
      segmentsProduced: produced.length,
      segmentsNeeded: needed.length,
      rawBytesProduced: produced.length * SEGMENT_BYTES,
      storedBytesProduced: producedStored,
      storedBytesTotal: after.storedBytes,
      archiverLagSeconds: drainSeconds,
    },
    baseBackup: { id: manifest.id, startWal: manifest.startWal, seconds: base.seconds },
    restore: {
      seconds: restore.seconds,
      walRestored,
      lastReplayedAt: restored.check?.lastReplayedAt,
      secondsPerSegment: perSegment,
    },
    fixedRestore: {
      base: manifest2.id,
      seconds: fixed.seconds,
      walRestored: fixedWal,
      marginalSecondsPerSegment: marginal,
    },
    walFetch: {
      sample,
      medianSeconds: median(fetchSeconds),
      minSeconds: Math.min(...fetchSeconds),
      maxSeconds: Math.max(...fetchSeconds),
    },
    walPush: {
      medianSeconds: median(pushSeconds),
      minSeconds: Math.min(...pushSeconds),
      maxSeconds: Math.max(...pushSeconds),
    },
    extrapolated: {
      segmentsPerHour,
      oneHourSeconds: perSegment * segmentsPerHour,
      oneDaySeconds: perSegment * segmentsPerHour * 24,
      oneHourSecondsMarginal: fixed.seconds + marginal * segmentsPerHour,
      oneDaySecondsMarginal: fixed.seconds + marginal * segmentsPerHour * 24,
    },
  };
  console.log(JSON.stringify(result));
  const s = (x: number) => x.toFixed(2) + " s";
  const long = (x: number) =>
    x >= 3600
      ? `${x.toFixed(0)} s (${(x / 3600).toFixed(1)} h)`
      : `${x.toFixed(0)} s (${(x / 60).toFixed(1)} min)`;
  const e = result.extrapolated;
  console.log(
    [
      `pgbench -c 4 -T ${seconds} (scale 10): ${
        tps.toFixed(0)
      } tps, ${transactions} transactions; ` +
      `${(walBytes / MIB).toFixed(0)} MiB of WAL (${(walPerSecond / MIB).toFixed(2)} MiB/s, ` +
      `full_page_writes=on, fsync=off)`,
      `archive: ${produced.length} segments produced by the load (${
        (result.archive.rawBytesProduced / MIB).toFixed(0)
      } MiB raw, ${(producedStored / MIB).toFixed(1)} MiB stored), ${after.names.length} in all ` +
      `(${(after.storedBytes / MIB).toFixed(1)} MiB stored); the archiver finished ${
        s(drainSeconds)
      } after the load`,
      `restore --at latest --check: ${s(restore.seconds)} for ${walRestored} WAL files restored ` +
      `(${needed.length} segments from the base backup's start): ${s(perSegment)} per segment`,
      `  the fixed part (a base backup just taken, ${fixedWal} WAL files): ${s(fixed.seconds)}; ` +
      `marginal ${s(marginal)} per segment`,
      `wal-fetch of one segment (a process each): median ${s(result.walFetch.medianSeconds)} ` +
      `(min ${s(result.walFetch.minSeconds)}, max ${s(result.walFetch.maxSeconds)}); ` +
      `wal-push: median ${s(result.walPush.medianSeconds)} (min ${s(result.walPush.minSeconds)}, ` +
      `max ${s(result.walPush.maxSeconds)})`,
      `EXTRAPOLATED (not measured) at ${e.segmentsPerHour.toFixed(0)} segments/hour: ` +
      `1 h of WAL ≈ ${long(e.oneHourSeconds)}, 24 h ≈ ${long(e.oneDaySeconds)} ` +
      `(${s(perSegment)}/segment); from the fixed part + marginal cost: 1 h ≈ ${
        long(e.oneHourSecondsMarginal)
      }, 24 h ≈ ${long(e.oneDaySecondsMarginal)}`,
      `  (of ${s(perSegment)} per segment, ${
        s(result.walFetch.medianSeconds)
      } is one wal-fetch process: the restore_command runs one per WAL file, in series)`,
    ].join("\n"),
  );
} finally {
  await archiving.stop();
  await Deno.remove(root, { recursive: true }).catch(() => {});
}
