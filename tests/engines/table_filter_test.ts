import assert from "node:assert/strict";
import { tableFilter } from "../../src/engines/table_filter.ts";

Deno.test("table patterns include and exclude as documented", () => {
  const cases: [string[], string[], [string | undefined, string], boolean][] = [
    [[], [], ["public", "orders"], true],
    [["orders"], [], ["public", "orders"], true],
    [["orders"], [], ["sales", "orders"], true],
    [["orders"], [], ["public", "orders_old"], false],
    [["order*"], [], ["public", "orders_old"], true],
    [["order?"], [], ["public", "orders"], true],
    [["order?"], [], ["public", "order"], false],
    [["sales.*"], [], ["sales", "x"], true],
    [["sales.*"], [], ["public", "x"], false],
    [["sales.*"], [], [undefined, "x"], false],
    [["s*.o*"], [], ["sales", "orders"], true],
    [[], ["audit*"], ["public", "audit_log"], false],
    [["*"], ["audit*"], ["public", "orders"], true],
    [["orders"], ["orders"], ["public", "orders"], false],
    [["Orders"], [], ["public", "orders"], false],
    [["a+b"], [], ["public", "a+b"], true],
    [["a+b"], [], ["public", "aab"], false],
  ];
  for (const [include, exclude, [schema, name], expected] of cases) {
    assert.equal(
      tableFilter(include, exclude).includes(schema, name),
      expected,
      `${JSON.stringify({ include, exclude, schema, name })}`,
    );
  }
});

Deno.test("table filter reports include patterns that matched nothing", () => {
  const filter = tableFilter(["orders", "nope*"], []);
  filter.includes("public", "orders");
  filter.includes("public", "items");
  assert.deepEqual(filter.unmatched(), ["nope*"]);
});
