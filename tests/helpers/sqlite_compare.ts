/**
 * An oracle for SQLite round trips: compares two database files value by value, by type and exact
 * bytes, and lists every difference in words.
 */
import { DatabaseSync } from "node:sqlite";

/** Options of {@linkcode compareDatabases}. */
export interface CompareOptions {
  /** Full-text queries run on both sides against every FTS table. Default: none. */
  ftsQueries?: string[];
  /**
   * Names (`sqlite_schema.name`) left out of the comparison entirely, for what one side genuinely
   * cannot hold. Default: none.
   */
  ignore?: string[];
}

/**
 * Compares the databases at paths `a` and `b`; returns the differences (empty when identical).
 *
 * Compared: `sqlite_schema` rows (type, name, table name, SQL text; not root pages), every row of
 * every table by type and exact bytes (REAL by its 64-bit pattern, TEXT by its stored bytes,
 * INTEGER as 64-bit), rowids of rowid tables, `sqlite_sequence` and the statistics tables, the file
 * header settings, `PRAGMA integrity_check` on each side, and for full-text tables their query
 * results and their own integrity check. FTS shadow tables whose content the module rebuilds
 * are not compared byte for byte (a rebuilt index may be laid out differently); the shadow
 * tables of contentless FTS tables, which are the only copy of their data, are.
 *
 * The planner's statistics (`sqlite_stat1`, `sqlite_stat4`, an old `sqlite_stat3`) are compared
 * row by row, rowids included: a build without `SQLITE_ENABLE_STAT4` (the stock `sqlite3` 3.40)
 * does not use `sqlite_stat4`, but keeps it as a plain table.
 */
export function compareDatabases(a: string, b: string, options: CompareOptions = {}): string[] {
  const left = new DatabaseSync(a, { readOnly: true });
  const right = new DatabaseSync(b, { readOnly: true });
  try {
    left.exec("BEGIN");
    right.exec("BEGIN");
    const ignore = new Set(options.ignore ?? []);
    const differences: string[] = [];
    for (const side of [left, right]) {
      const check = side.prepare("PRAGMA integrity_check").all().map((r) => Object.values(r)[0])
        // SQLite 3.44+ cannot check a contentless FTS4 table (it cannot be scanned) and says so.
        .filter((p) =>
          !/^unable to validate the inverted index for FTS4 table .*: SQL logic error$/
            .test(String(p))
        );
      if (check.some((p) => p !== "ok")) {
        differences.push(`integrity_check of ${side === left ? a : b}: ${check.join("; ")}`);
      }
    }
    for (const pragma of PRAGMAS) {
      const [x, y] = [readPragma(left, pragma), readPragma(right, pragma)];
      if (x !== y) differences.push(`PRAGMA ${pragma}: ${x} vs ${y}`);
    }
    const schemaA = readSchema(left).filter((e) => !ignore.has(e.name));
    const schemaB = readSchema(right).filter((e) => !ignore.has(e.name));
    differences.push(...compareSchemas(schemaA, schemaB));
    const shared = schemaA.filter((e) =>
      schemaB.some((f) => f.type === e.type && f.name === e.name)
    );
    const virtualTables = shared.filter((e) => e.type === "table" && isVirtual(e.sql));
    for (const entry of shared) {
      if (entry.type !== "table") continue;
      const owner = shadowOwner(entry.name, virtualTables);
      if (owner && !isContentless(owner.sql)) continue;
      // A contentless FTS table cannot be read (FTS4 refuses even count(*)); its shadow tables are.
      if (isVirtual(entry.sql) && isContentless(entry.sql)) continue;
      const [rowsA, rowsB] = [readRows(left, entry), readRows(right, entry)];
      differences.push(...compareRows(entry.name, rowsA, rowsB));
    }
    left.exec("ROLLBACK");
    right.exec("ROLLBACK");
    const fullText = virtualTables.filter((e) => /\bUSING\s+fts[345]\b/i.test(e.sql ?? ""));
    for (const entry of fullText) {
      differences.push(...compareFullText(left, right, entry.name, options.ftsQueries ?? []));
    }
    for (const path of [a, b]) differences.push(...checkVirtualTables(path, virtualTables));
    return differences;
  } finally {
    left.close();
    right.close();
  }
}

