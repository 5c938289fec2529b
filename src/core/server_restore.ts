/**
 * Restoring a whole server's backup (`server_backup.ts`): `restore <id> --all` loads the globals
 * (roles first: existing ones are left as they are and named) and then every database with
 * `--create` semantics, each all-or-nothing on its own (loaded under a scratch name and renamed
 * into place by the engine); `--database NAME` restores one database of it; `--globals-only`
 * only the globals.
 *
 * Nothing is touched before everything that can be checked has been: the sidecar (and its
 * signature), the target's version, that the connecting role may create roles (when roles are
 * restored), the size and SHA-256 of every file the restore reads, the identity of encrypted
 * ones, and every target database (an existing one that holds objects is refused without
 * `clean`, one that would be replaced without `force`). A database that would be replaced gets
 * a `pre-restore` safety backup first, as a single-database restore does.
 */
import { type BackupFileEntry, type BackupMeta, metaKey, parseMeta } from "./backup_file.ts";
import { findBackup, readAll } from "./catalog.ts";
import { InterruptedError, RefusedError, UsageError } from "./errors.ts";
import { checkFileChecksum, readCompressedFile } from "./stored_data.ts";
import { defaultJobs } from "../engines/engine.ts";
import type { GlobalsRestoreSummary, ServerCapability } from "../engines/server_capability.ts";
import { audited, DEFAULT_STALL_TIMEOUT_MS, type ServiceContext } from "./context.ts";
import { createBackup } from "./create.ts";
import { admitBackup } from "./trust.ts";
import { type Phase, type Watchdog, watched, watchedStorage } from "./watchdog.ts";
import { checkTargetVersion, type VersionCheck } from "./version_gate.ts";
import { readGlobalsText } from "./server_globals_text.ts";

/** What a server restore restores. */
export type ServerRestoreMode = "all" | "globals" | "database";

/** Options of {@linkcode restoreServerBackup} and {@linkcode planServerRestore}. */
export interface ServerRestoreOptions {
  /** `all`: globals, then every database; `globals`: the globals alone; `database`: one. */
  mode: ServerRestoreMode;
  /** Mode `database`: which of the backup's databases. */
  database?: string;
  /**
   * Mode `all` / `globals`: the server (a URL of any database on it). Mode `database`: the
   * target database, a name on the context's server or a URL. Default: the context's database's
   * server; in mode `database`, the database of the same name on it.
   */
  to?: string;
  /** Replace existing databases without asking (the CLI asks first on a terminal). */
  force?: boolean;
  /** Drop the backup's objects in an existing, non-empty target database first. */
  clean?: boolean;
  noOwner?: boolean;
  noPrivileges?: boolean;
  /** Connections of each load and safety backup. Default the context's `jobs`, else the cores. */
  jobs?: number;
  ignoreVersion?: boolean;
  /** Abandons the restore when aborted: the database being loaded stays as it was. */
  signal?: AbortSignal;
  onProgress?: (bytes: number) => void;
}

/** One database of a server restore: where it goes and what is there now. */
export interface ServerRestoreTarget {
  name: string;
  /** The target's location, redacted. */
  target: string;
  exists: boolean;
  /** Whether it holds objects (then `clean` is needed) and would be replaced (`force`). */
  replaces: boolean;
  needsClean: boolean;
  tables: { name: string; backupRows: number; currentRows: number | null }[];
}

/** What a server restore would do (`--dry-run`); it changed nothing. */
export interface ServerRestorePlan {
  id: string;
  meta: BackupMeta;
  mode: ServerRestoreMode;
  /** The server, redacted. */
  server: string;
  /** The globals' decisions; absent in mode `database`, or for an encrypted backup without key. */
  globals?: GlobalsRestoreSummary;
  databases: ServerRestoreTarget[];
  version?: VersionCheck;
}

/** What a server restore did. */
export interface ServerRestoreResult {
  id: string;
  server: string;
  globals?: GlobalsRestoreSummary;
  databases: { name: string; target: string; safetyBackup?: string; bytes: number }[];
  warnings: string[];
}

/** The sidecar of a backup, parsed and admitted (signature and trust): is it a server's? */
export async function readBackupMeta(context: ServiceContext, query: string): Promise<BackupMeta> {
  const entry = await findBackup(context.storage, query);
  const meta = parseMeta(await readAll(context.storage, metaKey(entry.id)), entry.id);
  admitBackup(context, meta, "restore");
  return meta;
}

