/**
 * What every catalog reader shares: the connection type, the filters that keep system and
 * extension-owned objects out, and the context a reader adds its nodes to.
 */
import type postgres from "npm:postgres@3.4.9";
import type { SchemaGraph } from "./_schema_graph.ts";

/** A connection or the dump's transaction. */
export type CatalogSql = postgres.Sql | postgres.TransactionSql;

/**
 * What catalog readers run their queries on: a connection, the dump's transaction, or a view of
 * one that answers from results fetched ahead (`_catalog_prefetch.ts`). Readers only run fixed
 * query text through {@linkcode query}.
 */
export interface CatalogQueries {
  unsafe(text: string): PromiseLike<unknown>;
}

/** What a reader works with. */
export interface ReadContext {
  sql: CatalogQueries;
  graph: SchemaGraph;
  /**
   * Whether a relation (table, view, sequence) is selected. With a table filter only the
   * selected relations and what hangs off them are dumped, as `pg_dump -t` does.
   */
  selected(schema: string, name: string): boolean;
  /** True when a table filter is in force: then schemas, types, functions... are left out. */
  filtered: boolean;
}

/** Runs a catalog query built from fixed text (never from user input). */
export async function query<T>(sql: CatalogQueries, text: string): Promise<T[]> {
  return await sql.unsafe(text) as unknown as T[];
}

/** SQL condition on namespace alias `n`: a user schema, not a system or temporary one. */
export const USER_SCHEMA = "(n.nspname !~ '^pg_' AND n.nspname <> 'information_schema')";

/** SQL condition: the object `oid` of `catalog` is not a member of an extension. */
export function notInExtension(catalog: string, oid: string): string {
  return `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend xd WHERE xd.classid = ` +
    `'pg_catalog.${catalog}'::pg_catalog.regclass AND xd.objid = ${oid} AND xd.deptype = 'e')`;
}

/** SQL expression: `schema.name` quoted as needed, for namespace alias `n` and a name column. */
export function qualified(name: string): string {
  return `pg_catalog.format('%I.%I', n.nspname, ${name})`;
}

/**
 * SQL aggregate over `pg_options_to_table(...)` rows: a generic option list (`host 'x', port
 * '5432'`) for `OPTIONS (...)` of wrappers, servers, user mappings and foreign tables.
 */
export const OPTIONS =
  "pg_catalog.string_agg(pg_catalog.format('%I %L', option_name, option_value), ', ')";

/** SQL expression: a role oid as a quoted role name (`PUBLIC` for 0). */
export function roleName(oid: string): string {
  return `CASE WHEN ${oid} = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(` +
    `(SELECT rolname FROM pg_catalog.pg_roles WHERE oid = ${oid})) END`;
}

/** The columns every schema-qualified, owned object's query returns (see `objectColumns`). */
export interface ObjectRow {
  oid: number;
  schema: string;
  name: string;
  /** Quoted `schema.name`. */
  q: string;
  /** Quoted owning role. */
  owner: string;
}

/** SQL select list for {@linkcode ObjectRow}, over namespace alias `n` and the given columns. */
export function objectColumns(oid: string, name: string, owner: string): string {
  return `${oid} AS oid, n.nspname AS schema, ${name} AS name, ${qualified(name)} AS q, ` +
    `${roleName(owner)} AS owner`;
}
