/**
 * Pure helpers of `bench/pg_regress_roundtrip.ts`: which tests a pg_regress schedule runs, and
 * which object kind each line of the fidelity oracle's differences is about (for the summary).
 */

/**
 * The test names of a pg_regress schedule (`test: a b c` lines, in order; `ignore:` lines and
 * comments skipped), each once.
 */
export function scheduleTests(text: string): string[] {
  const names: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*test:\s*(.*)$/.exec(line);
    if (!m) continue;
    for (const name of m[1].split(/\s+/)) if (name && !names.includes(name)) names.push(name);
  }
  return names;
}

/**
 * The object kind a difference line is about, for the summary: the kind of the schema statement
 * (`CREATE TABLE`, `ALTER TABLE ... ADD CONSTRAINT`, `COMMENT ON FUNCTION`, `GRANT`), or `table
 * rows`, `sequence`, `database fact`, `large object`.
 */
export function differenceKind(line: string): string {
  const text = line.trim();
  if (text.startsWith("database ")) return `database ${text.slice(9).split(":")[0]}`;
  if (/^table \S.* only in the/.test(text)) return "table missing";
  if (/^table /.test(text)) return "table rows";
  if (text.startsWith("sequence ")) return "sequence value";
  if (text.startsWith("large object")) return "large object";
  return statementKind(text);
}

/** The kind of one SQL statement, in a few words. */
export function statementKind(statement: string): string {
  const s = statement.replace(/\s+/g, " ").toUpperCase();
  const words = (re: RegExp) => re.exec(s)?.[1]?.trim();
  const alter = words(/^ALTER (TABLE|FOREIGN TABLE|INDEX|SEQUENCE|VIEW|MATERIALIZED VIEW) /);
  if (alter) {
    const action = words(
      / (ADD CONSTRAINT \S+ (?:CHECK|FOREIGN KEY|PRIMARY KEY|UNIQUE|EXCLUDE)|ATTACH PARTITION|INHERIT|OWNER TO|REPLICA IDENTITY|CLUSTER ON|SET \(|ALTER COLUMN \S+ SET (?:DEFAULT|STATISTICS|STORAGE|COMPRESSION|\()|ALTER COLUMN \S+ ADD GENERATED|ENABLE|DISABLE|FORCE ROW|SET TABLESPACE|ALTER COLUMN|ADD COLUMN|DROP COLUMN)/,
    );
    return `ALTER ${alter} ${(action ?? "other").replace(/ADD CONSTRAINT \S+ /, "ADD ")}`
      .replace(/ALTER COLUMN \S+/, "ALTER COLUMN");
  }
  const create = words(
    /^CREATE (?:OR REPLACE )?(?:UNIQUE )?(?:TRUSTED )?(?:PROCEDURAL )?(?:DEFAULT )?((?:CONSTRAINT )?(?:TEXT SEARCH \w+|OPERATOR (?:CLASS|FAMILY)|ACCESS METHOD|USER MAPPING|FOREIGN DATA WRAPPER|EVENT TRIGGER|(?:FOREIGN |MATERIALIZED |RECURSIVE )?\w+))/,
  );
  if (create) return `CREATE ${create}`;
  const comment = words(
    /^COMMENT ON (TEXT SEARCH \w+|OPERATOR (?:CLASS|FAMILY)|ACCESS METHOD|EVENT TRIGGER|FOREIGN DATA WRAPPER|(?:MATERIALIZED |FOREIGN )?\w+)/,
  );
  if (comment) return `COMMENT ON ${comment}`;
  const grant = /^(GRANT|REVOKE) (.*?) ON (FOREIGN \w+|LARGE OBJECT|\w+) /.exec(s);
  if (grant) return `${grant[1]}${grant[2].includes("(") ? " (columns)" : ""} ON ${grant[3]}`;
  const seclabel = /^SECURITY LABEL/.test(s) ? "SECURITY LABEL" : undefined;
  if (seclabel) return seclabel;
  return s.split(" ").slice(0, 3).join(" ").replace(/[;(].*$/, "");
}

/**
 * Counts difference lines by kind: schema statements (under "schema statements only in ..."
 * headers, counted as missing or extra) and top-level lines; rows listed under a table are not
 * counted again.
 */
export function countKinds(differences: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  let block: "schema" | "rows" | "" = "";
  let side = "";
  for (const line of differences) {
    const header = /^schema statements only in the (first|second)/.exec(line);
    if (header) {
      [block, side] = ["schema", header[1] === "first" ? "missing" : "extra"];
      continue;
    }
    if (/^\s+rows only in/.test(line)) {
      block = "rows";
      continue;
    }
    if (/^\s+… and \d+ more/.test(line) || /^\s{5,}/.test(line)) continue;
    if (/^ {4}\S/.test(line)) {
      if (block !== "schema") continue;
      const kind = `${differenceKind(line)} (${side})`;
      counts[kind] = (counts[kind] ?? 0) + 1;
      continue;
    }
    if (/^\S/.test(line)) block = "";
    const kind = differenceKind(line);
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}