/** Reads the backup and the targets and says what a restore would do; changes nothing. */
export async function planServerRestore(
  context: ServiceContext,
  query: string,
  options: ServerRestoreOptions,
): Promise<ServerRestorePlan> {
  return await watched({
    timeoutMs: context.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
    phase: readingPhase(context, query),
    parent: options.signal,
  }, async (dog) => {
    const setup = await prepare(context, query, options, dog);
    const { meta, server, serverLocation } = setup;
    let globals: GlobalsRestoreSummary | undefined;
    const main = setup.files.find((f) => f.part === undefined);
    if (main && (!main.file.encryption || context.encryption?.identityFile)) {
      const text = await readGlobalsText(setup.storage, meta, main, context.encryption);
      globals = await server.restoreGlobals(serverLocation, text, { dryRun: true });
    }
    return {
      id: meta.id,
      meta,
      mode: options.mode,
      server: context.engine.redact(serverLocation),
      ...(globals ? { globals } : {}),
      databases: await Promise.all(setup.targets.map((t) => describeTarget(context, t))),
      ...(setup.version ? { version: setup.version } : {}),
    };
  });
}

/** Restores a server backup; see the module's comment. */
export async function restoreServerBackup(
  context: ServiceContext,
  query: string,
  options: ServerRestoreOptions,
): Promise<ServerRestoreResult> {
  return await audited(context, "restore", query, async () => {
    const result = await watched({
      timeoutMs: context.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
      phase: readingPhase(context, query),
      parent: options.signal,
      interrupted: (cause) =>
        new InterruptedError(
          `Stopped restoring backup "${query}": interrupted, the database being loaded was left as it was`,
          { cause },
        ),
    }, (dog) => restoreWatched(context, query, options, dog));
    return {
      result,
      target: result.id,
      details: { to: result.server, databases: result.databases.map((d) => d.name) },
    };
  });
}

/** A database part and where it is restored to. */
interface Target {
  entry: BackupFileEntry;
  name: string;
  location: string;
  exists: boolean;
  empty: boolean | undefined;
}

/** Everything checked before a restore touches anything (and what a dry run shows). */
async function prepare(
  context: ServiceContext,
  query: string,
  options: ServerRestoreOptions,
  dog: Watchdog,
) {
  const { engine } = context;
  const storage = watchedStorage(context.storage, dog);
  const meta = await dog.wait(readingPhase(context, query), readBackupMeta(context, query));
  if (!meta.server || !meta.parts) {
    throw new UsageError(
      `Cannot restore backup "${meta.id}" with --${
        options.mode === "all" ? "all" : options.mode === "globals" ? "globals-only" : "database"
      }: it is the backup of one database, not of a server (restore it without that flag)`,
    );
  }
  const server = serverOf(context);
  const parts = meta.parts.filter((p) => p.kind === "database");
  const chosen = options.mode === "all"
    ? parts
    : options.mode === "database"
    ? parts.filter((p) => p.name === options.database)
    : [];
  if (options.mode === "database" && chosen.length === 0) {
    throw new UsageError(
      `Cannot restore database "${options.database}" of backup "${meta.id}": it holds ${
        parts.map((p) => `"${p.name}"`).join(", ")
      } (use --database with one of them)`,
    );
  }
  const serverLocation = options.mode === "database" || options.to === undefined
    ? context.database
    : options.to;
  const locationOf = (name: string) =>
    options.mode === "database" && options.to !== undefined
      ? isUrl(options.to) ? options.to : server.databaseLocation(context.database, options.to)
      : server.databaseLocation(serverLocation, name);
  dog.enter(targetPhase(context, serverLocation));
  const version = await checkTargetVersion(engine, meta, serverLocation, options.ignoreVersion);
  if (options.mode !== "database") await server.checkRoleRestore(serverLocation);
  const targets: Target[] = [];
  for (const part of chosen) {
    const location = locationOf(part.name);
    const exists = await engine.exists(location);
    const empty = exists ? await engine.isEmpty?.(location) : undefined;
    targets.push({
      entry: { part, file: part.file, size: part.sizes.compressed },
      name: part.name,
      location,
      exists,
      empty,
    });
  }
  const files: BackupFileEntry[] = [
    ...(options.mode === "database"
      ? []
      : [{ file: meta.file, size: meta.sizes.compressed } as BackupFileEntry]),
    ...targets.map((t) => t.entry),
  ];
  return { meta, server, serverLocation, storage, targets, files, version };
}

