/**
 * `diff`: what changed between a backup and the live database. Row counts per table (the
 * backup's from its sidecar, the live ones counted exactly by the engine's `describe()`), tables
 * on one side only, columns on one side only or whose declared type changed, and the migration
 * version on both sides. The backup's columns come from its own schema statements, read from
 * the start of the dump: PostgreSQL writes the whole schema before the data, so reading stops
 * at the first `COPY`; SQLite creates each table just before its rows, so reading stops at the
 * last table's `CREATE TABLE` (the rows before it are only scanned, never loaded). A reading that
 * stops early has not checked the backup's SHA-256 (`verify` does): the sidecar, which holds the
 * row counts, is checked by its own checksum.
 */
import type { MigrationVersion } from "../engines/engine.ts";
import type { ServiceContext } from "./context.ts";
import type { Column, TableColumns } from "./extract/columns.ts";
import { backupMeta, backupText, textLines } from "./extract/backup_sql.ts";
import { readSqliteSchema } from "./extract/sqlite_schema.ts";
import { PostgresSchema } from "./extract/pg_schema.ts";

/** One side of a comparison: tables with rows, their columns, the migration version. */
export interface DiffSide {
  tables: { name: string; rows: number }[];
  /** Columns by table; a table absent here had its columns not read (they are not compared). */
  columns: TableColumns;
  migration?: MigrationVersion;
}

/** A column whose declared type differs between the two sides. */
export interface TypeChange {
  name: string;
  backupType: string;
  liveType: string;
}

/** How one table differs. Field names are stable (`--format json`). */
export interface TableDiff {
  name: string;
  /** `same`, `changed` (rows or columns), `backup-only`, `live-only`. */
  status: "same" | "changed" | "backup-only" | "live-only";
  /** Rows in the backup (its sidecar); `null` when the table is live only. */
  backupRows: number | null;
  /** Rows now; `null` when the table is in the backup only. */
  liveRows: number | null;
  /** `liveRows - backupRows`; `null` when the table is on one side only. */
  difference: number | null;
  /** Whether both sides' columns were read and compared. */
  columnsCompared: boolean;
  backupOnlyColumns: Column[];
  liveOnlyColumns: Column[];
  typeChanges: TypeChange[];
}

/** The outcome of {@linkcode diffBackup}. Field names are stable (`--format json`). */
export interface DiffResult {
  backup: string;
  engine: "sqlite" | "postgres";
  /** The live database, with any password removed. */
  database: string;
  /** When the backup was taken. */
  createdAt: string;
  /** Nothing differs: tables, rows, columns and migration version. */
  equal: boolean;
  tables: TableDiff[];
  migration: {
    backup: MigrationVersion | null;
    live: MigrationVersion | null;
    equal: boolean;
  };
}

/** Options of {@linkcode diffBackup}. */
export interface DiffOptions {
  signal?: AbortSignal;
}

/** Compares backup `query` with the context's database. */
export async function diffBackup(
  context: ServiceContext,
  query: string,
  options: DiffOptions = {},
): Promise<DiffResult> {
  const meta = await backupMeta(context, query, "compare");
  const live = await context.engine.describe(context.database, { signal: options.signal });
  const backupColumns = await readBackupColumns(context, meta);
  const liveSide: DiffSide = {
    tables: live.tables,
    columns: context.engine.columns ? await context.engine.columns(context.database) : new Map(),
    migration: live.migration,
  };
  const compared = compareSides(
    { tables: meta.tables, columns: backupColumns, migration: meta.migration },
    liveSide,
  );
  return {
    backup: meta.id,
    engine: meta.engine,
    database: context.engine.redact(context.database),
    createdAt: meta.createdAt,
    ...compared,
  };
}

async function readBackupColumns(
  context: ServiceContext,
  meta: Awaited<ReturnType<typeof backupMeta>>,
): Promise<TableColumns> {
  const text = backupText(context, meta, "compare");
  if (meta.engine === "sqlite") return await readSqliteSchema(text, meta.tables.map((t) => t.name));
  const schema = new PostgresSchema();
  for await (const line of textLines(text)) {
    if (line.startsWith("COPY ")) break; // the data begins: the schema is complete
    schema.line(line);
  }
  return schema.tables();
}

/** Pure: how `live` differs from `backup`, tables in name order. */
export function compareSides(
  backup: DiffSide,
  live: DiffSide,
): Pick<DiffResult, "equal" | "tables" | "migration"> {
  const before = new Map(backup.tables.map((t) => [t.name, t.rows]));
  const after = new Map(live.tables.map((t) => [t.name, t.rows]));
  const names = [...new Set([...before.keys(), ...after.keys()])].sort();
  const tables = names.map((name): TableDiff => {
    const backupRows = before.get(name) ?? null;
    const liveRows = after.get(name) ?? null;
    const a = backup.columns.get(name);
    const b = live.columns.get(name);
    const columnsCompared = backupRows !== null && liveRows !== null && !!a && !!b;
    const backupOnlyColumns = columnsCompared
      ? a.filter((c) => !b.some((d) => d.name === c.name))
      : [];
    const liveOnlyColumns = columnsCompared
      ? b.filter((c) => !a.some((d) => d.name === c.name))
      : [];
    const typeChanges: TypeChange[] = [];
    if (columnsCompared) {
      for (const column of a) {
        const other = b.find((d) => d.name === column.name);
        if (other && !sameType(column.type, other.type)) {
          typeChanges.push({ name: column.name, backupType: column.type, liveType: other.type });
        }
      }
    }
    const status = backupRows === null
      ? "live-only"
      : liveRows === null
      ? "backup-only"
      : backupRows !== liveRows || backupOnlyColumns.length + liveOnlyColumns.length +
              typeChanges.length > 0
      ? "changed"
      : "same";
    return {
      name,
      status,
      backupRows,
      liveRows,
      difference: backupRows !== null && liveRows !== null ? liveRows - backupRows : null,
      columnsCompared,
      backupOnlyColumns,
      liveOnlyColumns,
      typeChanges,
    };
  });
  const migrationEqual = backup.migration?.table === live.migration?.table &&
    backup.migration?.version === live.migration?.version;
  return {
    equal: migrationEqual && tables.every((t) => t.status === "same"),
    tables,
    migration: {
      backup: backup.migration ?? null,
      live: live.migration ?? null,
      equal: migrationEqual,
    },
  };
}

/** Declared types compare as SQLite and `format_type` write them, blanks and case aside. */
function sameType(a: string, b: string): boolean {
  const normal = (t: string) => t.trim().replace(/\s+/g, " ").toLowerCase();
  return normal(a) === normal(b);
}
