/**
 * `--table` / `--exclude-table` patterns, shared by every engine so both behave alike. A pattern
 * is `name` or `schema.name` with `*` (any run of characters) and `?` (one character); a bare
 * pattern matches the table name in any schema. Matching is case-sensitive, as identifiers are
 * stored; a pattern matching nothing is the caller's to report.
 */
export interface TableFilter {
  /** Whether the table is kept by the include and exclude patterns. */
  includes(schema: string | undefined, name: string): boolean;
  /** The include patterns that matched no table seen so far (for a clear error). */
  unmatched(): string[];
}

/** Builds the filter; no include patterns means every table is included. */
export function tableFilter(include: string[] = [], exclude: string[] = []): TableFilter {
  const includes = include.map(compile);
  const excludes = exclude.map(compile);
  const hit = new Set<number>();
  return {
    includes(schema, name) {
      if (excludes.some((p) => p.matches(schema, name))) return false;
      if (includes.length === 0) return true;
      let kept = false;
      includes.forEach((p, i) => {
        if (p.matches(schema, name)) {
          hit.add(i);
          kept = true;
        }
      });
      return kept;
    },
    unmatched: () => include.filter((_, i) => !hit.has(i)),
  };
}

interface Pattern {
  matches(schema: string | undefined, name: string): boolean;
}

function compile(pattern: string): Pattern {
  const dot = splitQualified(pattern);
  const name = wildcard(dot.name);
  if (dot.schema === undefined) return { matches: (_schema, table) => name.test(table) };
  const schema = wildcard(dot.schema);
  return {
    matches: (s, table) => s !== undefined && schema.test(s) && name.test(table),
  };
}

/** `a.b` → schema `a`, name `b`; a name with no dot has no schema part. */
function splitQualified(pattern: string): { schema?: string; name: string } {
  const at = pattern.indexOf(".");
  return at < 0 ? { name: pattern } : { schema: pattern.slice(0, at), name: pattern.slice(at + 1) };
}

function wildcard(glob: string): RegExp {
  const body = [...glob].map((c) =>
    c === "*" ? ".*" : c === "?" ? "." : c.replace(/[\\^$.|+()[\]{}]/g, "\\$&")
  ).join("");
  return new RegExp(`^${body}$`, "s");
}
