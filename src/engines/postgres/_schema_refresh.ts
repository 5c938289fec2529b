/**
 * The order of materialized view refreshes, at the very end of the script. A refresh reads the
 * materialized views its query uses, directly or through views and functions, so it follows
 * their refreshes (by name it could come first and fail: "has not been populated"). A populated
 * view may read one that is not (it was emptied with `REFRESH ... WITH NO DATA` afterwards):
 * that one is refreshed for it, then emptied again once every refresh that reads it is done.
 */
import { Priority, type SchemaGraph, type SchemaNode } from "./_schema_graph.ts";

/** Kinds a refresh's reads go through to reach the materialized views behind them. */
const THROUGH = new Set(["VIEW", "FUNCTION", "PROCEDURE", "AGGREGATE"]);
const MATVIEW = "MATERIALIZED VIEW";

/** Adds the refresh edges, and the refreshes and emptyings of unpopulated sources. */
export function orderRefreshes(graph: SchemaGraph): void {
  const refreshKey = (view: SchemaNode) => `refresh:${view.key.slice("pg_class:".length)}`;
  const sourcesOf = sourceFinder(graph);
  const populated = graph.nodes.filter((n) => n.item.kind === MATVIEW && graph.node(refreshKey(n)));
  const readers = new Map<SchemaNode, SchemaNode[]>(); // unpopulated source -> refreshes reading it
  const queue = [...populated];
  const queued = new Set(queue);
  while (queue.length > 0) {
    const view = queue.shift()!;
    const refresh = graph.node(refreshKey(view))!;
    for (const source of sourcesOf(view)) {
      if (!graph.node(refreshKey(source))) {
        graph.add({
          key: refreshKey(source),
          priority: Priority.MatviewRefresh,
          item: refreshItem(graph, source, ""),
          deps: [source.key],
        });
        readers.set(source, []);
      }
      refresh.deps.add(refreshKey(source));
      readers.get(source)?.push(refresh);
      if (!queued.has(source)) {
        queued.add(source);
        queue.push(source);
      }
    }
  }
  for (const [source, refreshes] of readers) {
    graph.add({
      key: `unrefresh:${source.key.slice("pg_class:".length)}`,
      priority: Priority.MatviewRefresh,
      item: refreshItem(graph, source, " WITH NO DATA"),
      deps: refreshes.map((r) => r.key),
    });
  }
}

function refreshItem(graph: SchemaGraph, view: SchemaNode, suffix: string) {
  const q = graph.refs.get(view.key)!.name;
  return {
    kind: "MATERIALIZED VIEW DATA",
    name: view.item.name,
    schema: view.item.schema,
    owner: view.item.owner,
    sql: `REFRESH MATERIALIZED VIEW ${q}${suffix};\n`,
  };
}

/**
 * The materialized views a node reads: its dependencies that are materialized views, and those
 * behind the views and functions it depends on (memoised; a cycle ends the walk).
 */
function sourceFinder(graph: SchemaGraph): (view: SchemaNode) => SchemaNode[] {
  const memo = new Map<SchemaNode, Set<SchemaNode>>();
  const behind = (node: SchemaNode): Set<SchemaNode> => {
    const known = memo.get(node);
    if (known) return known;
    const found = new Set<SchemaNode>();
    memo.set(node, found);
    for (const dep of node.deps) {
      const target = graph.node(dep);
      if (!target || target === node) continue;
      if (target.item.kind === MATVIEW) found.add(target);
      else if (THROUGH.has(target.item.kind)) { for (const s of behind(target)) found.add(s); }
    }
    return found;
  };
  return (view) => [...behind(view)].filter((s) => s !== view);
}
