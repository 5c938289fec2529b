/**
 * Physical base backups of a PostgreSQL server for point-in-time recovery: `pg_basebackup -Ft
 * -X none` streamed straight into the store (compressed, encrypted when configured, SHA-256),
 * with the WAL positions and timeline it needs in a manifest written last, and only once the
 * archive holds the WAL up to its end: a base backup whose WAL is not archived restores nothing,
 * so it is never recorded as one.
 *
 * Keys: `base.<id>.tar.gz` + `base.<id>.json`, `<id>` `yyyymmddThhmmssSSSZ` (UTC), sortable.
 */
import type { Storage } from "../storage/storage.ts";
import { DatabaseError, UsageError } from "../core/errors.ts";
import {
  checkConnection,
  type ConnectionConfig,
  openConnection,
} from "../engines/postgres/postgres_engine.ts";
import {
  readManifest,
  readStored,
  type StoredObject,
  writeManifest,
  writeStored,
} from "./sqlite_pitr_store.ts";
import { listArchive, walKeys } from "./pg_wal_archive.ts";
import { pgBinary } from "./pg_binaries.ts";

/** What a base backup's manifest records. */
export interface BaseBackupManifest {
  formatVersion: 1;
  id: string;
  startedAt: string;
  /** When `pg_basebackup` returned: recovery can reach any moment after this. */
  stoppedAt: string;
  timeline: number;
  startLsn: string;
  stopLsn: string;
  /** The first and last WAL segments recovery needs to make the copy consistent. */
  startWal: string;
  stopWal: string;
  walSegmentSize: number;
  /** `server_version_num` (150004) and the cluster's `system_identifier`. */
  serverVersionNum: number;
  systemIdentifier: string;
  stored: StoredObject & { raw: number };
}

/** The keys of base backup `id`. */
export function baseKeys(id: string): { data: string; manifest: string } {
  return { data: `base.${id}.tar.gz`, manifest: `base.${id}.json` };
}

/** Options of {@linkcode takeBaseBackup}. */
export interface BaseBackupOptions {
  connection: ConnectionConfig;
  recipients?: string[];
  /** `pitr.pgBin`: where `pg_basebackup` is. */
  pgBin?: string;
  /** How long to wait for the archive to hold the backup's last WAL segment. */
  walWaitMs: number;
  now: () => Date;
  signal?: AbortSignal;
  /** Bytes read from the server so far (progress). */
  onBytes?: (bytes: number) => void;
}

/** What the server says about archiving, before a base backup is worth taking. */
interface ServerFacts {
  /** The server's clock: commit times, and so recovery targets, are on it. */
  now: Date;
  segmentSize: number;
  versionNum: number;
  systemIdentifier: string;
}

