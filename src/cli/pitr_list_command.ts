import { type CommandDeps, locationFlags, settingsFor } from "./deps.ts";
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
