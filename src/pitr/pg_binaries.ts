/**
 * Finding the PostgreSQL programs point-in-time recovery runs (`pg_basebackup`, `pg_waldump`,
 * `postgres`): the server's own major version matters (a WAL file or a data directory is read
 * only by its version), so the search prefers that version's directory over whatever is first
 * on the PATH.
 */
import { join } from "node:path";
import { UsageError } from "../core/errors.ts";

/** Where to look: `pitr.pgBin` when set, the major version when known. */
export interface PgBinaryOptions {
  /** A directory holding the programs (`pitr.pgBin`); when set, the only place looked in. */
  pgBin?: string;
  /** The server's major version (15): Debian's `/usr/lib/postgresql/15/bin` is tried first. */
  major?: number;
  /** The PATH to search last. Default the process's. */
  path?: string;
}

/** The path of program `name`, or a usage error saying how to point at it. */
export function pgBinary(name: string, options: PgBinaryOptions = {}): string {
  const candidates = options.pgBin !== undefined ? [join(options.pgBin, name)] : [
    ...(options.major !== undefined ? [`/usr/lib/postgresql/${options.major}/bin/${name}`] : []),
    ...(options.path ?? Deno.env.get("PATH") ?? "").split(":").filter((d) => d !== "").map((d) =>
      join(d, name)
    ),
    ...(options.major === undefined ? newestDebianBin(name) : []),
  ];
  for (const candidate of candidates) {
    try {
      if (Deno.statSync(candidate).isFile) return candidate;
    } catch { /* next */ }
  }
  throw new UsageError(
    `Cannot find PostgreSQL's ${name}${options.pgBin !== undefined ? ` in ${options.pgBin}` : ""}` +
      `${
        options.major !== undefined ? ` (version ${options.major})` : ""
      }: install it or set pitr.pgBin to its directory`,
  );
}

/** Debian's version directories, newest first. */
function newestDebianBin(name: string): string[] {
  try {
    return [...Deno.readDirSync("/usr/lib/postgresql")].map((e) => Number(e.name))
      .filter((n) => Number.isInteger(n)).sort((a, b) => b - a)
      .map((n) => `/usr/lib/postgresql/${n}/bin/${name}`);
  } catch {
    return [];
  }
}
