/**
 * Reads views and materialized views. Their order among tables, functions and each other comes
 * from the dependencies of their `_RETURN` rule; a materialized view is created `WITH NO DATA`
 * and refreshed at the very end (only if it was populated), after the tables it reads are loaded.
 * A plain view also leaves a placeholder (`placeholderView`) for when it closes a cycle.
 */
import { catalogKey, Priority } from "./_schema_graph.ts";
import type { ColumnRow } from "./_schema_tables.ts";
import {
  notInExtension,
  objectColumns,
  type ObjectRow,
  query,
  type ReadContext,
  USER_SCHEMA,
} from "./_schema_sql.ts";

interface ViewRow extends ObjectRow {
  relkind: "v" | "m";
  def: string;
  populated: boolean;
  options: string | null;
  tablespace: string | null;
  rule: number | null;
}

/** Adds views and materialized views (with the refresh of populated ones). */
export async function readViews(
  ctx: ReadContext,
  columns: Map<number, ColumnRow[]>,
): Promise<void> {
  const views = (await query<ViewRow>(
    ctx.sql,
    `SELECT ${objectColumns("c.oid", "c.relname", "c.relowner")},
       c.relkind,
       pg_catalog.pg_get_viewdef(c.oid) AS def, c.relispopulated AS populated,
       pg_catalog.array_to_string(c.reloptions, ', ') AS options,
       (SELECT pg_catalog.quote_ident(s.spcname) FROM pg_catalog.pg_tablespace s
          WHERE s.oid = c.reltablespace) AS tablespace,
       (SELECT r.oid FROM pg_catalog.pg_rewrite r
          WHERE r.ev_class = c.oid AND r.rulename = '_RETURN') AS rule
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('v', 'm') AND ${USER_SCHEMA} AND ${notInExtension("pg_class", "c.oid")}
     ORDER BY n.nspname, c.relname`,
  )).filter((v) => ctx.selected(v.schema, v.name));
  for (const v of views) {
    const key = catalogKey("pg_class", v.oid);
    const keyword = v.relkind === "m" ? "MATERIALIZED VIEW" : "VIEW";
    const body = v.def.trim().replace(/;$/, "");
    const cols = columns.get(v.oid) ?? [];
    const definition = ` ${v.q}` + (v.options ? ` WITH (${v.options})` : "") +
      (v.tablespace ? ` TABLESPACE ${v.tablespace}` : "") + ` AS\n${body}` +
      (v.relkind === "m" ? "\n  WITH NO DATA;\n" : ";\n");
    let defaults = "";
    for (const c of cols) {
      if (c.defval !== null) {
        defaults += `ALTER ${keyword} ${v.q} ALTER COLUMN ${c.q} SET DEFAULT ${c.defval};\n`;
        if (c.defoid !== null) ctx.graph.alias(catalogKey("pg_attrdef", c.defoid), key);
      }
    }
    const sql = `CREATE ${keyword}${definition}${defaults}`;
    if (v.relkind === "v") {
      ctx.graph.placeholders.set(key, {
        sql: placeholderView(v.q, cols),
        replace: `CREATE OR REPLACE VIEW${definition}${defaults}`,
      });
    }
    ctx.graph.addObject({
      key,
      priority: Priority.View,
      item: {
        kind: keyword,
        name: v.name,
        schema: v.schema,
        owner: v.owner,
        sql,
        drop: `DROP ${keyword} IF EXISTS ${v.q} CASCADE;\n`,
      },
    }, {
      kind: keyword,
      name: v.q,
      ownerKind: keyword,
      aclKind: "TABLE",
      columns: new Map(cols.map((c) => [c.attnum, c.q])),
    });
    if (v.rule !== null) ctx.graph.alias(catalogKey("pg_rewrite", v.rule), key);
    if (v.relkind === "m" && v.populated) {
      ctx.graph.add({
        key: `refresh:${v.oid}`,
        priority: Priority.MatviewRefresh,
        item: {
          kind: "MATERIALIZED VIEW DATA",
          name: v.name,
          schema: v.schema,
          owner: v.owner,
          sql: `REFRESH MATERIALIZED VIEW ${v.q};\n`,
        },
        deps: [key],
      });
    }
  }
}

/**
 * A view with the real one's columns (names, types with their modifiers, collations) and no
 * dependencies beyond those types, as pg_dump's dummy view: `CREATE OR REPLACE VIEW` with the
 * real query replaces it, keeping its comments, owner and dependents.
 */
export function placeholderView(name: string, columns: readonly ColumnRow[]): string {
  const list = columns.map((c) =>
    `NULL::${c.type}${c.collation ? ` COLLATE ${c.collation}` : ""} AS ${c.q}`
  );
  return `CREATE VIEW ${name} AS\n SELECT ${list.join(",\n    ")};\n`;
}
