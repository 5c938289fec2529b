/**
 * Breaks the one dependency cycle a table's own statement can close: a column default calling
 * a function that reads the table (a `BEGIN ATOMIC` body is bound to the table at creation).
 * As pg_dump does, such a default leaves the `CREATE TABLE` and is set by
 * `ALTER TABLE ... ALTER COLUMN ... SET DEFAULT` once the function exists.
 */
import { Priority, type SchemaGraph } from "./_schema_graph.ts";

/** Moves out every column default whose dependencies lead back to its own table. */
export function splitCyclicDefaults(graph: SchemaGraph): void {
  for (const [key, d] of graph.defaults) {
    const table = graph.node(d.table);
    if (!table) continue;
    const cyclic = [...d.deps].filter((dep) => dep !== table.key && reaches(graph, dep, table.key));
    if (cyclic.length === 0) continue;
    table.item.sql = table.item.sql.replace(`\n    ${d.clause}`, `\n    ${d.bare}`);
    for (const dep of cyclic) table.deps.delete(dep);
    graph.add({
      key: `default:${key}`,
      priority: Priority.ColumnDefault,
      item: {
        kind: "DEFAULT",
        name: table.item.name,
        schema: table.item.schema,
        owner: table.item.owner,
        sql: `${d.alter}\n`,
      },
      deps: [table.key, ...d.deps],
    });
  }
}

/** Whether node `from` depends, directly or not, on node `to`. */
function reaches(graph: SchemaGraph, from: string, to: string): boolean {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length > 0) {
    const node = graph.node(stack.pop()!);
    if (!node || seen.has(node.key)) continue;
    if (node.key === to) return true;
    seen.add(node.key);
    for (const dep of node.deps) stack.push(dep);
  }
  return false;
}
