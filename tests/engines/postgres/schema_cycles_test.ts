import assert from "node:assert/strict";
import { breakCycles, cycles } from "../../../src/engines/postgres/_schema_cycles.ts";
import { orderRefreshes } from "../../../src/engines/postgres/_schema_refresh.ts";
import { Priority, SchemaGraph } from "../../../src/engines/postgres/_schema_graph.ts";
import { placeholderView } from "../../../src/engines/postgres/_schema_views.ts";
import { placeholderFunction } from "../../../src/engines/postgres/_schema_functions.ts";
import type { ColumnRow } from "../../../src/engines/postgres/_schema_tables.ts";

/** A graph of `kind` nodes keyed `pg_class:N`, each with its dependencies. */
function graphOf(nodes: [number, string, number[]][]): SchemaGraph {
  const graph = new SchemaGraph();
  for (const [oid, kind, deps] of nodes) {
    graph.add({
      key: `pg_class:${oid}`,
      priority: kind === "TABLE" ? Priority.Table : Priority.View,
      item: { kind, name: `o${oid}`, schema: "s", sql: `CREATE ${kind} s.o${oid};\n` },
      deps: deps.map((d) => `pg_class:${d}`),
    });
    graph.ref(`pg_class:${oid}`, { node: `pg_class:${oid}`, kind, name: `s.o${oid}` });
  }
  return graph;
}

const cycleCases: { name: string; nodes: [number, string, number[]][]; expected: number[][] }[] = [
  {
    name: "none in a chain",
    nodes: [[1, "VIEW", []], [2, "VIEW", [1]], [3, "VIEW", [2]]],
    expected: [],
  },
  { name: "a loop of two", nodes: [[1, "VIEW", [2]], [2, "VIEW", [1]]], expected: [[1, 2]] },
  {
    name: "two loops apart, and a node that only reads one",
    nodes: [[1, "VIEW", [2]], [2, "VIEW", [1]], [3, "VIEW", [1]], [4, "VIEW", [5]], [5, "VIEW", [
      4,
      3,
    ]]],
    expected: [[1, 2], [4, 5]],
  },
  { name: "no loop for an edge to itself", nodes: [[1, "VIEW", [1]]], expected: [] },
  {
    name: "one component for a figure eight",
    nodes: [[1, "VIEW", [2]], [2, "VIEW", [1, 3]], [3, "VIEW", [2]]],
    expected: [[1, 2, 3]],
  },
];

for (const c of cycleCases) {
  Deno.test(`cycles() finds ${c.name}`, () => {
    const found = cycles(graphOf(c.nodes)).map((set) =>
      [...set].map((n) => Number(n.key.slice("pg_class:".length))).sort()
    ).sort((a, b) => a[0] - b[0]);
    assert.deepEqual(found, c.expected);
  });
}

Deno.test("cycles() walks a chain of 100,000 views without overflowing the stack", () => {
  const nodes: [number, string, number[]][] = [];
  for (let i = 1; i <= 100_000; i++) nodes.push([i, "VIEW", i > 1 ? [i - 1] : [100_000]]);
  assert.equal(cycles(graphOf(nodes))[0].size, 100_000);
});

Deno.test("breakCycles() replaces the oldest view of a loop by a placeholder, then its definition", () => {
  // 1 (table) <- 3 (view) -> 2 (view) -> 3; 4 reads 2 from outside the loop.
  const graph = graphOf([[1, "TABLE", []], [2, "VIEW", [3]], [3, "VIEW", [1, 2]], [4, "VIEW", [
    2,
  ]]]);
  graph.placeholders.set("pg_class:2", { sql: "PLACEHOLDER 2;\n", replace: "REPLACE 2;\n" });
  graph.placeholders.set("pg_class:3", { sql: "PLACEHOLDER 3;\n", replace: "REPLACE 3;\n" });
  breakCycles(graph);
  assert.deepEqual(cycles(graph), []);
  const byKey = new Map(graph.nodes.map((n) => [n.key, n]));
  assert.equal(byKey.get("pg_class:2")!.item.sql, "PLACEHOLDER 2;\n");
  assert.deepEqual([...byKey.get("pg_class:2")!.deps], []);
  assert.equal(byKey.get("replace:pg_class:2")!.item.sql, "REPLACE 2;\n");
  assert.deepEqual([...byKey.get("replace:pg_class:2")!.deps].sort(), ["pg_class:2", "pg_class:3"]);
  assert.equal(byKey.get("pg_class:3")!.item.sql, "CREATE VIEW s.o3;\n");
  assert.ok(byKey.get("pg_class:4")!.deps.has("replace:pg_class:2"));
  assert.equal(byKey.has("replace:pg_class:3"), false);
});

Deno.test("breakCycles() leaves a loop it cannot repair to the sort", () => {
  const graph = graphOf([[1, "TABLE", [2]], [2, "TABLE", [1]]]);
  breakCycles(graph);
  assert.equal(cycles(graph).length, 1);
  assert.equal(graph.nodes.length, 2);
});

