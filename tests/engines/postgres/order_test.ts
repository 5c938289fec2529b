import assert from "node:assert/strict";
import { orderByDependencies } from "../../../src/engines/postgres/_order.ts";

const cases: {
  name: string;
  nodes: { key: string; priority: number; deps: string[] }[];
  expected: string[];
}[] = [
  {
    name: "keeps the kind order when there are no edges",
    nodes: [
      { key: "table", priority: 7, deps: [] },
      { key: "schema", priority: 1, deps: [] },
      { key: "function", priority: 4, deps: [] },
    ],
    expected: ["schema", "function", "table"],
  },
  {
    name: "puts a dependency first even when its kind comes later",
    nodes: [
      { key: "function", priority: 4, deps: ["table"] },
      { key: "table", priority: 7, deps: [] },
      { key: "type", priority: 3, deps: [] },
    ],
    expected: ["type", "table", "function"],
  },
  {
    name: "orders a chain of views",
    nodes: [
      { key: "v3", priority: 9, deps: ["v2"] },
      { key: "v1", priority: 9, deps: ["t"] },
      { key: "v2", priority: 9, deps: ["v1"] },
      { key: "t", priority: 7, deps: [] },
    ],
    expected: ["t", "v1", "v2", "v3"],
  },
  {
    name: "ignores unknown keys and edges to itself",
    nodes: [
      { key: "a", priority: 2, deps: ["nowhere", "a"] },
      { key: "b", priority: 1, deps: [] },
    ],
    expected: ["b", "a"],
  },
  {
    name: "breaks a cycle at its lowest-priority node and keeps every node",
    nodes: [
      { key: "x", priority: 5, deps: ["y"] },
      { key: "y", priority: 3, deps: ["x"] },
      { key: "z", priority: 9, deps: ["x"] },
    ],
    expected: ["y", "x", "z"],
  },
];

for (const c of cases) {
  Deno.test(`orderByDependencies() ${c.name}`, () => {
    assert.deepEqual(orderByDependencies(c.nodes).map((n) => n.key), c.expected);
  });
}
