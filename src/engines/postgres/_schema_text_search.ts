/**
 * Reads text search parsers, templates, dictionaries and configurations, in the order they
 * build on each other. A configuration is created on its parser and given its token mappings
 * in one item, so a column or index using it finds it complete.
 */
import { Priority } from "./_schema_graph.ts";
import {
  notInExtension,
  objectColumns,
  type ObjectRow,
  qualified,
  query,
  type ReadContext,
  USER_SCHEMA,
} from "./_schema_sql.ts";
import { groupBy } from "./_schema_tables.ts";

/** SQL expression: a `regproc` column as its name. */
function proc(column: string): string {
  return `${column}::pg_catalog.regproc::text`;
}

/** SQL select list of an unowned object in schema alias `n`. */
function unowned(oid: string, name: string): string {
  return `${oid} AS oid, n.nspname AS schema, ${name} AS name, ${qualified(name)} AS q`;
}

interface Kind {
  catalog: string;
  keyword: string;
  priority: number;
  /** SQL over the catalog alias `x`: the `(...)` option list of `CREATE`. */
  options: string;
  name: string;
  namespace: string;
  owner?: string;
}

const KINDS: Kind[] = [
  {
    catalog: "pg_ts_parser",
    keyword: "TEXT SEARCH PARSER",
    priority: Priority.TextSearchParser,
    name: "x.prsname",
    namespace: "x.prsnamespace",
    options: `pg_catalog.concat_ws(E',\\n    ', 'START = ' || ${proc("x.prsstart")},
      'GETTOKEN = ' || ${proc("x.prstoken")}, 'END = ' || ${proc("x.prsend")},
      'LEXTYPES = ' || ${proc("x.prslextype")},
      CASE WHEN x.prsheadline <> 0 THEN 'HEADLINE = ' || ${proc("x.prsheadline")} END)`,
  },
  {
    catalog: "pg_ts_template",
    keyword: "TEXT SEARCH TEMPLATE",
    priority: Priority.TextSearchTemplate,
    name: "x.tmplname",
    namespace: "x.tmplnamespace",
    options: `pg_catalog.concat_ws(E',\\n    ',
      CASE WHEN x.tmplinit <> 0 THEN 'INIT = ' || ${proc("x.tmplinit")} END,
      'LEXIZE = ' || ${proc("x.tmpllexize")})`,
  },
  {
    catalog: "pg_ts_dict",
    keyword: "TEXT SEARCH DICTIONARY",
    priority: Priority.TextSearchDictionary,
    name: "x.dictname",
    namespace: "x.dictnamespace",
    owner: "x.dictowner",
    options: `pg_catalog.concat_ws(E',\\n    ', 'TEMPLATE = ' || (SELECT pg_catalog.format('%I.%I',
        tn.nspname, t.tmplname) FROM pg_catalog.pg_ts_template t
        JOIN pg_catalog.pg_namespace tn ON tn.oid = t.tmplnamespace
        WHERE t.oid = x.dicttemplate), x.dictinitoption)`,
  },
  {
    catalog: "pg_ts_config",
    keyword: "TEXT SEARCH CONFIGURATION",
    priority: Priority.TextSearchConfiguration,
    name: "x.cfgname",
    namespace: "x.cfgnamespace",
    owner: "x.cfgowner",
    options: `'PARSER = ' || (SELECT pg_catalog.format('%I.%I', pn.nspname, p.prsname)
        FROM pg_catalog.pg_ts_parser p JOIN pg_catalog.pg_namespace pn ON pn.oid = p.prsnamespace
        WHERE p.oid = x.cfgparser)`,
  },
];

/** Adds the text search objects (database-wide, so not with a table filter). */
export async function readTextSearch(ctx: ReadContext): Promise<void> {
  if (ctx.filtered) return;
  const mappings = await readMappings(ctx);
  for (const kind of KINDS) {
    const rows = await query<ObjectRow & { options: string }>(
      ctx.sql,
      `SELECT ${
        kind.owner ? objectColumns("x.oid", kind.name, kind.owner) : unowned("x.oid", kind.name)
      }, ${kind.options} AS options
       FROM pg_catalog.${kind.catalog} x
       JOIN pg_catalog.pg_namespace n ON n.oid = ${kind.namespace}
       WHERE ${USER_SCHEMA} AND ${notInExtension(kind.catalog, "x.oid")}
       ORDER BY n.nspname, ${kind.name}`,
    );
    for (const r of rows) {
      const mapped = mappings.get(r.oid) ?? [];
      ctx.graph.addNamed({
        catalog: kind.catalog,
        keyword: kind.keyword,
        priority: kind.priority,
        row: r,
        sql: `CREATE ${kind.keyword} ${r.q} (\n    ${r.options}\n);\n` +
          mapped.map((m) =>
            `ALTER ${kind.keyword} ${r.q} ADD MAPPING FOR ${m.token} WITH ${m.dicts};\n`
          ).join(""),
      });
    }
  }
}

/** Each configuration's token mappings, dictionaries in the order they are tried. */
async function readMappings(
  ctx: ReadContext,
): Promise<Map<number, { token: string; dicts: string }[]>> {
  const rows = await query<{ cfg: number; token: string; dicts: string }>(
    ctx.sql,
    `SELECT m.mapcfg AS cfg, (SELECT pg_catalog.quote_ident(t.alias)
         FROM pg_catalog.ts_token_type(c.cfgparser) t WHERE t.tokid = m.maptokentype) AS token,
       pg_catalog.string_agg(m.mapdict::pg_catalog.regdictionary::text, ', '
         ORDER BY m.mapseqno) AS dicts
     FROM pg_catalog.pg_ts_config_map m JOIN pg_catalog.pg_ts_config c ON c.oid = m.mapcfg
     WHERE m.mapcfg >= 16384
     GROUP BY m.mapcfg, c.cfgparser, m.maptokentype
     ORDER BY m.mapcfg, m.maptokentype`,
  );
  return groupBy(rows, (r) => r.cfg);
}