async function restoreWatched(
  context: ServiceContext,
  query: string,
  options: ServerRestoreOptions,
  dog: Watchdog,
): Promise<ServerRestoreResult> {
  const { engine } = context;
  const setup = await prepare(context, query, options, dog);
  const { meta, server, serverLocation, storage, targets, files } = setup;
  for (const t of targets) {
    const where = engine.redact(t.location);
    if (t.empty === false && !options.clean) {
      throw new RefusedError(
        `Cannot restore database "${t.name}" of backup "${meta.id}": "${where}" is not empty (use --clean --force to replace the objects the backup contains; nothing was changed)`,
      );
    }
    if (t.exists && t.empty === false && !options.force) {
      throw new RefusedError(
        `Cannot restore database "${t.name}" of backup "${meta.id}": "${where}" exists and would be replaced (use --force; nothing was changed)`,
      );
    }
  }
  dog.enter({ ...readingPhase(context, meta.id), doing: "checking the backup" });
  for (const file of files) {
    await dog.wait(
      readingPhase(context, meta.id),
      checkFileChecksum(storage, meta, file, "restore"),
    );
  }
  const result: ServerRestoreResult = {
    id: meta.id,
    server: engine.redact(serverLocation),
    databases: [],
    warnings: [],
  };
  const main = files.find((f) => f.part === undefined);
  if (main) {
    dog.enter({ ...targetPhase(context, serverLocation), doing: "restoring the globals" });
    const text = await readGlobalsText(storage, meta, main, context.encryption);
    result.globals = await dog.wait(
      targetPhase(context, serverLocation),
      server.restoreGlobals(serverLocation, text),
    );
    result.warnings.push(...result.globals.warnings);
  }
  const jobs = options.jobs ?? context.jobs ?? defaultJobs();
  for (const t of targets) {
    const loading: Phase = {
      doing: "loading into the database",
      what: `database "${t.name}" of backup "${meta.id}" into "${engine.redact(t.location)}"`,
      check: "check for a lock held by another session (pg_locks) or a hung database server; " +
        "the database being loaded was left as it was",
    };
    let safetyBackup: string | undefined;
    if (t.exists && t.empty === false) {
      const safety = await createBackup(context, {
        type: "pre-restore",
        database: t.location,
        jobs,
        description: `Safety copy taken before restoring database "${t.name}" of ${meta.id}`,
        signal: dog.signal,
        watchdog: dog,
      });
      safetyBackup = safety.id;
    }
    dog.enter(loading);
    const source = ticking(
      await readCompressedFile(storage, meta, t.entry, context.encryption, "restore"),
      dog,
    );
    const part = t.entry.part!;
    const summary = await engine.restore(t.location, source, {
      replace: true,
      clean: options.clean,
      create: true,
      noOwner: options.noOwner,
      noPrivileges: options.noPrivileges,
      onProgress: options.onProgress,
      jobs,
      compression: part.file.compression,
      signal: dog.signal,
      expected: {
        tables: (part.tables ?? []).map((x) => ({
          ...x,
          rows: meta.type === "schema" ? 0 : x.rows,
        })),
        rawBytes: part.sizes.raw,
      },
    });
    result.warnings.push(...(summary.warnings ?? []));
    result.databases.push({
      name: t.name,
      target: engine.redact(t.location),
      ...(safetyBackup ? { safetyBackup } : {}),
      bytes: summary.bytes,
    });
  }
  return result;
}

async function describeTarget(context: ServiceContext, t: Target): Promise<ServerRestoreTarget> {
  const current = t.exists ? await context.engine.describe(t.location) : undefined;
  const backup = t.entry.part?.tables ?? [];
  const names = [
    ...new Set([...backup.map((x) => x.name), ...(current?.tables ?? []).map((x) => x.name)]),
  ];
  return {
    name: t.name,
    target: context.engine.redact(t.location),
    exists: t.exists,
    replaces: t.exists && t.empty === false,
    needsClean: t.empty === false,
    tables: names.map((name) => ({
      name,
      backupRows: backup.find((x) => x.name === name)?.rows ?? 0,
      currentRows: current?.tables.find((x) => x.name === name)?.rows ?? null,
    })),
  };
}

function serverOf(context: ServiceContext): ServerCapability {
  const server = context.engine.server;
  if (!server) {
    throw new UsageError(
      `Cannot restore a server backup into "${
        context.engine.redact(context.database)
      }": it is not a PostgreSQL server (name one with --database postgres://… or --to postgres://…)`,
    );
  }
  return server;
}

function readingPhase(context: ServiceContext, backup: string): Phase {
  return {
    doing: "reading the backup",
    what: `backup "${backup}" in "${context.storage.location}"`,
    check: "check the store (a hung S3 endpoint or network mount); nothing was changed",
  };
}

function targetPhase(context: ServiceContext, location: string): Phase {
  return {
    doing: "reading the target server",
    what: `"${context.engine.redact(location)}"`,
    check: "check for a lock held by another session (pg_locks) or a hung database server",
  };
}

/** `stream`, each chunk a tick of the watchdog; fails once its signal aborts. */
async function* ticking(
  stream: AsyncIterable<Uint8Array>,
  dog: Watchdog,
): AsyncIterable<Uint8Array> {
  for await (const chunk of stream) {
    if (dog.signal.aborted) throw new InterruptedError("interrupted");
    dog.tick();
    yield chunk;
  }
}

/** Whether a location is a database URL rather than a bare name. */
function isUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}