const PRAGMAS = [
  "user_version",
  "application_id",
  "page_size",
  "auto_vacuum",
  "encoding",
  "journal_mode",
];

interface SchemaEntry {
  type: string;
  name: string;
  tbl_name: string;
  sql: string | null;
}

function readPragma(db: DatabaseSync, name: string): string {
  return String(Object.values(db.prepare(`PRAGMA main.${name}`).get() ?? {})[0]);
}

function readSchema(db: DatabaseSync): SchemaEntry[] {
  return db.prepare("SELECT type, name, tbl_name, sql FROM main.sqlite_schema ORDER BY type, name")
    .all() as unknown as SchemaEntry[];
}

function compareSchemas(a: SchemaEntry[], b: SchemaEntry[]): string[] {
  const differences: string[] = [];
  const key = (e: SchemaEntry) => `${e.type} ${JSON.stringify(e.name)}`;
  const byKey = new Map(b.map((e) => [key(e), e]));
  for (const entry of a) {
    const other = byKey.get(key(entry));
    byKey.delete(key(entry));
    if (!other) differences.push(`schema: ${key(entry)} missing from the second database`);
    else if (other.tbl_name !== entry.tbl_name || other.sql !== entry.sql) {
      differences.push(
        `schema: ${key(entry)} differs: ${JSON.stringify(entry.sql)} vs ${
          JSON.stringify(other.sql)
        }`,
      );
    }
  }
  for (const k of byKey.keys()) differences.push(`schema: ${k} only in the second database`);
  return differences;
}

function isVirtual(sql: string | null): boolean {
  return /^\s*CREATE\s+VIRTUAL\s+TABLE/i.test(sql ?? "");
}

function isContentless(sql: string | null): boolean {
  return /[(,]\s*content\s*=\s*(''|"")/i.test(sql ?? "");
}

/** SQLite's own rule: a shadow table is `<virtual table>_<suffix>` with no `_` in the suffix. */
function shadowOwner(name: string, virtualTables: SchemaEntry[]): SchemaEntry | undefined {
  const at = name.lastIndexOf("_");
  if (at < 1) return undefined;
  return virtualTables.find((v) => v.name === name.slice(0, at));
}

/**
 * The rows of table `table` in the database at `path`, one string per row holding every value's
 * type and exact bytes (rowid first for rowid tables), in rowid (or primary key) order.
 */
export function readTableRows(path: string, table: string): string[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const entry = db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name = ?")
      .get(table) as unknown as SchemaEntry | undefined;
    if (!entry) throw new Error(`No table "${table}" in "${path}"`);
    return readRows(db, entry);
  } finally {
    db.close();
  }
}

function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Every row as an array of exact value keys (`i:`, `r:`, `t:`, `b:` + hex or digits, `null`),
 * with the rowid first for rowid tables, in a deterministic order.
 */
function readRows(db: DatabaseSync, entry: SchemaEntry): string[] {
  const virtual = isVirtual(entry.sql);
  const columns = db.prepare("SELECT name, hidden FROM pragma_table_xinfo(?, 'main')")
    .all(entry.name)
    // Ordinary tables: every column, generated ones included (hidden 2 and 3); virtual tables:
    // the declared ones and hidden ones that hold data (FTS4's languageid), not the commands
    // (FTS's own-name column, rank, docid, which is the rowid).
    .filter((c) =>
      virtual
        ? Number(c.hidden) === 0 ||
          !["rank", "docid", entry.name.toLowerCase()].includes(String(c.name).toLowerCase())
        : Number(c.hidden) !== 1
    )
    .map((c) => String(c.name));
  const withoutRowid = db.prepare(
    "SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?",
  ).get(entry.name)?.wr === 1;
  const lower = new Set(columns.map((c) => c.toLowerCase()));
  const rowid = withoutRowid ? undefined : ["rowid", "_rowid_", "oid"].find((n) => !lower.has(n));
  const selected = [...(rowid ? [rowid] : []), ...columns];
  const parts = selected.map((c) =>
    `typeof(${quote(c)}), CASE WHEN typeof(${quote(c)}) = 'text' THEN CAST(${
      quote(c)
    } AS BLOB) ELSE ${quote(c)} END`
  );
  const order = entry.name === "sqlite_stat1"
    ? "ORDER BY tbl, idx, stat"
    : entry.name === "sqlite_sequence"
    ? "ORDER BY name"
    : rowid
    ? `ORDER BY ${quote(rowid)}`
    : "";
  const statement = db.prepare(`SELECT ${parts.join(", ")} FROM ${quote(entry.name)} ${order}`);
  statement.setReadBigInts(true);
  (statement as unknown as { setReturnArrays(on: boolean): void }).setReturnArrays(true);
  const rows: string[] = [];
  for (const row of statement.iterate() as Iterable<unknown[]>) {
    const values: string[] = [];
    for (let i = 0; i < row.length; i += 2) values.push(valueKey(String(row[i]), row[i + 1]));
    rows.push(values.join(" "));
  }
  return rows;
}

