/**
 * A whole PostgreSQL server in one backup (`create --all-databases`, the `pg_dumpall` job): one
 * id whose main file is the server's globals (roles, memberships, password hashes unless left
 * out, tablespaces, role settings) as plain SQL that `psql -f` runs, and one `database` part per
 * database (`<id>.db-<name>.sql.gz`), each dumped by the engine exactly as a single-database
 * `create` dumps it (its own snapshot, its database properties for `--create` restores), each
 * with its own checksum, sizes and row counts in the sidecar. Every stream is compressed and
 * encrypted as the main file of any backup is (`stored_stream.ts`), so the globals, which hold
 * password hashes, are as guarded as the data.
 *
 * What the sidecar's whole-backup fields say: `database.name` is the list of databases (or "all
 * databases"), `database.host` the server; `tables` lists every part's tables as
 * `<database>/<schema>.<table>` and `totals` sums them, so `list`, `status` and the audit line
 * count the whole server; `sizes` and `file` stay the main (globals) file's, as `storedFiles`
 * expects. `server` names the databases in part order and says whether the globals hold
 * password hashes.
 */
import { defaultJobs, type DumpProgress } from "../engines/engine.ts";
import {
  type BackupMeta,
  dataKey,
  ENCRYPTED_SUFFIX,
  encryptedDataKey,
  FORMAT_VERSION,
  partKey,
  TOOL,
  type UnsealedMeta,
} from "./backup_file.ts";
import { signMeta } from "./signing.ts";
import { commitBackup, freeBackupId } from "./commit_backup.ts";
import { type StoredStream, storedStream } from "./stored_stream.ts";
import { type CompressionSpec, DEFAULT_COMPRESSION, sqlSuffix } from "./compression.ts";
import { DatabaseNotFoundError, InterruptedError, UsageError } from "./errors.ts";
import { audited, DEFAULT_STALL_TIMEOUT_MS, type ServiceContext } from "./context.ts";
import { type Phase, type Watchdog, watched, watchedStorage } from "./watchdog.ts";

/** Options of {@linkcode createServerBackup}. */
export interface ServerBackupOptions {
  /** `all` (default): every connectable database but templates; or these names. */
  databases?: "all" | string[];
  /** Keep the roles' password hashes in the globals. Default `true` (`--no-role-passwords`). */
  rolePasswords?: boolean;
  /** `full` (default) or `schema` (each database's schema only; the globals are whole). */
  type?: "full" | "schema";
  description?: string;
  pin?: { reason?: string };
  onProgress?: (progress: DumpProgress & { database: string }) => void;
  /** Default the context's `compression`, else gzip level 6. */
  compression?: CompressionSpec;
  /** Connections of each database's dump. Default the context's `jobs`, else the cores. */
  jobs?: number;
  /** Abandons the backup (nothing is kept) when aborted. */
  signal?: AbortSignal;
}

/**
 * Backs up the server the context's database is on; see the module's comment. Parts are written
 * one after another under temporary names, the sidecar (unseen) before the data is committed and
 * committed last, so a run that dies leaves nothing that lists as a backup.
 */
export async function createServerBackup(
  context: ServiceContext,
  options: ServerBackupOptions = {},
): Promise<BackupMeta> {
  const server = context.engine.server;
  if (!server) {
    throw new UsageError(
      `Cannot back up every database of "${
        context.engine.redact(context.database)
      }": only a PostgreSQL server has several databases and roles (use --database postgres://…)`,
    );
  }
  const target = context.engine.redact(context.database);
  return await audited(context, "create", target, async () => {
    const meta = await watched({
      timeoutMs: context.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
      phase: { doing: "dumping the server", what: `"${target}"`, check: CHECK },
      parent: options.signal,
      interrupted: (cause) =>
        new InterruptedError(
          `Stopped backing up the server "${target}": interrupted, nothing was kept`,
          cause === undefined ? undefined : { cause },
        ),
    }, (dog) => writeServerBackup(context, options, dog));
    return {
      result: meta,
      target: meta.id,
      details: {
        type: meta.type,
        databases: meta.server?.databases.length ?? 0,
        tables: meta.totals.tables,
        rows: meta.totals.rows,
        durationMs: meta.durationMs,
      },
    };
  });
}

const CHECK = "check for a lock held by another session (pg_locks) or a hung database server; " +
  "nothing was kept";

/** The databases to back up: all of them, or the listed ones (each must exist). */
export function selectDatabases(present: string[], wanted: "all" | string[]): string[] {
  if (wanted === "all") return present;
  const missing = wanted.filter((name) => !present.includes(name));
  if (missing.length > 0) {
    throw new DatabaseNotFoundError(
      `Cannot back up database ${
        missing.map((m) => `"${m}"`).join(", ")
      }: the server has no such connectable database (check "databases")`,
    );
  }
  return [...new Set(wanted)];
}

