/**
 * What the PostgreSQL catalog reader (`_schema.ts`) hands to the dump writer (`_dump.ts`): the
 * schema as ordered statements around the table data, the way pg_dump splits a dump into
 * pre-data, data and post-data sections. Everything here was read inside the dump's snapshot.
 */

/** One object's statements, with what the script header comment and `--clean` need. */
export interface SchemaItem {
  /** pg_dump's type label: "SCHEMA", "TABLE", "INDEX", "FK CONSTRAINT", "ACL", ... */
  kind: string;
  /** The object's display name (e.g. `orders`, `orders orders_pkey`), for the header comment. */
  name: string;
  /** The object's schema, when it has one. */
  schema?: string;
  /** The owning role, for the header comment; never a secret. */
  owner?: string;
  /** Complete statements, each ending in `;` and a newline. */
  sql: string;
  /**
   * `owner`: only `ALTER ... OWNER TO` statements; `acl`: only `GRANT`/`REVOKE`. Restores with
   * `noOwner` / `noPrivileges` skip such items.
   */
  category?: "owner" | "acl";
  /**
   * A statement that removes the object if it exists (`DROP TABLE IF EXISTS s.t CASCADE;`), for
   * `restore --clean`. Only top-level objects carry one (not columns, comments or grants).
   */
  drop?: string;
}

/** A table (or partition, or materialized view's nothing: only relations with rows to copy). */
export interface TableData {
  oid: number;
  schema: string;
  name: string;
  /** `"schema"."name"`, quoted as needed. */
  qualifiedName: string;
  /** Quoted names of the columns to copy, in order (generated columns left out). */
  columns: string[];
  /** `reltuples`-style estimate, for ordering work and progress; may be -1 when unknown. */
  estimatedRows: number;
  /** On-disk size in bytes, for scheduling parallel COPY. */
  sizeBytes: number;
  /**
   * Only rows matching this clause are copied (`WHERE ...`), when present: an extension's
   * configuration table holds the rows its `pg_extension_config_dump` filter selects (the rest
   * are the extension's own and come back with `CREATE EXTENSION`). Read them with
   * `COPY (SELECT <columns> FROM <qualifiedName> <where>) TO STDOUT`; the script still says
   * `COPY <qualifiedName> (<columns>) FROM stdin;`, as pg_dump writes it.
   */
  where?: string;
}

/** The schema of one database, split around its data. */
export interface SchemaPlan {
  /** Extensions, schemas, types, sequences, functions, tables (no indexes, keys, triggers). */
  preData: SchemaItem[];
  /** Tables whose rows the dump copies, in a load order that restores. */
  data: TableData[];
  /**
   * After the data: sequence values, constraints, indexes, foreign keys, materialized-view
   * refreshes, triggers, rules, policies, event triggers, comments, ownership and grants, in
   * an order that restores.
   */
  postData: SchemaItem[];
  /** Include patterns of `SchemaOptions.tables` that matched no relation, for a clear error. */
  unmatchedTables?: string[];
}

/** What to read. */
export interface SchemaOptions {
  /** Patterns of tables to include (`*`/`?` wildcards, `schema.table` or bare name). */
  tables?: string[];
  /** Patterns of tables to leave out. */
  excludeTables?: string[];
}
