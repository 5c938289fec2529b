import type { Storage } from "../storage/storage.ts";
import { listGenerations, listSegments } from "./sqlite_pitr_store.ts";

/** One replicated generation as `list --pitr` and `status` show it. */
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

/** Every generation in `store`, oldest first, from the manifests alone. */
export async function summarizeGenerations(store: Storage): Promise<GenerationSummary[]> {
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
  return summaries;
}
