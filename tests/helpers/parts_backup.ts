/**
 * Multi-part backups for tests, without the commands that make them (`create --all-databases`,
 * `--files`): a real backup of the context's database (its main file), then parts written
 * through `storedStream` as create writes them (compressed, encrypted for the context's
 * recipients, hashed), and the sidecar rewritten with the parts (`serializeMeta`). So every
 * reader of parts (verify, copy, cleanup, list, the API) is tested on real bytes.
 */
import type { ServiceContext } from "../../src/core/context.ts";
import { createBackup } from "../../src/core/create.ts";
import {
  type BackupMeta,
  ENCRYPTED_SUFFIX,
  metaKey,
  parseMeta,
  partKey,
} from "../../src/core/backup_file.ts";
import { readAll, writeMeta } from "../../src/core/catalog.ts";
import { DEFAULT_COMPRESSION, sqlSuffix } from "../../src/core/compression.ts";
import { storedStream } from "../../src/core/stored_stream.ts";
import { SqliteEngine } from "../../src/engines/sqlite/sqlite_engine.ts";

type Part = NonNullable<BackupMeta["parts"]>[number];

/** Options of {@linkcode createPartsBackup}. */
export interface PartsBackupOptions {
  /** SQLite databases held as `database` parts: name to path. Default none. */
  databases?: Record<string, string>;
  /**
   * The `files` part: bytes stored as they are through the compression (a tar when the test
   * needs one; any bytes otherwise), with its entry count. Default none.
   */
  files?: { bytes: Uint8Array; entries: number };
  /** Mark it a whole server's backup (`server`, listing `databases`). Default `false`. */
  server?: boolean;
}

/**
 * Writes a backup of `context.database` with the parts `options` names, and returns its sidecar
 * as parsed back from the store.
 */
export async function createPartsBackup(
  context: ServiceContext,
  options: PartsBackupOptions = {},
): Promise<BackupMeta> {
  const main = await createBackup(context);
  const recipients = context.encryption?.recipients ?? [];
  const compression = context.compression ?? DEFAULT_COMPRESSION;
  const sealed = recipients.length > 0 ? ENCRYPTED_SUFFIX : "";
  const parts: Part[] = [];
  const engine = new SqliteEngine();
  for (const [name, path] of Object.entries(options.databases ?? {})) {
    const key = partKey(main.id, "database", name, sqlSuffix(compression.format) + sealed);
    const stream = storedStream(await context.storage.create(key), key, {
      compression,
      recipients,
      jobs: 1,
    });
    const summary = await engine.dump(path, (chunk) => stream.write(chunk), { jobs: 1 });
    const { file, sizes } = await stream.end();
    await stream.commit();
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
    });
  }
  if (options.files) {
    const suffix = sqlSuffix(compression.format).replace(".sql", ".tar") + sealed;
    const key = partKey(main.id, "files", "files", suffix);
    const stream = storedStream(await context.storage.create(key), key, {
      compression,
      recipients,
      jobs: 1,
    });
    await stream.write(options.files.bytes);
    const { file, sizes } = await stream.end();
    await stream.commit();
    parts.push({ kind: "files", name: "files", file, sizes, entries: options.files.entries });
  }
  const { sidecarSha256: _, ...rest } = main;
  await writeMeta(context.storage, {
    ...rest,
    ...(options.server
      ? {
        server: {
          databases: parts.filter((p) => p.kind === "database").map((p) => p.name),
          rolePasswords: false,
        },
      }
      : {}),
    parts,
  }, true);
  return parseMeta(await readAll(context.storage, metaKey(main.id)), main.id);
}

/** A real tar (GNU tar's) of the directory `dir`'s contents, and how many entries it holds. */
export async function tarOf(dir: string): Promise<{ bytes: Uint8Array; entries: number }> {
  const output = await new Deno.Command("tar", { args: ["-C", dir, "-cf", "-", "."] }).output();
  if (!output.success) throw new Error(new TextDecoder().decode(output.stderr));
  const list = await new Deno.Command("tar", { args: ["-C", dir, "-cf", "/dev/null", "-v", "."] })
    .output();
  const entries = new TextDecoder().decode(list.stdout).split("\n").filter((l) => l).length;
  return { bytes: output.stdout, entries };
}
