/**
 * `verify --restore-test` of each dump a backup holds: the main file of a one-database backup,
 * and every `database` part of a server backup, each restored into its own scratch database
 * and its tables and row counts compared with what the sidecar records for it. A server
 * backup's globals (roles) are never loaded into the live server: `verify` checks them by
 * checksum and decompression only.
 */
import type { BackupFileEntry, BackupMeta } from "./backup_file.ts";
import { storedFiles } from "./backup_file.ts";
import { messageOf } from "./errors.ts";
import { readCompressedFile } from "./stored_data.ts";
import { expectedContent } from "./restore.ts";
import type { DataCheck } from "./data_diagnosis.ts";
import { checkPrefix } from "./verify_file.ts";
import type { ServiceContext } from "./context.ts";
import type { Phase, Watchdog } from "./watchdog.ts";
import type { ExpectedContent } from "../engines/engine.ts";

/**
 * The files of `meta` a restore test loads, in order: the main file unless `meta` is a server
 * backup, then each `database` part.
 */
export function restorableFiles(meta: BackupMeta): BackupFileEntry[] {
  return storedFiles(meta).filter((entry) =>
    entry.part ? entry.part.kind === "database" : meta.server === undefined
  );
}

/** What the sidecar records of one restorable file's content. */
function expectedOf(meta: BackupMeta, entry: BackupFileEntry): ExpectedContent {
  if (!entry.part) return expectedContent(meta);
  return {
    tables: (entry.part.tables ?? []).map((t) => ({
      ...t,
      rows: meta.type === "schema" ? 0 : t.rows,
    })),
    rawBytes: entry.part.sizes.raw,
  };
}

/**
 * Restore-tests every {@linkcode restorableFiles} entry of `meta`, one `restore test` check each
 * (prefixed as the file's other checks are); a stall is thrown, any other failure is a failed
 * check.
 */
export async function restoreTestAll(
  context: ServiceContext,
  meta: BackupMeta,
  jobs: number,
  dog: Watchdog,
): Promise<DataCheck[]> {
  const checks: DataCheck[] = [];
  for (const entry of restorableFiles(meta)) {
    checks.push(await restoreTestFile(context, meta, entry, jobs, dog));
  }
  return checks;
}

async function restoreTestFile(
  context: ServiceContext,
  meta: BackupMeta,
  entry: BackupFileEntry,
  jobs: number,
  dog: Watchdog,
): Promise<DataCheck> {
  const { engine, storage } = context;
  const name = `${checkPrefix(meta, entry)}restore test`;
  const loading: Phase = {
    doing: "running the restore test",
    what: `backup "${meta.id}"${
      entry.part ? ` (database "${entry.part.name}")` : ""
    } into a scratch database`,
    check: "check the database server (a hung server, a full disk); nothing was recorded",
  };
  dog.enter(loading);
  const expected = expectedOf(meta, entry);
  const scratch = await engine.createScratch();
  try {
    const sql = await readCompressedFile(storage, meta, entry, context.encryption, "restore-test");
    await engine.restore(scratch.location, ticking(sql, dog), {
      compression: entry.file.compression,
      jobs,
      signal: dog.signal,
      // reading bounded by the sidecar (a gzip bomb, an endless statement); compared below
      expected: { ...expected, compare: false },
    });
    const info = await engine.describe(scratch.location);
    const restored = new Map(info.tables.map((t) => [t.name, t.rows]));
    const wanted = new Map(expected.tables.map((t) => [t.name, t.rows]));
    const differences: string[] = [];
    for (const [table, rows] of wanted) {
      const got = restored.get(table);
      if (got === undefined) differences.push(`table "${table}" is missing`);
      else if (got !== rows) differences.push(`table "${table}" has ${got} rows, expected ${rows}`);
    }
    for (const table of restored.keys()) {
      if (!wanted.has(table)) differences.push(`table "${table}" is not in the sidecar`);
    }
    return {
      name,
      ok: differences.length === 0,
      detail: differences.length === 0
        ? `restored ${wanted.size} tables, row counts match, ${
          meta.engine === "sqlite" ? "integrity_check ok" : "every statement and COPY loaded"
        }`
        : differences.slice(0, 5).join("; "),
    };
  } catch (error) {
    if (dog.stalled) throw dog.stalled;
    return { name, ok: false, detail: messageOf(error) };
  } finally {
    await scratch.drop();
  }
}

/** `stream`, each chunk a tick of `dog`. */
async function* ticking(
  stream: AsyncIterable<Uint8Array>,
  dog: Watchdog,
): AsyncIterable<Uint8Array> {
  for await (const chunk of stream) {
    if (dog.stalled) throw dog.stalled;
    dog.tick();
    yield chunk;
  }
}