/** Takes a base backup into `store`; its manifest. */
export async function takeBaseBackup(
  store: Storage,
  options: BaseBackupOptions,
): Promise<BaseBackupManifest> {
  const facts = await serverFacts(options.connection);
  const started = options.now();
  const id = started.toISOString().replace(/[-:.]/g, "");
  const keys = baseKeys(id);
  const child = new Deno.Command(
    pgBinary("pg_basebackup", {
      pgBin: options.pgBin,
      major: Math.floor(facts.versionNum / 10000),
    }),
    {
      args: [
        "--dbname",
        keywordConnectionString(options.connection),
        "--pgdata",
        "-",
        "--format",
        "tar",
        "--wal-method",
        "none",
        "--checkpoint",
        "fast",
        "--no-password",
        "--verbose",
        "--label",
        `backup-manager ${id}`,
      ],
      env: {
        ...(options.connection.password ? { PGPASSWORD: options.connection.password } : {}),
        PGSSLMODE: options.connection.sslMode,
        PGCONNECT_TIMEOUT: String(options.connection.connectTimeout),
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    },
  ).spawn();
  const kill = () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
  };
  options.signal?.addEventListener("abort", kill, { once: true });
  // the server ends a base backup only once its WAL is archived, and waits forever for an
  // archive_command that fails: past walWait of that wait, give up and say why
  let archiveStuck: ReturnType<typeof setTimeout> | undefined;
  let stuck = false;
  const stderr = collectText(child.stderr, (text) => {
    if (
      archiveStuck === undefined && /waiting for required WAL segments to be archived/.test(text)
    ) {
      archiveStuck = setTimeout(() => {
        stuck = true;
        kill();
      }, options.walWaitMs);
    }
  });
  let bytes = 0;
  const counted = (async function* () {
    for await (const chunk of child.stdout) {
      bytes += chunk.byteLength;
      options.onBytes?.(bytes);
      yield chunk;
    }
  })();
  let stored: StoredObject & { raw: number };
  try {
    stored = await writeStored(store, keys.data, counted, options.recipients ?? []);
  } catch (error) {
    kill();
    await child.status;
    await store.remove(keys.data).catch(() => {});
    throw error;
  } finally {
    options.signal?.removeEventListener("abort", kill);
  }
  const status = await child.status;
  const log = await stderr;
  clearTimeout(archiveStuck);
  try {
    if (stuck) {
      throw new DatabaseError(
        `The server could not archive the WAL the base backup needs within ${
          Math.round(options.walWaitMs / 1000)
        }s ` +
          "(pitr.walWait): its archive_command fails or is slow; check that it runs backup-manager wal-push into " +
          `${store.location} and the server's log`,
      );
    }
    if (!status.success) {
      throw new DatabaseError(`pg_basebackup failed: ${lastErrorLine(log)}`);
    }
    const label = await waitForBackupLabel(store, `backup-manager ${id}`, options);
    await waitForArchived(store, label.stopWal, options.walWaitMs, options.signal);
    const stoppedAt = await serverNow(options.connection);
    const manifest: BaseBackupManifest = {
      formatVersion: 1,
      id,
      startedAt: facts.now.toISOString(),
      stoppedAt: stoppedAt.toISOString(),
      ...label,
      walSegmentSize: facts.segmentSize,
      serverVersionNum: facts.versionNum,
      systemIdentifier: facts.systemIdentifier,
      stored,
    };
    await writeManifest(store, keys.manifest, manifest);
    return manifest;
  } catch (error) {
    await store.remove(keys.data).catch(() => {});
    throw error;
  }
}

/** Every base backup whose manifest exists, oldest first. */
export async function listBaseBackups(store: Storage): Promise<BaseBackupManifest[]> {
  const keys = (await store.list()).map((e) => e.key)
    .filter((k) => /^base\.[0-9TZ]+\.json$/.test(k)).sort();
  const out: BaseBackupManifest[] = [];
  for (const key of keys) {
    const manifest = await readManifest<BaseBackupManifest>(store, key);
    if (manifest) out.push(manifest);
  }
  return out;
}

/** The facts a base backup needs, and the refusals that save a useless one. */
async function serverFacts(config: ConnectionConfig): Promise<ServerFacts> {
  const connection = openConnection(config);
  try {
    await checkConnection(connection);
    const [row] = await connection.sql.unsafe(
      `SELECT current_setting('server_version_num')::int AS version,
              current_setting('archive_mode') AS archive_mode,
              current_setting('wal_level') AS wal_level,
              (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size') AS segment_size,
              (SELECT unit FROM pg_settings WHERE name = 'wal_segment_size') AS segment_unit,
              (SELECT system_identifier::text FROM pg_control_system()) AS system_identifier,
              now() AS now`,
    );
    if (row.archive_mode === "off") {
      throw new UsageError(
        "Cannot take a base backup: archive_mode is off on the server, so the WAL it needs is " +
          "not archived: set archive_mode = on and archive_command to backup-manager wal-push (README, Point-in-time recovery (PostgreSQL))",
      );
    }
    if (row.wal_level === "minimal") {
      throw new UsageError('Cannot take a base backup: wal_level is "minimal" (set it to replica)');
    }
    const unitBytes = row.segment_unit === "8kB" ? 8192 : row.segment_unit === "MB" ? 1 << 20 : 1;
    return {
      now: new Date(row.now),
      segmentSize: Number(row.segment_size) * unitBytes,
      versionNum: Number(row.version),
      systemIdentifier: String(row.system_identifier),
    };
  } finally {
    await connection.end();
  }
}

