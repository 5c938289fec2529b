/** A backup as the API shows it: the listing's facts, flat, with a state a person can read. */
import { type CatalogEntry, isGood } from "../core/catalog.ts";
import type { BackupMeta } from "../core/backup_file.ts";
import { partSummaries, type PartSummary } from "../core/parts_summary.ts";

/** One backup in API answers (see docs/api.md, "Backup"). */
export interface BackupView {
  id: string;
  type: string;
  createdAt: string;
  /** Bytes of the stored data file. */
  size: number | null;
  /** SHA-256 (hex) of the stored data file. */
  checksum: string | null;
  description: string | null;
  state: "ok" | "verified" | "damaged";
  problem: string | null;
  engine: string | null;
  database: string | null;
  tables: number | null;
  rows: number | null;
  sizeRaw: number | null;
  durationMs: number | null;
  pinned: boolean;
  pinReason: string | null;
  encrypted: boolean | null;
  verification: BackupMeta["verification"] | null;
  /**
   * The backup's parts (a server backup's databases, the files beside), each downloadable with
   * `?part=NAME`; empty for a backup that is its main file alone.
   */
  parts: PartSummary[];
  /** A whole server's backup: its databases and whether role password hashes are inside. */
  server: { databases: string[]; rolePasswords: boolean } | null;
}

/** The view of a listed backup. */
export function backupView(entry: CatalogEntry): BackupView {
  const meta = entry.meta;
  const good = isGood(entry);
  return {
    id: entry.id,
    type: entry.type,
    createdAt: entry.createdAt.toISOString(),
    size: entry.dataSize ?? null,
    checksum: meta?.file.sha256 ?? null,
    description: meta?.description ?? null,
    state: !good ? "damaged" : meta?.verification?.outcome === "passed" ? "verified" : "ok",
    problem: entry.problem ?? null,
    engine: meta?.engine ?? null,
    database: meta?.database.name ?? null,
    tables: meta?.totals.tables ?? null,
    rows: meta?.totals.rows ?? null,
    sizeRaw: meta?.sizes.raw ?? null,
    durationMs: meta?.durationMs ?? null,
    pinned: meta?.pinned === true,
    pinReason: meta?.pinReason ?? null,
    encrypted: meta ? meta.file.encryption !== undefined : null,
    verification: meta?.verification ?? null,
    parts: meta ? partSummaries(meta) : [],
    server: meta?.server
      ? { databases: [...meta.server.databases], rolePasswords: meta.server.rolePasswords }
      : null,
  };
}

/** The view of a backup just written, from its sidecar. */
export function metaView(meta: BackupMeta): BackupView {
  return backupView({
    id: meta.id,
    type: meta.type,
    createdAt: new Date(meta.createdAt),
    meta,
    dataKey: meta.file.name,
    dataSize: meta.sizes.compressed,
    metaSize: 0,
  });
}
