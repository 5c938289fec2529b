import { type CommandDeps, locationFlags, settingsFor, singleDatabase } from "./deps.ts";
import type { Config } from "../config/schema.ts";
import { listBaseBackups } from "../pitr/pg_base_backup.ts";
import { walArchiveStatus } from "./pitr_status.ts";
import { summarizeGenerations } from "../pitr/sqlite_pitr_summary.ts";
import { pitrLocation } from "./pitr_store.ts";
import { formatBytes, renderJson, renderTable } from "./format.ts";

/** What `list --pitr` takes. */
export interface ListPitrArgs {
  format: "table" | "json";
  database?: string;
  dir?: string;
}

/**
 * `list --pitr`: the generations `replicate` shipped, oldest first, each with the span a
 * `restore --at` can reach in it, and the age of the newest shipped commit (the replication lag
 * as the store shows it: while the application writes nothing it grows too). Read from the
 * manifests alone.
 */
export async function runListPitr(args: ListPitrArgs, deps: CommandDeps): Promise<number> {
  const config = settingsFor(deps, locationFlags(args));
  if (/^postgres(ql)?:\/\//i.test(singleDatabase(config))) {
    return await listBases(args, config, deps);
  }
  const { store, location } = pitrLocation(config, deps);
  const summaries = await summarizeGenerations(store);
  const newest = summaries[summaries.length - 1];
  const ageMs = newest ? deps.clock.now().getTime() - new Date(newest.to).getTime() : undefined;
  if (args.format === "json") {
    deps.io.stdout(renderJson({
      location,
      generations: summaries,
      newestShipped: newest?.to ?? null,
      ageSeconds: ageMs === undefined ? null : Math.round(ageMs / 1000),
    }));
    return 0;
  }
  if (!newest) {
    deps.io.stdout(`No replicated generations in ${location} (run replicate)\n`);
    return 0;
  }
  deps.io.stdout(renderTable(
    ["generation", "from", "to", "segments", "commits", "stored"],
    summaries.map((s) => [
      s.generation,
      s.from.slice(0, 19).replace("T", " ") + "Z",
      s.to.slice(0, 19).replace("T", " ") + "Z",
      s.segments,
      s.commits,
      formatBytes(s.storedBytes),
    ]),
  ));
  deps.io.stdout(
    `newest shipped commit ${newest.to} (${Math.round(ageMs! / 1000)} s ago), in ${location}\n`,
  );
  return 0;
}

/**
 * `list --pitr` of a PostgreSQL server: its base backups, oldest first, each restorable from
 * when it finished, and the WAL archive after them (newest file, gaps).
 */
async function listBases(args: ListPitrArgs, config: Config, deps: CommandDeps): Promise<number> {
  const { store, location } = pitrLocation(config, deps);
  const bases = await listBaseBackups(store);
  const archive = await walArchiveStatus(config, singleDatabase(config), deps);
  if (args.format === "json") {
    deps.io.stdout(
      renderJson({ location, baseBackups: bases, walArchive: archive?.figures ?? null }),
    );
    return 0;
  }
  if (!archive) {
    deps.io.stdout(
      `No base backups or archived WAL in ${location} (set archive_command to wal-push, then create --type base)\n`,
    );
    return 0;
  }
  if (bases.length > 0) {
    deps.io.stdout(renderTable(
      ["base backup", "finished", "WAL from", "timeline", "size", "stored"],
      bases.map((b) => [
        b.id,
        b.stoppedAt.slice(0, 19).replace("T", " ") + "Z",
        b.startWal,
        b.timeline,
        formatBytes(b.stored.raw),
        formatBytes(b.stored.size),
      ]),
    ));
  }
  deps.io.stdout(`${archive.line}, in ${location}\n`);
  for (const reason of archive.reasons) deps.io.stdout(`${reason.level}: ${reason.message}\n`);
  return 0;
}