/** The positions a base backup's label (its `.backup` history file in the archive) records. */
type LabelFacts = Pick<
  BaseBackupManifest,
  "timeline" | "startLsn" | "stopLsn" | "startWal" | "stopWal"
>;

/**
 * Reads the backup history file the server archives at the end of a base backup (the one with
 * `label`): its start and stop WAL positions, which pg_basebackup does not print with -X none.
 */
async function waitForBackupLabel(
  store: Storage,
  label: string,
  options: Pick<BaseBackupOptions, "walWaitMs" | "signal">,
): Promise<LabelFacts> {
  const seen = new Set<string>();
  const deadline = Date.now() + options.walWaitMs;
  for (;;) {
    for (const manifest of await listArchive(store, (name) => name.endsWith(".backup"))) {
      if (seen.has(manifest.name)) continue;
      seen.add(manifest.name);
      let text = "";
      for await (const chunk of readStored(store, manifest.stored)) {
        text += new TextDecoder().decode(chunk);
      }
      if (!text.split("\n").includes(`LABEL: ${label}`)) continue;
      return parseBackupLabel(text);
    }
    if (Date.now() >= deadline || options.signal?.aborted) {
      throw new DatabaseError(
        `The server did not archive the end of the base backup to ${store.location} within ` +
          `${
            Math.round(options.walWaitMs / 1000)
          }s: check its archive_command (it must run backup-manager wal-push into this store) and its log`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The positions in a backup history file (`START WAL LOCATION: 0/3000028 (file …)`, …). */
export function parseBackupLabel(text: string): LabelFacts {
  const field = (name: string) => {
    const match = new RegExp(`^${name}: (.+)$`, "m").exec(text);
    if (!match) throw new DatabaseError(`The backup history file has no "${name}" line`);
    return match[1].trim();
  };
  const location = (name: string) => {
    const match = /^([0-9A-F]+\/[0-9A-F]+) \(file ([0-9A-F]{24})\)$/.exec(field(name));
    if (!match) throw new DatabaseError(`The backup history file's "${name}" is unreadable`);
    return { lsn: match[1], file: match[2] };
  };
  const start = location("START WAL LOCATION");
  const stop = location("STOP WAL LOCATION");
  return {
    timeline: Number(field("START TIMELINE")),
    startLsn: start.lsn,
    stopLsn: stop.lsn,
    startWal: start.file,
    stopWal: stop.file,
  };
}

/** The server's clock now. */
async function serverNow(config: ConnectionConfig): Promise<Date> {
  const connection = openConnection(config);
  try {
    const [row] = await connection.sql.unsafe("SELECT now() AS now");
    return new Date(row.now);
  } finally {
    await connection.end();
  }
}

/** Waits until `name` is archived in `store`, or says why the base backup cannot count. */
async function waitForArchived(
  store: Storage,
  name: string,
  waitMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (await store.stat(walKeys(name).manifest).then(() => true, () => false)) return;
    if (Date.now() >= deadline || signal?.aborted) {
      throw new DatabaseError(
        `The base backup needs WAL segment ${name}, which was not archived to ${store.location} ` +
          `within ${
            Math.round(waitMs / 1000)
          }s: check the server's archive_command (it must run backup-manager wal-push into this store) and its log`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** libpq's `key='value'` form of a connection, without the password (it goes in PGPASSWORD). */
export function keywordConnectionString(config: ConnectionConfig): string {
  const quote = (value: string) => `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  return [
    `host=${quote(config.host)}`,
    `port=${config.port}`,
    `user=${quote(config.user)}`,
    `dbname=${quote(config.database)}`,
  ].join(" ");
}

async function collectText(
  stream: ReadableStream<Uint8Array>,
  onText: (text: string) => void,
): Promise<string> {
  let text = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    text = (text + chunk).slice(-64 * 1024);
    onText(text);
  }
  return text;
}

/** The last line that says what went wrong, for a one-line error. */
export function lastErrorLine(log: string): string {
  const lines = log.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  return (lines.findLast((l) => /error|fatal/i.test(l)) ?? lines.at(-1) ?? "no output")
    .replace(/^pg_basebackup:\s*/, "");
}
