/**
 * Reads a database's schema from the catalogs as pg_dump-grade DDL, split around the table data
 * (see `_model.ts`). The server renders definitions wherever it can (`pg_get_*def`,
 * `format_type`, `pg_get_expr`), with an empty `search_path` so every name comes out qualified.
 * Objects are ordered by their `pg_depend` edges, falling back to pg_dump's kind order.
 */
import type { SchemaItem, SchemaOptions, SchemaPlan } from "./_model.ts";
import { orderByDependencies } from "./_order.ts";
import { CatalogPrefetch, QueryRecorder } from "./_catalog_prefetch.ts";
import { addMatviewAccessMethods, readAccessMethods } from "./_schema_access_methods.ts";
import { addOwners, readAcls, readDefaultAcls } from "./_schema_acl.ts";
import { readBaseTypes } from "./_schema_base_types.ts";
import { readCasts } from "./_schema_casts.ts";
import { readCollations } from "./_schema_collations.ts";
import { addMatviewColumnSettings, readColumns } from "./_schema_columns.ts";
import { addComments } from "./_schema_comments.ts";
import { breakCycles } from "./_schema_cycles.ts";
import { splitCyclicDefaults } from "./_schema_defaults.ts";
import { readExtensionData } from "./_schema_extension_data.ts";
import { readForeignServers } from "./_schema_foreign.ts";
import { readFunctions } from "./_schema_functions.ts";
import { catalogKey, POST_DATA, SchemaGraph, type SchemaNode } from "./_schema_graph.ts";
import { readIndexes } from "./_schema_indexes.ts";
import { readInitialPrivilegeChanges } from "./_schema_init_privs.ts";
import { addSecurityLabels } from "./_schema_labels.ts";
import { readLanguages } from "./_schema_languages.ts";
import { readOperators } from "./_schema_operators.ts";
import { readEventTriggers, readTableExtras } from "./_schema_post.ts";
import { readPublications } from "./_schema_publications.ts";
import { orderRefreshes } from "./_schema_refresh.ts";
import { addSequenceValues, readSequences } from "./_schema_sequences.ts";
import { readSubscriptions } from "./_schema_subscriptions.ts";
import { type CatalogQueries, type CatalogSql, query, type ReadContext } from "./_schema_sql.ts";
import { groupBy, readTables } from "./_schema_tables.ts";
import { readTextSearch } from "./_schema_text_search.ts";
import { readTransforms } from "./_schema_transforms.ts";
import { readSchemas, readShellTypes, readTypes } from "./_schema_types.ts";
import { readViews } from "./_schema_views.ts";
import { tableFilter } from "../table_filter.ts";

/** Options of {@linkcode readSchemaPlan}. */
export interface ReadSchemaOptions extends SchemaOptions {
  /**
   * Further connections in transactions on the same snapshot (with an empty `search_path`) that
   * run the catalog queries ahead, side by side (`_catalog_prefetch.ts`). Default none.
   */
  helpers?: CatalogQueries[];
}

/**
 * Reads the schema plan. Call it inside the dump's `REPEATABLE READ, READ ONLY` transaction:
 * it sets `search_path` to empty for the rest of that transaction (so rendered definitions are
 * fully qualified), and sequence values are read in its snapshot.
 */
export async function readSchemaPlan(
  sql: CatalogSql,
  options: ReadSchemaOptions = {},
): Promise<SchemaPlan> {
  await sql.unsafe("SELECT pg_catalog.set_config('search_path', '', true)");
  if (!options.helpers?.length) return await readPlan(sql, options);
  const recorder = new QueryRecorder();
  await readPlan(recorder, options).catch(() => {}); // a reader that needs rows stops the list
  return await readPlan(new CatalogPrefetch(sql, options.helpers, recorder.texts), options);
}

/** Every reader, in an order where each finds what it refers to already read. */
async function readPlan(sql: CatalogQueries, options: SchemaOptions): Promise<SchemaPlan> {
  const filter = tableFilter(options.tables, options.excludeTables);
  const graph = new SchemaGraph();
  const ctx: ReadContext = {
    sql,
    graph,
    selected: (schema, name) => filter.includes(schema, name),
    filtered: (options.tables?.length ?? 0) > 0,
  };
  await readSchemas(ctx);
  await readLanguages(ctx);
  await readCollations(ctx);
  await readTypes(ctx);
  await readShellTypes(ctx);
  await readBaseTypes(ctx);
  await readFunctions(ctx);
  await readCasts(ctx);
  await readTransforms(ctx);
  await readAccessMethods(ctx);
  await readOperators(ctx);
  await readTextSearch(ctx);
  await readForeignServers(ctx);
  const sequences = await readSequences(ctx);
  const columns = groupBy(await readColumns(ctx), (c) => c.relid);
  await readTables(ctx, sequences, columns);
  await readExtensionData(ctx, columns);
  await readViews(ctx, columns);
  addMatviewColumnSettings(ctx, columns);
  await addMatviewAccessMethods(ctx);
  await readIndexes(ctx);
  await readTableExtras(ctx);
  await readPublications(ctx);
  await readSubscriptions(ctx);
  await readEventTriggers(ctx);
  await addSequenceValues(ctx, sequences);
  await addAliases(ctx);
  await addDependencies(ctx);
  splitCyclicDefaults(graph);
  orderRefreshes(graph);
  breakCycles(graph);
  addOwners(graph);
  await addComments(ctx);
  await addSecurityLabels(ctx);
  const acls = [
    ...await readAcls(ctx),
    ...await readInitialPrivilegeChanges(ctx),
    ...await readDefaultAcls(ctx),
  ];

  const post = postDataNodes(graph);
  const pre = orderByDependencies(graph.nodes.filter((n) => !post.has(n)).map(resolved(graph)));
  const postSorted = orderByDependencies([...post].map(resolved(graph)));
  return {
    preData: flatten(pre),
    data: pre.flatMap((n) => n.node.table ? [n.node.table] : []),
    postData: [...flatten(postSorted), ...acls.filter((a) => a.sql !== "")],
    unmatchedTables: filter.unmatched(),
  };
}

