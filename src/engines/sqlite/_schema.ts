import type { DatabaseSync } from "node:sqlite";
import { canHoldNegativeZero, quoteIdentifier } from "./_sql.ts";

/** One entry of `sqlite_schema`, in creation order. */
export interface SchemaEntry {
  type: "table" | "index" | "view" | "trigger";
  name: string;
  tableName: string;
  sql: string | null;
}

/** A column whose value an INSERT can set (not generated, not hidden). */
export interface Column {
  name: string;
  declaredType: string;
  /** Whether the stored value may be -0.0, which `quote()` cannot render. */
  mayHoldNegativeZero: boolean;
}

/** How the rows of a virtual table come back on restore. */
export type VirtualTableStrategy =
  /**
   * FTS3/4/5, R*Tree, Geopoly: `CREATE VIRTUAL TABLE` (which creates the shadow tables), then
   * the shadow tables' rows are replaced by the source's, as they are. The index is copied, not
   * rebuilt (no re-tokenising), and the restore checks it with the module's own integrity check.
   */
  | "copy-shadow-tables"
  /** A module we do not know: declare it as `.dump` does and copy its tables as plain tables. */
  | "declare-only";

/** A table (ordinary or virtual) and what the dump needs to know to copy its rows exactly. */
export interface Table {
  name: string;
  sql: string;
  virtual: boolean;
  withoutRowid: boolean;
  columns: Column[];
  /** Name that reads the rowid (`rowid`, `_rowid_` or `oid`), if one is not shadowed by a column. */
  rowidName?: string;
  /** Whether the rowid must be written explicitly (rowid table without INTEGER PRIMARY KEY). */
  writeRowid: boolean;
  /** Lower-case module name of a virtual table. */
  module?: string;
  strategy?: VirtualTableStrategy;
  /** Shadow tables of a virtual table, whose rows are not dumped as tables of their own. */
  shadowTables: string[];
  /** Set on a shadow table: the virtual table that owns it (and decides how it is copied). */
  shadowOf?: string;
}

/** Reads `sqlite_schema` in creation order. */
export function readSchema(db: DatabaseSync): SchemaEntry[] {
  return db.prepare(
    "SELECT type, name, tbl_name AS tableName, sql FROM main.sqlite_schema ORDER BY rowid",
  ).all() as unknown as SchemaEntry[];
}

/** Modules whose shadow tables hold everything, copied as they are (see the strategy above). */
const SHADOW_COPY_MODULES = new Set(["fts3", "fts4", "fts5", "rtree", "rtree_i32", "geopoly"]);

/** Describes every table of `main` (ordinary and virtual) that is not internal or shadow. */
export function readTables(db: DatabaseSync, schema: SchemaEntry[]): Table[] {
  const listing = new Map<string, { type: string; wr: number; strict: number }>();
  for (
    const row of db.prepare(
      "SELECT name, type, wr, strict FROM pragma_table_list WHERE schema='main'",
    ).all()
  ) {
    listing.set(String(row.name), {
      type: String(row.type),
      wr: Number(row.wr),
      strict: Number(row.strict),
    });
  }
  const shadowNames = [...listing].filter(([, v]) => v.type === "shadow").map(([k]) => k);
  const tables: Table[] = [];
  const claimedShadows = new Map<string, string>();
  for (const entry of schema) {
    if (entry.type !== "table" || entry.sql === null || entry.name.startsWith("sqlite_")) continue;
    const virtual = /^\s*CREATE\s+VIRTUAL\s+TABLE/i.test(entry.sql);
    const info = listing.get(entry.name);
    const module = virtual ? moduleOf(entry.sql) : undefined;
    let strategy: VirtualTableStrategy | undefined;
    let shadowTables: string[] = [];
    if (virtual) {
      strategy = module && SHADOW_COPY_MODULES.has(module) ? "copy-shadow-tables" : "declare-only";
      if (strategy !== "declare-only") {
        // SQLite's rule: the owner of shadow table "a_b_c" is virtual table "a_b" (up to the last
        // "_"), so "ft_x_data" belongs to "ft_x", not to "ft".
        shadowTables = shadowNames.filter((s) =>
          s.startsWith(`${entry.name}_`) && s.lastIndexOf("_") === entry.name.length
        );
        shadowTables.forEach((s) => claimedShadows.set(s, entry.name));
      }
    }
    const columns = strategy === "declare-only"
      ? []
      : readColumns(db, entry.name, info?.strict === 1, virtual, module);
    const withoutRowid = info?.wr === 1;
    const names = new Set(columns.map((c) => c.name.toLowerCase()));
    const allNames = strategy === "declare-only" ? names : readAllColumnNames(db, entry.name);
    const rowidName = withoutRowid
      ? undefined
      : ["rowid", "_rowid_", "oid"].find((n) => !allNames.has(n));
    // An R*Tree's first column is its rowid; every other module takes the rowid separately.
    const rowidColumn = module === "rtree" || module === "rtree_i32" ||
      (!virtual && hasRowidAlias(db, entry.name));
    const writeRowid = !withoutRowid && rowidName !== undefined && !rowidColumn;
    tables.push({
      name: entry.name,
      sql: entry.sql,
      virtual,
      withoutRowid,
      columns,
      rowidName,
      writeRowid,
      module,
      strategy,
      shadowTables,
    });
  }
  // Shadow tables of modules we do not drive stay unclaimed: they are dumped as plain tables.
  for (const table of tables) table.shadowOf = claimedShadows.get(table.name);
  return tables;
}

