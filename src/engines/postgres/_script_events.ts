/**
 * What the script reader (`_script_reader.ts`) hands the restore, in script order: statements with
 * their places in the file (for error messages), COPY blocks in pieces, and our directives.
 */
import type { DatabaseLocale } from "./_script.ts";
import type { DatabaseProperties } from "./_database_props.ts";

/** Where a statement is in the script, for error messages. */
export interface ScriptPlace {
  /** Its number among the script's statements (from 1, COPY statements included). */
  number: number;
  /** The line its first word is on (from 1). */
  line: number;
}

/** A statement's place, and where it starts in the bytes of the event that carries it. */
export interface StatementPlace extends ScriptPlace {
  offset: number;
}

/** One thing the restore does, in script order. */
export type ScriptEvent =
  | {
    type: "statement";
    sql: Uint8Array;
    category?: "owner" | "acl";
    /** Each statement's place, in order (the restore worker joins statements into batches). */
    places?: StatementPlace[];
  }
  | { type: "clean"; sql: string }
  | { type: "encoding"; name: string }
  | { type: "locale"; locale: DatabaseLocale }
  | { type: "database"; properties: DatabaseProperties }
  | { type: "copy"; sql: string; place?: ScriptPlace }
  | { type: "data"; bytes: Uint8Array }
  /** `rows`: the block's rows (lines), which COPY loads one each or fails. */
  | { type: "copyEnd"; rows: number };
