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
  /**
   * Set on an ordinary rowid table without INTEGER PRIMARY KEY whose columns take all three names
   * of the rowid (`rowid`, `oid`, `_rowid_`): no SQL can read its rowid (only the C API sees it),
   * so the rows are written in rowid order without it and come back in that order, numbered
   * from 1. `sqlite3 .dump --preserve-rowids` loses them too.
   */
  rowidLost?: boolean;
  /** Lower-case module name of a virtual table. */
  module?: string;
  strategy?: VirtualTableStrategy;
  /** Shadow tables of a virtual table, whose rows are not dumped as tables of their own. */
  shadowTables: string[];
  /** Set on a shadow table: the virtual table that owns it (and decides how it is copied). */
  shadowOf?: string;
  /**
   * WITHOUT ROWID tables: the columns of the primary key in the order, direction and collation
   * of its index (the table's own b-tree), as `pragma_index_xinfo` gives them.
   */
  primaryKey?: KeyColumn[];
}

/** A column of an index key. */
export interface KeyColumn {
  name: string;
  descending: boolean;
  /** The collation the index compares this column by (`BINARY`, `NOCASE`, ...). */
  collation: string;
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
  const entries = schema.filter((e) =>
    e.type === "table" && e.sql !== null && !e.name.startsWith("sqlite_")
  );
  const plans = entries.map((entry) => {
    const virtual = /^\s*CREATE\s+VIRTUAL\s+TABLE/i.test(entry.sql!);
    const module = virtual ? moduleOf(entry.sql!) : undefined;
    const strategy: VirtualTableStrategy | undefined = !virtual
      ? undefined
      : module && SHADOW_COPY_MODULES.has(module)
      ? "copy-shadow-tables"
      : "declare-only";
    return { entry, virtual, module, strategy };
  });
  const catalog = readCatalog(
    db,
    plans.filter((p) => p.strategy !== "declare-only").map((p) => p.entry.name),
    plans.filter((p) => !p.virtual).map((p) => p.entry.name),
  );
  const tables: Table[] = [];
  const claimedShadows = new Map<string, string>();
  for (const { entry, virtual, module, strategy } of plans) {
    const info = listing.get(entry.name);
    let shadowTables: string[] = [];
    if (strategy !== undefined && strategy !== "declare-only") {
      // SQLite's rule: the owner of shadow table "a_b_c" is virtual table "a_b" (up to the last
      // "_"), so "ft_x_data" belongs to "ft_x", not to "ft".
      shadowTables = shadowNames.filter((s) =>
        s.startsWith(`${entry.name}_`) && s.lastIndexOf("_") === entry.name.length
      );
      shadowTables.forEach((s) => claimedShadows.set(s, entry.name));
    }
    const xinfo = catalog.columns.get(entry.name) ?? [];
    const columns = strategy === "declare-only"
      ? []
      : columnsOf(xinfo, entry.name, info?.strict === 1, virtual, module);
    const withoutRowid = info?.wr === 1;
    const allNames = strategy === "declare-only"
      ? new Set<string>()
      : new Set(xinfo.map((c) => c.name.toLowerCase()));
    const rowidName = withoutRowid
      ? undefined
      : ["rowid", "_rowid_", "oid"].find((n) => !allNames.has(n));
    // An R*Tree's first column is its rowid; every other module takes the rowid separately.
    const rowidColumn = module === "rtree" || module === "rtree_i32" ||
      (!virtual && hasRowidAlias(xinfo, catalog.primaryKeys.has(entry.name)));
    const writeRowid = !withoutRowid && rowidName !== undefined && !rowidColumn;
    const rowidLost = !virtual && !withoutRowid && rowidName === undefined && !rowidColumn;
    tables.push({
      name: entry.name,
      sql: entry.sql!,
      virtual,
      withoutRowid,
      columns,
      rowidName,
      writeRowid,
      ...(rowidLost ? { rowidLost } : {}),
      module,
      strategy,
      shadowTables,
      ...(withoutRowid ? { primaryKey: catalog.primaryKeys.get(entry.name) ?? [] } : {}),
    });
  }
  // Shadow tables of modules we do not drive stay unclaimed: they are dumped as plain tables.
  for (const table of tables) table.shadowOf = claimedShadows.get(table.name);
  return tables;
}

