/**
 * Reads functions, procedures and aggregates. The server renders functions and procedures
 * (`pg_get_functiondef`, `BEGIN ATOMIC` bodies included); aggregates have no such function, so
 * their `CREATE AGGREGATE` is assembled from `pg_aggregate`.
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

interface FunctionRow extends ObjectRow {
  prokind: "f" | "p" | "a" | "w";
  args: string;
  identity: string;
  def: string | null;
  agg: string | null;
  /** `pg_get_function_result`, for functions with a SQL-standard body only. */
  result: string | null;
}

/** Adds functions, procedures, window functions and aggregates. */
export async function readFunctions(ctx: ReadContext): Promise<void> {
  if (ctx.filtered) return;
  const rows = await query<FunctionRow>(
    ctx.sql,
    `SELECT ${objectColumns("p.oid", "p.proname", "p.proowner")},
       p.prokind,
       pg_catalog.pg_get_function_arguments(p.oid) AS args,
       pg_catalog.pg_get_function_identity_arguments(p.oid) AS identity,
       CASE WHEN p.prokind <> 'a' THEN pg_catalog.pg_get_functiondef(p.oid) END AS def,
       CASE WHEN p.prosqlbody IS NOT NULL
         THEN COALESCE(pg_catalog.pg_get_function_result(p.oid), '') END AS result,
       (SELECT ${aggregateOptions()} FROM pg_catalog.pg_aggregate a WHERE a.aggfnoid = p.oid) AS agg
     FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
     WHERE ${USER_SCHEMA} AND ${notInExtension("pg_proc", "p.oid")}
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid =
         'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid AND d.deptype = 'i')
     ORDER BY n.nspname, p.proname, identity`,
  );
  for (const f of rows) {
    const key = catalogKey("pg_proc", f.oid);
    const keyword = f.prokind === "p" ? "PROCEDURE" : f.prokind === "a" ? "AGGREGATE" : "FUNCTION";
    const signature = `${f.q}(${f.identity})`;
    const sql = f.prokind === "a"
      ? `CREATE AGGREGATE ${f.q}(${f.args || "*"}) (\n    ${f.agg}\n);\n`
      : `${f.def!.trimEnd()};\n`;
    ctx.graph.add({
      key,
      priority: f.prokind === "a" ? Priority.Aggregate : Priority.Function,
      item: {
        kind: keyword,
        name: `${f.name}(${f.identity})`,
        schema: f.schema,
        owner: f.owner,
        sql,
        drop: `DROP ${keyword} IF EXISTS ${signature} CASCADE;\n`,
      },
    });
    if (f.prokind !== "a" && f.def!.startsWith("CREATE OR REPLACE ") && f.result !== null) {
      ctx.graph.placeholders.set(key, {
        sql: placeholderFunction(keyword, f.q, f.args, f.result),
        replace: sql,
      });
    }
    const aggSignature = `${f.q}(${f.identity || "*"})`;
    ctx.graph.ref(key, {
      node: key,
      kind: keyword,
      name: f.prokind === "a" ? aggSignature : signature,
      ownerKind: keyword,
      aclKind: keyword === "PROCEDURE" ? "PROCEDURE" : "FUNCTION",
      owner: f.owner,
    });
  }
}

/**
 * A stand-in for a function with a SQL-standard body (`BEGIN ATOMIC` or `RETURN`), whose body
 * is bound to what it names at creation: the same name, arguments and result with a string body
 * nothing checks (the script turns `check_function_bodies` off), replaced by the real
 * `CREATE OR REPLACE` once the objects of its body exist.
 */
export function placeholderFunction(
  keyword: string,
  name: string,
  args: string,
  result: string,
): string {
  const returns = keyword === "PROCEDURE" ? "" : ` RETURNS ${result}`;
  return `CREATE ${keyword} ${name}(${args})${returns}\n    LANGUAGE sql\n    AS $$SELECT NULL$$;\n`;
}

/** SQL expression over `pg_aggregate a`: the option list of `CREATE AGGREGATE`. */
function aggregateOptions(): string {
  const proc = (col: string, label: string) =>
    `CASE WHEN a.${col} <> 0 THEN ', ${label} = ' || a.${col}::pg_catalog.regproc::text ELSE '' END`;
  const modify = (col: string, label: string) =>
    `', ${label} = ' || CASE a.${col} WHEN 's' THEN 'SHAREABLE' WHEN 'w' THEN 'READ_WRITE' ` +
    `ELSE 'READ_ONLY' END`;
  const parts = [
    `'SFUNC = ' || a.aggtransfn::pg_catalog.regproc::text`,
    `', STYPE = ' || pg_catalog.format_type(a.aggtranstype, NULL)`,
    `CASE WHEN a.aggtransspace <> 0 THEN ', SSPACE = ' || a.aggtransspace ELSE '' END`,
    proc("aggfinalfn", "FINALFUNC"),
    `CASE WHEN a.aggfinalextra THEN ', FINALFUNC_EXTRA' ELSE '' END`,
    modify("aggfinalmodify", "FINALFUNC_MODIFY"),
    proc("aggcombinefn", "COMBINEFUNC"),
    proc("aggserialfn", "SERIALFUNC"),
    proc("aggdeserialfn", "DESERIALFUNC"),
    `CASE WHEN a.agginitval IS NOT NULL THEN ', INITCOND = ' || pg_catalog.quote_literal(a.agginitval) ELSE '' END`,
    proc("aggmtransfn", "MSFUNC"),
    proc("aggminvtransfn", "MINVFUNC"),
    `CASE WHEN a.aggmtranstype <> 0 THEN ', MSTYPE = ' || pg_catalog.format_type(a.aggmtranstype, NULL) ELSE '' END`,
    `CASE WHEN a.aggmtransspace <> 0 THEN ', MSSPACE = ' || a.aggmtransspace ELSE '' END`,
    proc("aggmfinalfn", "MFINALFUNC"),
    `CASE WHEN a.aggmfinalextra THEN ', MFINALFUNC_EXTRA' ELSE '' END`,
    `CASE WHEN a.aggmtransfn = 0 THEN '' ELSE ` + modify("aggmfinalmodify", "MFINALFUNC_MODIFY") +
    ` END`,
    `CASE WHEN a.aggminitval IS NOT NULL THEN ', MINITCOND = ' || pg_catalog.quote_literal(a.aggminitval) ELSE '' END`,
    `CASE WHEN a.aggsortop <> 0 THEN ', SORTOP = ' || (SELECT pg_catalog.format('OPERATOR(%I.%s)', ` +
    `opn.nspname, o.oprname) FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace opn ` +
    `ON opn.oid = o.oprnamespace WHERE o.oid = a.aggsortop) ELSE '' END`,
    `CASE WHEN a.aggkind = 'h' THEN ', HYPOTHETICAL' ELSE '' END`,
    `CASE p.proparallel WHEN 's' THEN ', PARALLEL = SAFE' WHEN 'r' THEN ', PARALLEL = RESTRICTED' ELSE '' END`,
  ];
  return parts.join(" || ");
}
