/**
 * What a backup holds, told from its sidecar for listings (`list`, `status`, the API): the
 * databases of a server backup (or the database parts of another), the files beside with their
 * entry count, and totals over every part, so a multi-part backup reads as one unit. Pure.
 */
import { type BackupMeta, storedFiles } from "./backup_file.ts";

/** One part of a backup as listings show it. */
export interface PartSummary {
  kind: "database" | "files";
  name: string;
  /** The part's storage key. */
  key: string;
  /** Stored bytes (compressed, encrypted) as recorded. */
  size: number;
  /** Bytes before compression. */
  sizeRaw: number;
  sha256: string;
  encrypted: boolean;
  /** `database`: its tables and rows. */
  tables?: number;
  rows?: number;
  /** `files`: entries in the tar. */
  entries?: number;
}

/** The parts of `meta`, in sidecar order; empty for a backup that is its main file alone. */
export function partSummaries(meta: BackupMeta): PartSummary[] {
  return (meta.parts ?? []).map((part) => ({
    kind: part.kind,
    name: part.name,
    key: part.file.name,
    size: part.sizes.compressed,
    sizeRaw: part.sizes.raw,
    sha256: part.file.sha256,
    encrypted: part.file.encryption !== undefined,
    ...(part.kind === "database"
      ? {
        tables: part.totals?.tables ?? part.tables?.length ?? 0,
        rows: part.totals?.rows ?? (part.tables ?? []).reduce((sum, t) => sum + t.rows, 0),
      }
      : {}),
    ...(part.entries !== undefined ? { entries: part.entries } : {}),
  }));
}

/** Rows of the whole backup: the main file's and every database part's. */
export function totalRows(meta: BackupMeta): number {
  return meta.totals.rows +
    partSummaries(meta).reduce((sum, part) => sum + (part.rows ?? 0), 0);
}

/** Recorded stored bytes of every file of the backup (main and parts). */
export function recordedSize(meta: BackupMeta): number {
  return storedFiles(meta).reduce((sum, entry) => sum + entry.size, 0);
}

/**
 * Bytes of SQL before compression: the main file's and every database part's, not the files
 * beside. What the size-anomaly rule compares, so a whole server's backup counts its databases
 * (not its globals alone) and files added or removed beside the database do not count.
 */
export function sqlRawSize(meta: BackupMeta): number {
  return meta.sizes.raw + (meta.parts ?? []).filter((part) => part.kind === "database")
    .reduce((sum, part) => sum + part.sizes.raw, 0);
}

/** Recorded bytes before compression of every file of the backup (main and parts). */
export function recordedRawSize(meta: BackupMeta): number {
  return meta.sizes.raw + (meta.parts ?? []).reduce((sum, part) => sum + part.sizes.raw, 0);
}

/**
 * One phrase of what `meta` holds beyond its main database, or `undefined` when it holds
 * nothing more: `databases app, crm; files (12 entries)`. A server backup names every database
 * it holds (its main file is the globals).
 */
export function holdingsText(meta: BackupMeta): string | undefined {
  const parts = partSummaries(meta);
  const databases = parts.filter((p) => p.kind === "database").map((p) => p.name);
  const files = parts.filter((p) => p.kind === "files");
  const phrases = [
    ...(meta.server
      ? [
        `server: ${databases.length} database${databases.length === 1 ? "" : "s"}${
          databases.length ? ` (${databases.join(", ")})` : ""
        }`,
      ]
      : databases.length
      ? [`databases ${databases.join(", ")}`]
      : []),
    ...files.map((f) =>
      f.entries === undefined
        ? "files"
        : `files (${f.entries} entr${f.entries === 1 ? "y" : "ies"})`
    ),
  ];
  return phrases.length ? phrases.join("; ") : undefined;
}
