import { type CommandDeps, locationFlags, settingsFor } from "./deps.ts";
import { listGenerations, listSegments } from "../pitr/sqlite_pitr_store.ts";
import { pitrLocation } from "./pitr_store.ts";
import { formatBytes, renderJson, renderTable } from "./format.ts";

/** What `list --pitr` takes. */
export interface ListPitrArgs {
  format: "table" | "json";
  database?: string;
  dir?: string;
}

/** One generation as `list --pitr` shows it. */
export interface GenerationSummary {
  generation: string;
  /** When the snapshot stands for: the span's start. */
  from: string;
  /** The newest commit shipped in it (the span's end): the snapshot's time if none. */
  to: string;
  segments: number;
  commits: number;
  /** Stored bytes: the snapshot and every segment. */
  storedBytes: number;
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
  const summaries: GenerationSummary[] = [];
  for (const snapshot of await listGenerations(store)) {
    const segments = await listSegments(store, snapshot.generation);
    let to = snapshot.takenAt;
    let commits = 0;
    let storedBytes = snapshot.stored.size;
    for (const segment of segments) {
      commits += segment.commits.length;
      storedBytes += segment.stored.size;
      const last = segment.commits[segment.commits.length - 1];
      if (last) to = last.seenAt;
    }
    summaries.push({
      generation: snapshot.generation,
      from: snapshot.takenAt,
      to,
      segments: segments.length,
      commits,
      storedBytes,
    });
  }
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
