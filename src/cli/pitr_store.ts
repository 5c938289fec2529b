import type { Config } from "../config/schema.ts";
import type { Storage } from "../storage/storage.ts";
import { lockDirectoryFor, subStoreUrl } from "../storage/open_storage.ts";
import { type CommandDeps, storageFor } from "./deps.ts";

/**
 * Where `replicate` ships and `restore --at` reads: the store `pitr` inside the backup directory
 * (`<backupDir>/pitr/`, `s3://bucket/prefix/pitr`), with a lock of its own so two replicators
 * never extend the same chain. Its keys never list as backups (stores list flat).
 */
export function pitrLocation(
  config: Config,
  deps: CommandDeps,
): { store: Storage; lockDirectory: string; location: string } {
  const url = subStoreUrl(config.backupDir, "pitr");
  return {
    store: storageFor(url, config, deps),
    lockDirectory: lockDirectoryFor(url, deps.io.env),
    location: url,
  };
}
