/**
 * The schema oracle: `pg_dump --schema-only` of a database, normalised into the sorted list of
 * its statements. Comments, `SET` lines, `set_config` calls and psql meta-commands (pg_dump 15.14+
 * writes `\restrict KEY` with a random key) are dropped; every other statement is kept exactly as
 * written. Comparing two such lists as multisets lets pg_dump's harmless reorderings pass (ties
 * it breaks by OID) while any change inside a statement is a difference.
 */
import { pgDump } from "./pg_tools.ts";

/** The normalised schema statements of the database at `url`, sorted. */
export async function schemaOf(url: string, extraArgs: string[] = []): Promise<string[]> {
  return normaliseSchemaDump(await pgDump(url, ["--schema-only", ...extraArgs]));
}

/** The statements of a pg_dump script without comments, settings and meta-commands, sorted. */
export function normaliseSchemaDump(script: string): string[] {
  return splitStatements(script)
    .filter((s) => !/^SET\s/i.test(s) && !/^SELECT pg_catalog\.set_config\(/i.test(s))
    .sort();
}

/**
 * Splits a PostgreSQL script into statements, each trimmed and ending in `;`. Quotes (`'…'`,
 * `E'…'`, `"…"`, `$tag$…$tag$`) are respected; comments outside them are removed; psql
 * meta-commands (a line starting with a backslash) are dropped. Not for COPY data.
 */
export function splitStatements(script: string): string[] {
  const statements: string[] = [];
  let current = "";
  let i = 0;
  const n = script.length;
  const atStatementStart = () => current.trim() === "";
  while (i < n) {
    const c = script[i];
    const next = script[i + 1];
    if (c === "\\" && atStatementStart()) {
      const end = script.indexOf("\n", i);
      i = end === -1 ? n : end + 1;
      current = "";
    } else if (c === "-" && next === "-") {
      const end = script.indexOf("\n", i);
      i = end === -1 ? n : end;
    } else if (c === "/" && next === "*") {
      i = skipBlockComment(script, i);
    } else if (c === "'" || c === '"') {
      const escapes = c === "'" && /[eE]$/.test(current) && !/\w[eE]$/.test(current);
      const end = skipQuoted(script, i, c, escapes);
      current += script.slice(i, end);
      i = end;
    } else if (c === "$" && !/[\w$]$/.test(current)) {
      const tag = /^\$([A-Za-z_][A-Za-z_0-9]*)?\$/.exec(script.slice(i, i + 64));
      if (tag) {
        const close = script.indexOf(tag[0], i + tag[0].length);
        const end = close === -1 ? n : close + tag[0].length;
        current += script.slice(i, end);
        i = end;
      } else {
        current += c;
        i++;
      }
    } else if (c === ";") {
      statements.push(`${current.trim()};`);
      current = "";
      i++;
    } else {
      current += c;
      i++;
    }
  }
  if (current.trim() !== "") statements.push(current.trim());
  return statements;
}

function skipBlockComment(script: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < script.length) {
    if (script.startsWith("/*", i)) {
      depth++;
      i += 2;
    } else if (script.startsWith("*/", i)) {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  return i;
}

/** The index just past the closing quote of the quoted text starting at `start`. */
function skipQuoted(script: string, start: number, quote: string, escapes: boolean): number {
  let i = start + 1;
  while (i < script.length) {
    const c = script[i];
    if (escapes && c === "\\") {
      i += 2;
    } else if (c === quote) {
      if (script[i + 1] === quote) i += 2;
      else return i + 1;
    } else {
      i++;
    }
  }
  return i;
}