/**
 * The number of rows of `table`. A virtual table is counted from the shadow table that holds one
 * row per document or entry, which SQLite counts from its b-tree (`count(*)` on an FTS table reads
 * every document): `_rowid` of an R*Tree, `_content` of an FTS table that keeps its text. A
 * contentless FTS table cannot always be scanned, not even by `count(*)` (FTS4 never; FTS5 not
 * with `columnsize=0`); its `_docsize` shadow table holds one row per document. Without one (FTS4
 * `matchinfo=fts3`, FTS5 `columnsize=0`) the count is 0. An external-content FTS table counts
 * the rows of its content table through the module.
 */
export function countRows(db: DatabaseSync, table: Table): number {
  const name = table.strategy === "copy-shadow-tables" ? countedShadow(table) : table.name;
  if (name === undefined) return 0;
  return Number(db.prepare(`SELECT count(*) AS n FROM ${quoteIdentifier(name)}`).get()?.n);
}

/** The table `countRows()` counts for a virtual table with shadow tables (see there). */
function countedShadow(table: Table): string | undefined {
  const has = (suffix: string) => table.shadowTables.includes(`${table.name}_${suffix}`);
  if (!table.module?.startsWith("fts")) return has("rowid") ? `${table.name}_rowid` : table.name;
  if (has("content")) return `${table.name}_content`;
  if (ftsContentOption(table.sql) === "") {
    return has("docsize") ? `${table.name}_docsize` : undefined;
  }
  return table.name;
}

function readColumns(
  db: DatabaseSync,
  table: string,
  strict: boolean,
  virtual: boolean,
  module?: string,
): Column[] {
  const rows = db.prepare(
    "SELECT name, type, hidden FROM pragma_table_xinfo(?, 'main') ORDER BY cid",
  ).all(table);
  // Hidden columns of virtual tables are commands (FTS's own-name column, `rank`, `docid`),
  // except FTS4's `languageid=` column, which holds each row's language id.
  const isLanguageId = (name: string) =>
    (module === "fts3" || module === "fts4") && name !== table && name.toLowerCase() !== "docid";
  return rows.filter((r) => Number(r.hidden) === 0 || isLanguageId(String(r.name))).map((r) => ({
    name: String(r.name),
    declaredType: String(r.type ?? ""),
    mayHoldNegativeZero: canHoldNegativeZero(String(r.type ?? ""), strict, virtual),
  }));
}

function readAllColumnNames(db: DatabaseSync, table: string): Set<string> {
  const rows = db.prepare("SELECT name FROM pragma_table_xinfo(?, 'main')").all(table);
  return new Set(rows.map((r) => String(r.name).toLowerCase()));
}

/**
 * Whether the table has an INTEGER PRIMARY KEY column, which is the rowid itself and so carries it
 * in the INSERT. `INTEGER PRIMARY KEY DESC` is not an alias and has an automatic index: check that.
 */
function hasRowidAlias(db: DatabaseSync, table: string): boolean {
  const pk = db.prepare("SELECT type FROM pragma_table_info(?, 'main') WHERE pk > 0").all(table);
  if (pk.length !== 1 || String(pk[0].type).toUpperCase() !== "INTEGER") return false;
  const pkIndex = db.prepare("SELECT 1 FROM pragma_index_list(?, 'main') WHERE origin='pk'").all(
    table,
  );
  return pkIndex.length === 0;
}

function moduleOf(sql: string): string | undefined {
  return /\bUSING\s+([A-Za-z0-9_]+)/i.exec(sql)?.[1]?.toLowerCase();
}

/**
 * The `content=` option of an FTS table: `""` for a contentless table, a table name for external
 * content, undefined when the table keeps its own text.
 */
function ftsContentOption(sql: string): string | undefined {
  const content =
    /[(,]\s*content\s*=\s*(?:'((?:[^']|'')*)'|"((?:[^"]|"")*)"|\[([^\]]*)\]|`([^`]*)`|([^\s,)]+))/i
      .exec(sql);
  if (!content) return undefined;
  return content[1] ?? content[2] ?? content[3] ?? content[4] ?? content[5] ?? "";
}