/** Node plus its dependencies resolved to node keys, for the sort. */
function resolved(graph: SchemaGraph) {
  return (node: SchemaNode) => ({
    key: node.key,
    priority: node.priority,
    node,
    deps: [...node.deps].flatMap((d) => {
      const target = graph.node(d);
      return target ? [target.key] : [];
    }),
  });
}

function flatten(nodes: { node: SchemaNode }[]): SchemaItem[] {
  return nodes.flatMap(({ node }) => [node.item, ...node.after]).filter((i) => i.sql !== "");
}

/**
 * Post-data nodes: those of a post-data kind, plus any view or function that depends on one
 * (a view grouping by a primary key needs the key to exist), and what depends on those.
 */
function postDataNodes(graph: SchemaGraph): Set<SchemaNode> {
  const post = new Set(graph.nodes.filter((n) => n.priority >= POST_DATA));
  const movable = new Set(["VIEW", "MATERIALIZED VIEW", "FUNCTION", "PROCEDURE", "AGGREGATE"]);
  for (let changed = true; changed;) {
    changed = false;
    for (const node of graph.nodes) {
      if (post.has(node) || !movable.has(node.item.kind)) continue;
      for (const dep of node.deps) {
        const target = graph.node(dep);
        if (target && post.has(target)) {
          post.add(node);
          changed = true;
          break;
        }
      }
    }
  }
  return post;
}

/** Catalog rows that stand for another object: rowtypes, array types, extension members. */
async function addAliases(ctx: ReadContext): Promise<void> {
  const rows = await query<{ from: string; to: string }>(
    ctx.sql,
    `SELECT 'pg_type:' || c.reltype AS from, 'pg_class:' || c.oid AS to
       FROM pg_catalog.pg_class c WHERE c.reltype <> 0 AND c.oid >= 16384
     UNION ALL SELECT 'pg_type:' || t.typarray, 'pg_type:' || t.oid
       FROM pg_catalog.pg_type t WHERE t.typarray <> 0 AND t.oid >= 16384
     UNION ALL SELECT 'pg_type:' || r.rngmultitypid, 'pg_type:' || r.rngtypid
       FROM pg_catalog.pg_range r WHERE r.rngtypid >= 16384
     UNION ALL SELECT d.classid::pg_catalog.regclass::text || ':' || d.objid,
       'pg_extension:' || d.refobjid
       FROM pg_catalog.pg_depend d WHERE d.deptype = 'e'`,
  );
  for (const r of rows) if (!ctx.graph.node(r.from)) ctx.graph.alias(r.from, r.to);
}

/** Adds `pg_depend` edges between dumped objects. */
async function addDependencies(ctx: ReadContext): Promise<void> {
  const rows = await query<
    { cat: string; oid: number; refcat: string; refoid: number; deptype: string }
  >(
    ctx.sql,
    `SELECT d.classid::pg_catalog.regclass::text AS cat, d.objid AS oid,
       d.refclassid::pg_catalog.regclass::text AS refcat, d.refobjid AS refoid, d.deptype
     FROM pg_catalog.pg_depend d
     WHERE d.deptype IN ('n', 'a') AND d.objid >= 16384 AND d.refobjid >= 16384`,
  );
  for (const r of rows) {
    const node = ctx.graph.node(catalogKey(r.cat, r.oid));
    const target = ctx.graph.node(catalogKey(r.refcat, r.refoid));
    if (!node || !target || node === target) continue;
    // A sequence OWNED BY a column depends on the table, but the table's default uses the
    // sequence: the link is a separate statement after both.
    if (r.deptype === "a" && node.item.kind === "SEQUENCE") continue;
    node.deps.add(ctx.graph.dependency(node.key, target.key));
    ctx.graph.defaults.get(catalogKey(r.cat, r.oid))?.deps.add(target.key);
    ctx.graph.checks.get(catalogKey(r.cat, r.oid))?.deps.add(target.key);
  }
}
