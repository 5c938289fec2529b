/**
 * The further stores backups are copied to: the `copies` settings plus `--copy-to`, each opened
 * like the primary store and with its own retention (the general one when it has none).
 */
import type { Config } from "../config/schema.ts";
import { type Destination, syncErrors, type SyncReport } from "../core/copy.ts";
import { formatBytes } from "./format.ts";
import { type CommandDeps, storageFor } from "./deps.ts";

/** The destinations of the settings and of `--copy-to` (without retention of its own). */
export function destinationsFor(
  config: Config,
  deps: CommandDeps,
  copyTo: string[] = [],
): Destination[] {
  const urls = new Map<string, Config["copies"][number]>();
  for (const copy of config.copies) urls.set(copy.url, copy);
  for (const url of copyTo) if (!urls.has(url)) urls.set(url, { url });
  return [...urls.values()]
    .filter((copy) => copy.url !== config.backupDir)
    .map((copy) => ({
      storage: storageFor(copy.url, config, deps),
      policy: copy.retention ?? config.retention,
    }));
}

/** One line per copy made and per failure, for stdout and stderr. */
export function describeSync(report: SyncReport): { lines: string[]; errors: string[] } {
  const lines = report.copied.map((c) =>
    c.alreadyThere
      ? `Copy of ${c.id} already in ${c.to}`
      : `Copied ${c.id} to ${c.to} (${formatBytes(c.bytes)}, checksum verified)`
  );
  const errors = syncErrors(report).map((error) =>
    report.error === error
      ? `${error} (no backup was copied there; the next run tries again)`
      : `${error} (the next run tries again)`
  );
  return { lines, errors };
}
