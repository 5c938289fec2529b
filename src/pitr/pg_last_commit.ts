/**
 * When the archive's last transaction committed, read from the WAL itself with the server's own
 * `pg_waldump`. PostgreSQL stops recovery at a target time only when it meets a commit after
 * it; a target past the archive's last commit is "the end of the archive" (recovering with the
 * target set would fail with "recovery ended before configured recovery target was reached").
 */
import { join } from "node:path";
import type { Storage } from "../storage/storage.ts";
import { fetchWal } from "./pg_wal_archive.ts";
import { pgBinary, type PgBinaryOptions } from "./pg_binaries.ts";

const COMMIT_LINE =
  /desc: (?:COMMIT|ABORT)(?:_PREPARED \d+:)? (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) UTC/g;

/** The time of the last commit or abort in `pg_waldump` output (UTC), if any. */
export function lastCommitIn(waldumpOutput: string): Date | undefined {
  let last: string | undefined;
  for (const match of waldumpOutput.matchAll(COMMIT_LINE)) last = match[1];
  if (last === undefined) return undefined;
  const [date, time] = last.split(" ");
  const [whole, fraction = ""] = time.split(".");
  return new Date(`${date}T${whole}.${(fraction + "000").slice(0, 3)}Z`);
}

/**
 * The last commit in the archived segments `names` (newest last), looking back from the newest
 * until one holds a commit (at most `lookBack` segments); `undefined` when none does.
 */
export async function lastArchivedCommit(
  store: Storage,
  names: readonly string[],
  options: PgBinaryOptions & { identities?: string[]; lookBack?: number },
): Promise<Date | undefined> {
  const waldump = pgBinary("pg_waldump", options);
  const dir = await Deno.makeTempDir({ prefix: "backup-manager-waldump-" });
  try {
    for (const name of [...names].reverse().slice(0, options.lookBack ?? 16)) {
      const path = join(dir, name);
      if (!await fetchWal(store, name, path, options.identities ?? [])) continue;
      const output = await new Deno.Command(waldump, {
        args: ["--rmgr=Transaction", path],
        env: { TZ: "UTC", LC_ALL: "C" },
        stdout: "piped",
        stderr: "null",
      }).output(); // it exits non-zero where the next segment is missing: the records are out
      await Deno.remove(path);
      const last = lastCommitIn(new TextDecoder().decode(output.stdout));
      if (last) return last;
    }
    return undefined;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