async function writeServerBackup(
  context: ServiceContext,
  options: ServerBackupOptions,
  dog: Watchdog,
): Promise<BackupMeta> {
  const { engine, clock } = context;
  const server = engine.server!;
  const storage = watchedStorage(context.storage, dog);
  const type = options.type ?? "full";
  const location = context.database;
  const redacted = engine.redact(location);
  const signal = dog.signal;
  const storing: Phase = {
    doing: "writing to the store",
    what: `"${storage.location}"`,
    check: "check the store (a hung S3 endpoint or network mount, a stuck disk); nothing was kept",
  };
  dog.enter({ doing: "listing the server's databases", what: `"${redacted}"`, check: CHECK });
  const names = selectDatabases(await server.databases(location), options.databases ?? "all");
  const started = clock.now();
  const id = await dog.wait(storing, freeBackupId(storage, type, started));
  const recipients = context.encryption?.recipients ?? [];
  const compression = options.compression ?? context.compression ?? DEFAULT_COMPRESSION;
  const jobs = options.jobs ?? context.jobs ?? defaultJobs();
  const suffix = sqlSuffix(compression.format) + (recipients.length > 0 ? ENCRYPTED_SUFFIX : "");
  const open = async (key: string) =>
    storedStream(await dog.wait(storing, storage.create(key)), key, {
      compression,
      recipients,
      jobs,
      watchdog: { dog, storing },
    });
  const sinkOf = (stream: StoredStream) => (chunk: Uint8Array) => {
    if (signal.aborted) throw new InterruptedError("interrupted");
    dog.tick();
    return stream.write(chunk);
  };
  const streams: StoredStream[] = [];
  try {
    const mainName = recipients.length > 0
      ? encryptedDataKey(id, compression.format)
      : dataKey(id, compression.format);
    dog.enter({ doing: "dumping the server's globals", what: `"${redacted}"`, check: CHECK });
    const main = await open(mainName);
    streams.push(main);
    const globals = await server.dumpGlobals(location, sinkOf(main), {
      rolePasswords: options.rolePasswords ?? true,
    });
    const mainDone = await main.end();
    const parts: NonNullable<BackupMeta["parts"]> = [];
    for (const name of names) {
      const dumping: Phase = {
        doing: "dumping the database",
        what: `"${name}" of "${redacted}"`,
        check: CHECK,
      };
      dog.enter(dumping);
      const stream = await open(partKey(id, "database", name, suffix));
      streams.push(stream);
      let table = "";
      const summary = await engine.dump(server.databaseLocation(location, name), sinkOf(stream), {
        type,
        jobs,
        signal,
        onProgress: (progress) => {
          if (progress.table !== table) {
            table = progress.table;
            dog.enter({ ...dumping, what: `table "${table}" of "${name}"` });
          } else dog.tick();
          options.onProgress?.({ ...progress, database: name });
        },
      });
      const { file, sizes } = await stream.end();
      parts.push({
        kind: "database",
        name,
        file,
        sizes,
        tables: summary.tables,
        totals: {
          tables: summary.tables.length,
          rows: summary.tables.reduce((sum, t) => sum + t.rows, 0),
        },
        ...(summary.migration ? { migration: summary.migration } : {}),
      });
    }
    dog.enter(storing);
    const finished = clock.now();
    const tables = parts.flatMap((p) =>
      (p.tables ?? []).map((t) => ({ ...t, name: `${p.name}/${t.name}` }))
    );
    const meta: UnsealedMeta = {
      formatVersion: FORMAT_VERSION,
      id,
      type,
      engine: engine.kind,
      ...(options.description ? { description: options.description } : {}),
      database: {
        name: options.databases === undefined || options.databases === "all"
          ? "all databases"
          : names.join(", "),
        host: globals.host,
      },
      createdAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      durationMs: Math.max(0, finished.getTime() - started.getTime()),
      tool: { ...TOOL },
      engineVersion: globals.engineVersion,
      runtime: `deno ${Deno.version.deno}`,
      settings: { databases: names.length, roles: globals.roles, tablespaces: globals.tablespaces },
      tables,
      totals: { tables: tables.length, rows: tables.reduce((sum, t) => sum + t.rows, 0) },
      sizes: mainDone.sizes,
      file: mainDone.file,
      server: { databases: names, rolePasswords: globals.rolePasswords },
      parts,
      ...(options.pin
        ? {
          pinned: true,
          pinnedAt: finished.toISOString(),
          ...(options.pin.reason ? { pinReason: options.pin.reason } : {}),
        }
        : {}),
    };
    if (context.signing?.key) meta.signature = signMeta(meta, context.signing.key);
    // the sidecar (unseen) first, then every data file, the sidecar last
    return await commitBackup(storage, meta, streams, (p) => dog.wait(storing, p));
  } catch (error) {
    for (const stream of streams) await stream.abort().catch(() => {});
    if (error instanceof InterruptedError || signal.aborted) {
      throw new InterruptedError(
        `Stopped backing up the server "${redacted}": interrupted, nothing was kept`,
        { cause: error },
      );
    }
    throw error;
  }
}
