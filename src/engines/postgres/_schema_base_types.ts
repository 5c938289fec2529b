/**
 * Reads user-defined base types (`CREATE TYPE t (INPUT = ..., OUTPUT = ...)`). A base type and
 * its I/O functions need each other, so, as pg_dump does, the type is created in three steps:
 * its shell, the functions (which may take and return a shell), then the full definition.
 * Range types with a canonical function go the same way.
 */
import { catalogKey, Priority } from "./_schema_graph.ts";
import {
  notInExtension,
  objectColumns,
  type ObjectRow,
  query,
  type ReadContext,
  USER_SCHEMA,
} from "./_schema_sql.ts";

interface BaseTypeRow extends ObjectRow {
  options: string;
  /** The type's support functions (0 where unset). */
  procs: number[];
}

/** SQL expression: `LABEL = function` for a set `regproc` column of `pg_type t`, else null. */
function support(label: string, column: string): string {
  return `CASE WHEN t.${column} <> 0 THEN '${label} = ' || t.${column}::pg_catalog.regproc::text END`;
}

/** Adds base types (database-wide objects, so not with a table filter). */
export async function readBaseTypes(ctx: ReadContext): Promise<void> {
  if (ctx.filtered) return;
  const rows = await query<BaseTypeRow>(
    ctx.sql,
    `SELECT ${objectColumns("t.oid", "t.typname", "t.typowner")},
       pg_catalog.concat_ws(E',\\n    ', ${support("INPUT", "typinput")},
         ${support("OUTPUT", "typoutput")}, ${support("RECEIVE", "typreceive")},
         ${support("SEND", "typsend")}, ${support("TYPMOD_IN", "typmodin")},
         ${support("TYPMOD_OUT", "typmodout")}, ${support("ANALYZE", "typanalyze")},
         ${support("SUBSCRIPT", "typsubscript")},
         'INTERNALLENGTH = ' || CASE WHEN t.typlen = -1 THEN 'variable' ELSE t.typlen::text END,
         CASE WHEN t.typbyval THEN 'PASSEDBYVALUE' END,
         'ALIGNMENT = ' || CASE t.typalign WHEN 'c' THEN 'char' WHEN 's' THEN 'int2'
           WHEN 'i' THEN 'int4' ELSE 'double' END,
         'STORAGE = ' || CASE t.typstorage WHEN 'p' THEN 'plain' WHEN 'e' THEN 'external'
           WHEN 'm' THEN 'main' ELSE 'extended' END,
         'CATEGORY = ' || pg_catalog.quote_literal(t.typcategory::text),
         CASE WHEN t.typispreferred THEN 'PREFERRED = true' END,
         'DEFAULT = ' || pg_catalog.quote_literal(t.typdefault),
         'ELEMENT = ' || pg_catalog.format_type(NULLIF(t.typelem, 0), NULL),
         CASE WHEN t.typdelim <> ',' THEN 'DELIMITER = ' || pg_catalog.quote_literal(t.typdelim::text)
           END,
         CASE WHEN t.typcollation <> 0 THEN 'COLLATABLE = true' END) AS options,
       ARRAY[t.typinput, t.typoutput, t.typreceive, t.typsend, t.typmodin, t.typmodout,
         t.typanalyze, t.typsubscript]::pg_catalog.oid[] AS procs
     FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
     WHERE t.typtype = 'b' AND ${USER_SCHEMA} AND ${notInExtension("pg_type", "t.oid")}
       -- Array types come with their element type.
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e
         WHERE e.oid = t.typelem AND e.typarray = t.oid)
     ORDER BY n.nspname, t.typname`,
  );
  for (const t of rows) {
    ctx.graph.addNamed({
      catalog: "pg_type",
      keyword: "TYPE",
      priority: Priority.Type,
      row: t,
      sql: `CREATE TYPE ${t.q} (\n    ${t.options}\n);\n`,
      acl: "TYPE",
    });
    addShellType(ctx, t, t.procs.filter((p) => Number(p) !== 0).map(Number));
  }
}

/**
 * Adds the shell of type `t` before it, and makes its support `functions` follow the shell
 * instead of the full type that needs them.
 */
export function addShellType(ctx: ReadContext, t: ObjectRow, functions: number[]): void {
  const key = catalogKey("pg_type", t.oid);
  const shell = `shell:${t.oid}`;
  ctx.graph.add({
    key: shell,
    priority: Priority.Type,
    item: {
      kind: "SHELL TYPE",
      name: t.name,
      schema: t.schema,
      owner: t.owner,
      sql: `CREATE TYPE ${t.q};\n`,
    },
  });
  ctx.graph.node(key)!.deps.add(shell);
  for (const f of functions) ctx.graph.redirect(catalogKey("pg_proc", f), key, shell);
}