/** A row of `pragma_table_xinfo`. */
interface ColumnInfo {
  name: string;
  type: string;
  hidden: number;
  pk: number;
}

/**
 * The columns of tables `withColumns` and the primary key indexes of tables `withIndexes`, each
 * read by one query for all tables (a database of a thousand tables pays for two queries, not
 * for four thousand). Falls back to one query per table when the batch fails, so that an error
 * (a virtual table whose module this build lacks) names its table.
 */
function readCatalog(
  db: DatabaseSync,
  withColumns: string[],
  withIndexes: string[],
): { columns: Map<string, ColumnInfo[]>; primaryKeys: Map<string, KeyColumn[]> } {
  const columns = new Map<string, ColumnInfo[]>();
  const primaryKeys = new Map<string, KeyColumn[]>();
  const columnRows = (names: string[]) =>
    db.prepare(
      "SELECT t.value AS t, x.name, x.type, x.hidden, x.pk FROM json_each(?) t, " +
        "pragma_table_xinfo(t.value, 'main') x ORDER BY t.key, x.cid",
    ).all(JSON.stringify(names));
  let rows;
  try {
    rows = columnRows(withColumns);
  } catch {
    rows = withColumns.flatMap((name) => columnRows([name]));
  }
  for (const row of rows) {
    const list = columns.get(String(row.t)) ?? [];
    list.push({
      name: String(row.name),
      type: String(row.type ?? ""),
      hidden: Number(row.hidden),
      pk: Number(row.pk),
    });
    columns.set(String(row.t), list);
  }
  // The index behind a PRIMARY KEY that is not the rowid: its key columns, in index order, with
  // the direction and collation the index sorts by.
  const keyRows = db.prepare(
    "SELECT t.value AS t, k.name, k.desc, k.coll FROM json_each(?) t, " +
      "pragma_index_list(t.value, 'main') i, pragma_index_xinfo(i.name, 'main') k " +
      "WHERE i.origin = 'pk' AND k.key = 1 ORDER BY t.key, k.seqno",
  ).all(JSON.stringify(withIndexes));
  for (const row of keyRows) {
    const list = primaryKeys.get(String(row.t)) ?? [];
    list.push({
      name: String(row.name),
      descending: Number(row.desc) === 1,
      collation: String(row.coll),
    });
    primaryKeys.set(String(row.t), list);
  }
  return { columns, primaryKeys };
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

function columnsOf(
  rows: ColumnInfo[],
  table: string,
  strict: boolean,
  virtual: boolean,
  module?: string,
): Column[] {
  // Hidden columns of virtual tables are commands (FTS's own-name column, `rank`, `docid`),
  // except FTS4's `languageid=` column, which holds each row's language id.
  const isLanguageId = (name: string) =>
    (module === "fts3" || module === "fts4") && name !== table && name.toLowerCase() !== "docid";
  return rows.filter((r) => r.hidden === 0 || isLanguageId(r.name)).map((r) => ({
    name: r.name,
    declaredType: r.type,
    mayHoldNegativeZero: canHoldNegativeZero(r.type, strict, virtual),
  }));
}

/**
 * Whether the table has an INTEGER PRIMARY KEY column, which is the rowid itself and so carries it
 * in the INSERT. `INTEGER PRIMARY KEY DESC` is not an alias and has an automatic index: check that.
 */
function hasRowidAlias(columns: ColumnInfo[], hasPrimaryKeyIndex: boolean): boolean {
  // pragma_table_info lists the columns of pragma_table_xinfo that are not hidden
  const pk = columns.filter((c) => c.hidden === 0 && c.pk > 0);
  return pk.length === 1 && pk[0].type.toUpperCase() === "INTEGER" && !hasPrimaryKeyIndex;
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
