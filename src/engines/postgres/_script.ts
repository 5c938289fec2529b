/**
 * The layout of our PostgreSQL script, shared by the writer (`_dump.ts`) and the reader
 * (`_script_reader.ts`): pg_dump's header and item comments, plus a few markers in comments that
 * stock psql ignores and our restore acts on. Changing a marker breaks reading older backups.
 */
import type { SchemaItem } from "./_model.ts";

/** A comment line holding a statement that only `restore --clean` runs, before anything else. */
export const CLEAN_MARKER = "-- backup-manager:clean ";
/** A comment line naming the database's encoding, for `restore --create`. */
export const ENCODING_MARKER = "-- backup-manager:encoding ";
/**
 * A comment line holding the database's locale as JSON (`DatabaseLocale`), for `restore --create`:
 * collation decides sort order and index order, so a new database gets the original's.
 */
export const LOCALE_MARKER = "-- backup-manager:locale ";

/** How the source database sorts and classifies text; `restore --create` reproduces it. */
export interface DatabaseLocale {
  collate: string;
  ctype: string;
  /** `c` (libc) or `i` (ICU), from `pg_database.datlocprovider`. */
  provider?: string;
  /** The ICU locale when the provider is ICU. */
  icuLocale?: string | null;
}

/** Starts each `ALTER ... OWNER TO` line: `restore --no-owner` skips it, `grep -v` can too. */
export const OWNER_MARKER = "/* backup-manager:owner */ ";
/** Starts each `GRANT`/`REVOKE` line: `restore --no-privileges` skips it. */
export const ACL_MARKER = "/* backup-manager:acl */ ";

/** The last comment of a whole script; a script without it was cut short. */
export const END_COMMENT = "-- PostgreSQL database dump complete";

/** What a dump ends with. */
export const SCRIPT_TRAILER = `--\n${END_COMMENT}\n--\n\n`;

/** The session settings pg_dump starts a script with: empty search_path, no body checks. */
export const SESSION_SETTINGS = `SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;
SET default_table_access_method = heap;
`;

/** What a dump starts with; the settings are pg_dump's. */
export function scriptHeader(
  info: {
    serverVersion: string;
    database: string;
    encoding: string;
    locale: DatabaseLocale;
    /** Further directive lines for `restore --create` (`_database_props.ts`), each ending in `\n`. */
    directives?: string;
  },
): string {
  return `--
-- PostgreSQL database dump
--

-- Dumped from database version ${info.serverVersion}
-- Dumped by backup-manager (database "${info.database.replace(/\n/g, " ")}")
${ENCODING_MARKER}${info.encoding.replace(/\s/g, "")}
${LOCALE_MARKER}${JSON.stringify(info.locale)}
${info.directives ?? ""}
${SESSION_SETTINGS}
`;
}

/** The `--clean` statements, as comment lines psql skips; empty when there are none. */
export function cleanDirectives(drops: string[]): string {
  if (drops.length === 0) return "";
  return drops.map((drop) => CLEAN_MARKER + drop.replace(/\s*\n\s*/g, " ").trim()).join("\n") +
    "\n\n";
}

/** pg_dump's comment above an item: `-- Name: t; Type: TABLE; Schema: public; Owner: alice`. */
export function itemComment(
  item: Pick<SchemaItem, "name" | "kind" | "schema" | "owner">,
  prefix = "",
): string {
  const clean = (text: string) => text.replace(/\s*\n\s*/g, " ");
  return `--\n-- ${prefix}Name: ${clean(item.name)}; Type: ${item.kind}; Schema: ${
    clean(item.schema ?? "-")
  }; Owner: ${clean(item.owner ?? "-")}\n--\n\n`;
}

/** An item as it goes into the script: its comment, then its statements (marked if owner/acl). */
export function renderItem(item: SchemaItem): string {
  const marker = item.category === "owner"
    ? OWNER_MARKER
    : item.category === "acl"
    ? ACL_MARKER
    : undefined;
  const sql = item.sql.endsWith("\n") ? item.sql : item.sql + "\n";
  const body = marker === undefined ? sql : markStatements(sql, marker);
  return itemComment(item) + body + "\n";
}

/** Puts `marker` at the start of each statement of `sql` (one statement per line, as written). */
function markStatements(sql: string, marker: string): string {
  let startOfStatement = true;
  return sql.split("\n").map((line) => {
    if (line.trim() === "") return line;
    const marked = startOfStatement ? marker + line : line;
    startOfStatement = /;\s*$/.test(line);
    return marked;
  }).join("\n");
}

/** The locale directive, or nothing when it is not the JSON we write (then the server's default). */
export function parseLocaleDirective(text: string): DatabaseLocale | undefined {
  try {
    const value = JSON.parse(text);
    if (typeof value?.collate !== "string" || typeof value?.ctype !== "string") return undefined;
    return {
      collate: value.collate,
      ctype: value.ctype,
      provider: typeof value.provider === "string" ? value.provider : undefined,
      icuLocale: typeof value.icuLocale === "string" ? value.icuLocale : null,
    };
  } catch {
    return undefined;
  }
}
