import assert from "node:assert/strict";
import {
  type InheritancePlan,
  type InheritColumn,
  inheritsOrder,
  planInheritance,
} from "../../../src/engines/postgres/_schema_inherit.ts";

/** Columns from a compact spec: `x` local, `~x` inherited only, `x*` generated. */
function columns(spec: string): InheritColumn[] {
  return spec.split(" ").map((s) => ({
    name: s.replace(/[~*]/g, ""),
    local: !s.startsWith("~"),
    generated: s.endsWith("*"),
  }));
}

Deno.test("inheritsOrder() puts the parents' columns first, merged by name, then the child's own", () => {
  const cases: [string[][], string, string[]][] = [
    [[["a", "b"]], "~a ~b c", ["a", "b", "c"]],
    [[["a", "b"]], "c b", ["a", "b", "c"]],
    [[["a", "b"], ["c", "b"]], "~a ~b ~c d", ["a", "b", "c", "d"]],
    [[], "x y", ["x", "y"]],
  ];
  for (const [parents, spec, expected] of cases) {
    assert.deepEqual(inheritsOrder(parents, columns(spec)), expected, spec);
  }
});

Deno.test("planInheritance() keeps INHERITS where it gives the child's order", () => {
  const cases: [string, string[][], boolean, InheritancePlan][] = [
    ["~a ~b c", [["a", "b"]], false, { mode: "inherits" }],
    ["a b* c", [["a", "b"]], true, { mode: "inherits" }],
    // Columns there before ALTER TABLE ... INHERIT: all local, in their own order.
    ["z b a", [["a", "b"]], false, { mode: "inherit" }],
    // ... and a CHECK the parent got later, which only a scratch parent can give.
    ["z b a", [["a", "b"]], true, { mode: "scratch", leading: 3 }],
    // A parent column added after the child's own.
    ["~a ~b c ~late", [["a", "b", "late"]], false, { mode: "scratch", leading: 0 }],
    ["z a ~late", [["a", "late"]], false, { mode: "scratch", leading: 2 }],
    // A generated column after an inherited-only one could refer to a column not added yet.
    ["~a c ~late d*", [["a", "late"]], false, { mode: "inherits" }],
    ["c* a ~late", [["a", "late"]], false, { mode: "scratch", leading: 2 }],
  ];
  for (const [spec, parents, checks, expected] of cases) {
    assert.deepEqual(planInheritance(columns(spec), parents, checks), expected, spec);
  }
});
