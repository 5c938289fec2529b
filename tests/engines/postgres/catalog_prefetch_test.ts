/**
 * Catalog queries run ahead (`_catalog_prefetch.ts`): each foreseen text is answered once from
 * its helper, in the order asked, and anything else goes to the main connection.
 */
import assert from "node:assert/strict";
import { CatalogPrefetch, QueryRecorder } from "../../../src/engines/postgres/_catalog_prefetch.ts";
import type { CatalogQueries } from "../../../src/engines/postgres/_schema_sql.ts";

/** A connection stand-in that answers `<name>:<text>:<n>` and logs what it ran. */
function fake(name: string, log: string[]): CatalogQueries {
  let n = 0;
  return {
    unsafe(text: string) {
      log.push(`${name} ${text}`);
      return Promise.resolve(`${name}:${text}:${n++}`);
    },
  };
}

Deno.test("CatalogPrefetch spreads foreseen queries over the helpers and answers each once", async () => {
  const log: string[] = [];
  const prefetch = new CatalogPrefetch(
    fake("main", log),
    [fake("a", log), fake("b", log)],
    ["q1", "q2", "q1", "q3"],
  );
  assert.deepEqual(log, ["a q1", "b q2", "a q1", "b q3"], "all started at once, in turn");
  assert.equal(await prefetch.unsafe("q1"), "a:q1:0");
  assert.equal(await prefetch.unsafe("q2"), "b:q2:0");
  assert.equal(await prefetch.unsafe("q1"), "a:q1:1", "a repeated text gets its own result");
  assert.equal(await prefetch.unsafe("q1"), "main:q1:0", "beyond what was foreseen: main");
  assert.equal(await prefetch.unsafe("other"), "main:other:1");
  assert.equal(await prefetch.unsafe("q3"), "b:q3:1");
});

Deno.test("CatalogPrefetch hands a helper's failure to whoever asks, and only then", async () => {
  const failing: CatalogQueries = { unsafe: () => Promise.reject(new Error("permission denied")) };
  const prefetch = new CatalogPrefetch(fake("main", []), [failing], ["q1", "unused"]);
  await assert.rejects(prefetch.unsafe("q1"), /permission denied/);
  await new Promise((r) => setTimeout(r, 10)); // "unused" is never asked for: no unhandled rejection
});

Deno.test("QueryRecorder lists the queries and answers no rows", async () => {
  const recorder = new QueryRecorder();
  assert.deepEqual(await recorder.unsafe("SELECT 1"), []);
  assert.deepEqual(await recorder.unsafe("SELECT 2"), []);
  assert.deepEqual(recorder.texts, ["SELECT 1", "SELECT 2"]);
});