const bits = new Float64Array(1);
const bitsView = new BigUint64Array(bits.buffer);

function valueKey(type: string, value: unknown): string {
  switch (type) {
    case "null":
      return "null";
    case "integer":
      return `i:${value}`;
    case "real":
      bits[0] = value as number;
      return `r:${bitsView[0].toString(16)}`;
    case "text":
      return `t:${hex(value as Uint8Array)}`;
    case "blob":
      return `b:${hex(value as Uint8Array)}`;
    default:
      return `${type}:${String(value)}`;
  }
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function compareRows(table: string, a: string[], b: string[]): string[] {
  const differences: string[] = [];
  if (a.length !== b.length) {
    differences.push(`table ${JSON.stringify(table)}: ${a.length} rows vs ${b.length}`);
  }
  for (let i = 0, shown = 0; i < Math.max(a.length, b.length) && shown < 5; i++) {
    if (a[i] !== b[i]) {
      differences.push(`table ${JSON.stringify(table)} row ${i}: ${a[i]} vs ${b[i]}`);
      shown++;
    }
  }
  return differences;
}

function compareFullText(
  left: DatabaseSync,
  right: DatabaseSync,
  table: string,
  queries: string[],
): string[] {
  const differences: string[] = [];
  const fts5 = left.prepare("SELECT sql FROM sqlite_schema WHERE name = ?").get(table)?.sql;
  const ranked = /\bUSING\s+fts5\b/i.test(String(fts5));
  for (const query of queries) {
    const sql = `SELECT rowid FROM ${quote(table)} WHERE ${quote(table)} MATCH ? ${
      ranked ? "ORDER BY rank, rowid" : "ORDER BY rowid"
    }`;
    // A query one module does not understand (FTS4 has no NEAR()) must fail alike on both sides.
    const run = (db: DatabaseSync) => {
      try {
        return db.prepare(sql).all(query).map((r) => String(r.rowid));
      } catch (error) {
        return [`error: ${(error as Error).message}`];
      }
    };
    const [x, y] = [run(left), run(right)];
    if (x.join() !== y.join()) {
      differences.push(`full text ${JSON.stringify(table)} MATCH ${query}: [${x}] vs [${y}]`);
    }
  }
  return differences;
}

/** The modules' own checks: FTS `integrity-check` and `rtreecheck()`. */
function checkVirtualTables(path: string, virtualTables: SchemaEntry[]): string[] {
  const differences: string[] = [];
  // The FTS check is an INSERT command: it needs a writable connection; it is rolled back.
  const db = new DatabaseSync(path);
  try {
    for (const entry of virtualTables) {
      const name = quote(entry.name);
      try {
        if (/\bUSING\s+fts4\b/i.test(entry.sql ?? "") && isContentless(entry.sql)) {
          // Its 'integrity-check' fails with "SQL logic error" on a healthy table too.
          continue;
        } else if (/\bUSING\s+fts[345]\b/i.test(entry.sql ?? "")) {
          db.exec("BEGIN");
          try {
            db.exec(`INSERT INTO ${name}(${name}) VALUES('integrity-check')`);
          } finally {
            db.exec("ROLLBACK");
          }
        } else if (/\bUSING\s+rtree\b/i.test(entry.sql ?? "")) {
          const result = db.prepare("SELECT rtreecheck(?) AS r").get(entry.name)?.r;
          if (result !== "ok") throw new Error(String(result));
        }
      } catch (error) {
        differences.push(`${entry.name} in ${path} fails its check: ${(error as Error).message}`);
      }
    }
  } finally {
    db.close();
  }
  return differences;
}
