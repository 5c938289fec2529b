import assert from "node:assert/strict";
import {
  type InheritancePlan,
  type InheritColumn,
  inheritsOrder,
  planInheritance,
} from "../../../src/engines/postgres/_schema_inherit.ts";

/** Columns from a compact spec: `x` local, `~x` inherited only, `x*a,b` generated from a, b. */
function columns(spec: string): InheritColumn[] {
  return spec.split(" ").map((s) => {
    const [name, refs] = s.replace(/^~/, "").split("*");
    return {
      name,
      local: !s.startsWith("~"),
      generated: refs !== undefined,
      refs: refs ? refs.split(",") : [],
    };
  });
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
    ["a b*a c", [["a", "b"]], true, { mode: "inherits" }],
    // Columns there before ALTER TABLE ... INHERIT: all local, in their own order.
    ["z b a", [["a", "b"]], false, { mode: "inherit" }],
    // ... and a CHECK the parent got later, which only a scratch parent can give.
    ["z b a", [["a", "b"]], true, { mode: "scratch", leading: 0, local: 3 }],
    // A parent column added after the child's own.
    ["~a ~b c ~late", [["a", "b", "late"]], false, { mode: "scratch", leading: 2, local: 1 }],
    ["z a ~late", [["a", "late"]], false, { mode: "scratch", leading: 0, local: 2 }],
    ["~a ~b*a q ~late ~g*a,late", [["a", "b", "late", "g"]], false, {
      mode: "scratch",
      leading: 2,
      local: 1,
    }],
    // A generated column defined before a column its expression uses: INHERITS, another order.
    ["~a ~b*late q ~late", [["a", "b", "late"]], false, { mode: "inherits" }],
    ["z ~late g*h h", [["late"]], false, { mode: "inherits" }],
    ["z ~late g*z h", [["late"]], false, { mode: "scratch", leading: 0, local: 1 }],
  ];
  for (const [spec, parents, checks, expected] of cases) {
    assert.deepEqual(planInheritance(columns(spec), parents, checks), expected, spec);
  }
});
