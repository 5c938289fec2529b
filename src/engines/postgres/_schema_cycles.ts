/**
 * Breaks the dependency cycles the catalogs allow but a script cannot write in one pass, the way
 * pg_dump repairs its dependency loops, before the objects are ordered:
 * - a CHECK constraint in a cycle (`CHECK (f(t))` where `f` takes the table's rowtype, a domain's
 *   `CHECK (f(VALUE))` where `f` takes the domain) leaves its `CREATE TABLE` (`CREATE DOMAIN`)
 *   and is added by `ALTER TABLE` (`ALTER DOMAIN`) `... ADD CONSTRAINT` once `f` exists;
 * - a view in a cycle (its query calls a function that returns the view's rows, or reads a view
 *   that does) is first created as a placeholder with its columns' types only, and replaced by
 *   `CREATE OR REPLACE VIEW` once its query can be written;
 * - failing that, a function with a SQL-standard body (bound to what it names at creation, like
 *   mutually recursive `BEGIN ATOMIC` functions) gets a placeholder with an unchecked body.
 * Cycles are found as strongly connected components of the graph; each round repairs one object
 * per component, until no component is left or none can be repaired (then the sort breaks what
 * remains at its lowest-priority node, as before).
 */
import { Priority, type SchemaGraph, type SchemaNode } from "./_schema_graph.ts";

/** Rounds of repairs; each removes at least one object from every cycle it touches. */
const MAX_ROUNDS = 1000;

/** Repairs every cycle it can; see the module comment. */
export function breakCycles(graph: SchemaGraph): void {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    let repaired = false;
    for (const component of cycles(graph)) {
      if (repair(graph, component)) repaired = true;
    }
    if (!repaired) return;
  }
}

/** Repairs one object of the cycle `component`; false when none can be. */
function repair(graph: SchemaGraph, component: Set<SchemaNode>): boolean {
  for (const [key, check] of graph.checks) {
    const table = graph.node(check.table);
    if (!table || !component.has(table)) continue;
    const inCycle = [...check.deps].filter((d) => {
      const node = graph.node(d);
      return node !== undefined && node !== table && component.has(node);
    });
    if (inCycle.length === 0) continue;
    splitCheck(graph, key, table, component);
    return true;
  }
  for (const kind of [VIEW_KINDS, FUNCTION_KINDS]) {
    // The oldest object (lowest oid), as pg_dump tends to choose: the copy's placeholder is
    // created first and stays the oldest, so pg_dump of the copy writes the same statements.
    let oldest: SchemaNode | undefined;
    for (const node of component) {
      if (!kind.has(node.item.kind) || !graph.placeholders.has(node.key)) continue;
      if (!oldest || oidOf(node) < oidOf(oldest)) oldest = node;
    }
    if (oldest) {
      usePlaceholder(graph, oldest, component);
      return true;
    }
  }
  return false;
}

/** The oid of a node keyed by its catalog row (`pg_class:16384`). */
function oidOf(node: SchemaNode): number {
  return Number(node.key.slice(node.key.indexOf(":") + 1));
}

const VIEW_KINDS = new Set(["VIEW"]);
const FUNCTION_KINDS = new Set(["FUNCTION", "PROCEDURE"]);

/** Moves a CHECK constraint out of its table's statement into a node of its own. */
function splitCheck(
  graph: SchemaGraph,
  key: string,
  table: SchemaNode,
  component: Set<SchemaNode>,
): void {
  const check = graph.checks.get(key)!;
  graph.checks.delete(key);
  // A table's clauses are separated by commas (the check may be the first or the only one); a
  // domain's follow each other.
  const sql = table.item.sql;
  const clause = `\n    ${check.clause}`;
  table.item.sql = sql.includes(`,${clause}`)
    ? sql.replace(`,${clause}`, "")
    : sql.includes(`${clause},`)
    ? sql.replace(`${clause},`, "")
    : sql.replace(clause, "");
  const deps = new Set([table.key, ...check.deps]);
  // The check's edges into the cycle go with it (other clauses may share the rest).
  for (const dep of check.deps) {
    const target = graph.node(dep);
    if (target && target !== table && component.has(target)) table.deps.delete(dep);
  }
  const node = `check:${key}`;
  graph.add({
    key: node,
    priority: Priority.TableCheck,
    item: {
      kind: "CHECK CONSTRAINT",
      name: check.label,
      schema: table.item.schema,
      owner: table.item.owner,
      sql: `${check.alter}\n`,
    },
    deps,
  });
  graph.ref(key, { ...check.ref, node });
}

/**
 * Creates `node`'s object as its placeholder, with only the dependencies outside the cycle, and
 * its real definition as a new node after everything it needs. What lies outside the cycle and
 * depends on the object follows the real definition.
 */
function usePlaceholder(graph: SchemaGraph, node: SchemaNode, component: Set<SchemaNode>): void {
  const placeholder = graph.placeholders.get(node.key)!;
  graph.placeholders.delete(node.key);
  const replaceKey = `replace:${node.key}`;
  const replace = graph.add({
    key: replaceKey,
    priority: node.priority,
    item: { ...node.item, sql: placeholder.replace, drop: undefined },
    deps: [...node.deps, node.key],
  });
  node.item = { ...node.item, sql: placeholder.sql };
  for (const dep of [...node.deps]) {
    const target = graph.node(dep);
    if (target && component.has(target)) node.deps.delete(dep);
  }
  for (const other of graph.nodes) {
    if (other === replace || other === node || component.has(other)) continue;
    for (const dep of other.deps) {
      if (graph.node(dep) === node) {
        other.deps.add(replaceKey);
        break;
      }
    }
  }
}

/**
 * The strongly connected components of more than one node (Tarjan's algorithm, iterative: a
 * long chain of views must not overflow the stack).
 */
export function cycles(graph: SchemaGraph): Set<SchemaNode>[] {
  const nodes = graph.nodes;
  const index = new Map<SchemaNode, number>();
  nodes.forEach((n, i) => index.set(n, i));
  const edges = nodes.map((n) => {
    const out: number[] = [];
    for (const dep of n.deps) {
      const target = graph.node(dep);
      const j = target && index.get(target);
      if (j !== undefined && target !== n) out.push(j);
    }
    return out;
  });
  const order = new Array<number>(nodes.length).fill(-1);
  const low = new Array<number>(nodes.length).fill(0);
  const onStack = new Array<boolean>(nodes.length).fill(false);
  const stack: number[] = [];
  const found: Set<SchemaNode>[] = [];
  let counter = 0;
  for (let root = 0; root < nodes.length; root++) {
    if (order[root] !== -1) continue;
    const work: [number, number][] = [[root, 0]];
    order[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = true;
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const [v, next] = frame;
      if (next < edges[v].length) {
        frame[1]++;
        const w = edges[v][next];
        if (order[w] === -1) {
          order[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = true;
          work.push([w, 0]);
        } else if (onStack[w]) low[v] = Math.min(low[v], order[w]);
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1][0];
        low[parent] = Math.min(low[parent], low[v]);
      }
      if (low[v] !== order[v]) continue;
      const component = new Set<SchemaNode>();
      for (let w = -1; w !== v;) {
        w = stack.pop()!;
        onStack[w] = false;
        component.add(nodes[w]);
      }
      if (component.size > 1) found.push(component);
    }
  }
  return found;
}