Deno.test("breakCycles() moves a CHECK that closes a loop out of its table's statement", () => {
  const graph = new SchemaGraph();
  const table = graph.add({
    key: "pg_class:1",
    priority: Priority.Table,
    item: {
      kind: "TABLE",
      name: "t",
      sql: "CREATE TABLE s.t (\n    id integer,\n    CONSTRAINT ok CHECK (s.f(t.*))\n);\n",
    },
    deps: ["pg_proc:2"],
  });
  graph.add({
    key: "pg_proc:2",
    priority: Priority.Function,
    item: { kind: "FUNCTION", name: "f", sql: "CREATE FUNCTION s.f(s.t) ...;\n" },
    deps: ["pg_class:1"],
  });
  graph.ref("pg_constraint:3", { node: "pg_class:1", kind: "CONSTRAINT", name: "ok ON s.t" });
  graph.checks.set("pg_constraint:3", {
    table: "pg_class:1",
    clause: "CONSTRAINT ok CHECK (s.f(t.*))",
    alter: "ALTER TABLE s.t ADD CONSTRAINT ok CHECK (s.f(t.*));",
    label: "t ok",
    ref: { kind: "CONSTRAINT", name: "ok ON s.t" },
    deps: new Set(["pg_proc:2", "pg_class:1"]),
  });
  breakCycles(graph);
  assert.equal(table.item.sql, "CREATE TABLE s.t (\n    id integer\n);\n");
  assert.deepEqual([...table.deps], []);
  const check = graph.node("pg_constraint:3")!;
  assert.equal(check.item.sql, "ALTER TABLE s.t ADD CONSTRAINT ok CHECK (s.f(t.*));\n");
  assert.deepEqual([...check.deps].sort(), ["pg_class:1", "pg_proc:2"]);
  assert.equal(graph.refs.get("pg_constraint:3")?.node, check.key);
});

Deno.test("orderRefreshes() follows sources through views and refreshes an empty one for its readers", () => {
  // 1 table; 2 matview (empty) over 1; 3 view over 2; 4 matview over 3 (populated); 5 over 4.
  const graph = graphOf([
    [1, "TABLE", []],
    [2, "MATERIALIZED VIEW", [1]],
    [3, "VIEW", [2]],
    [4, "MATERIALIZED VIEW", [3]],
    [5, "MATERIALIZED VIEW", [4]],
  ]);
  for (const oid of [4, 5]) {
    graph.add({
      key: `refresh:${oid}`,
      priority: Priority.MatviewRefresh,
      item: { kind: "MATERIALIZED VIEW DATA", name: `o${oid}`, sql: `REFRESH s.o${oid};\n` },
      deps: [`pg_class:${oid}`],
    });
  }
  orderRefreshes(graph);
  const byKey = new Map(graph.nodes.map((n) => [n.key, n]));
  assert.deepEqual([...byKey.get("refresh:5")!.deps], ["pg_class:5", "refresh:4"]);
  assert.deepEqual([...byKey.get("refresh:4")!.deps], ["pg_class:4", "refresh:2"]);
  assert.equal(byKey.get("refresh:2")!.item.sql, "REFRESH MATERIALIZED VIEW s.o2;\n");
  assert.equal(
    byKey.get("unrefresh:2")!.item.sql,
    "REFRESH MATERIALIZED VIEW s.o2 WITH NO DATA;\n",
  );
  assert.deepEqual([...byKey.get("unrefresh:2")!.deps], ["refresh:4"]);
});

const column = (q: string, type: string, collation: string | null = null) =>
  ({ q, type, collation }) as ColumnRow;

Deno.test("placeholderView() keeps the columns' names, types and collations", () => {
  assert.equal(
    placeholderView("s.v", [
      column("id", "integer"),
      column('"Name"', "character varying(10)", 'pg_catalog."C"'),
    ]),
    'CREATE VIEW s.v AS\n SELECT NULL::integer AS id,\n    NULL::character varying(10) COLLATE pg_catalog."C" AS "Name";\n',
  );
  assert.equal(placeholderView("s.empty", []), "CREATE VIEW s.empty AS\n SELECT ;\n");
});

Deno.test("placeholderFunction() keeps the signature and result, with a body nobody checks", () => {
  assert.equal(
    placeholderFunction("FUNCTION", "s.f", "n integer DEFAULT 1", "SETOF s.v"),
    "CREATE FUNCTION s.f(n integer DEFAULT 1) RETURNS SETOF s.v\n    LANGUAGE sql\n    AS $$SELECT NULL$$;\n",
  );
  assert.equal(
    placeholderFunction("PROCEDURE", "s.p", "", ""),
    "CREATE PROCEDURE s.p()\n    LANGUAGE sql\n    AS $$SELECT NULL$$;\n",
  );
});
