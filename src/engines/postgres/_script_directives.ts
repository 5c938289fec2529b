/**
 * Our comment directives at the start of a line between statements (`_script.ts`): the
 * `--clean` statements, the encoding, locale and database properties, and the closing comment
 * that tells a whole script from a cut one. Read by the script reader (`_script_reader.ts`).
 */
import {
  CLEAN_MARKER,
  ENCODING_MARKER,
  END_COMMENT,
  LOCALE_MARKER,
  parseLocaleDirective,
} from "./_script.ts";
import type { ScriptEvent } from "./_script_events.ts";
import { DATABASE_MARKER, parseDatabaseDirective } from "./_database_props.ts";

/** The event a `--` comment line stands for, `"end"` for the closing comment, else undefined. */
export function directiveEvent(line: string): ScriptEvent | "end" | undefined {
  if (line.startsWith(CLEAN_MARKER)) return { type: "clean", sql: line.slice(CLEAN_MARKER.length) };
  if (line === END_COMMENT) return "end";
  if (line.startsWith(ENCODING_MARKER)) {
    return { type: "encoding", name: line.slice(ENCODING_MARKER.length).trim() };
  }
  if (line.startsWith(LOCALE_MARKER)) {
    const locale = parseLocaleDirective(line.slice(LOCALE_MARKER.length));
    return locale ? { type: "locale", locale } : undefined;
  }
  if (line.startsWith(DATABASE_MARKER)) {
    const properties = parseDatabaseDirective(line.slice(DATABASE_MARKER.length));
    return properties ? { type: "database", properties } : undefined;
  }
  return undefined;
}
