import assert from "node:assert/strict";
import { collectGarbage } from "../../src/core/collect_garbage.ts";

Deno.test("collectGarbage() frees an object nothing refers to", async () => {
  const ref = new WeakRef({ payload: new Uint8Array(1 << 20) });
  // A WeakRef keeps its target alive until the current job ends.
  await new Promise((resolve) => setTimeout(resolve, 0));
  collectGarbage();
  assert.equal(ref.deref(), undefined);
});

Deno.test("collectGarbage() can run repeatedly", () => {
  collectGarbage();
  collectGarbage();
});
