/** Partial file names: made and read back (table-driven); the local store writes them. */
import assert from "node:assert/strict";
import { parsePartialName, partialName } from "../../src/storage/partial_name.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { currentOwner } from "../../src/core/scratch_names.ts";
import { listNames, withWorkspace } from "../helpers/workspace.ts";

const OWNER = { host: "db1_example_com", pid: 4242, startedAt: new Date(1795428900123) };

Deno.test("partialName() names the key, then host, pid and start of its writer", () => {
  assert.equal(
    partialName("full_20261123T101500123Z.sql.gz", OWNER),
    "full_20261123T101500123Z.sql.gz.bm-db1_example_com.4242.1795428900123.partial",
  );
});

Deno.test("parsePartialName() reads back owners, old names without one, and nothing else", () => {
  const cases: [string, ReturnType<typeof parsePartialName>][] = [
    [
      "full_20261123T101500123Z.sql.gz.bm-db1_example_com.4242.1795428900123.partial",
      { key: "full_20261123T101500123Z.sql.gz", owner: OWNER },
    ],
    ["a.bm-h.1.2.partial", { key: "a", owner: { host: "h", pid: 1, startedAt: new Date(2) } }],
    ["full_20261123T101500123Z.sql.gz.partial", { key: "full_20261123T101500123Z.sql.gz" }],
    ["a.bm-h.x.2.partial", { key: "a.bm-h.x.2" }], // no pid: an old-style name of an odd key
    ["full_20261123T101500123Z.sql.gz", undefined],
    ["x.partial~upload-id", undefined], // an S3 upload's entry
    [".partial", undefined],
  ];
  for (const [name, expected] of cases) assert.deepEqual(parsePartialName(name), expected, name);
});

Deno.test("LocalStorage writes a partial named after this process, renamed away on commit", async () => {
  await withWorkspace(async (ws) => {
    const storage = new LocalStorage(ws.dir);
    const writer = await storage.create("a.sql.gz");
    await writer.write(new Uint8Array(3));
    const [partial] = await listNames(ws.dir);
    const parsed = parsePartialName(partial);
    assert.equal(parsed?.key, "a.sql.gz");
    assert.deepEqual({ ...parsed?.owner, startedAt: undefined }, {
      ...currentOwner(new Date()),
      startedAt: undefined,
    });
    assert.deepEqual((await storage.listIncomplete()).map((e) => [e.key, e.size]), [[partial, 3]]);
    await writer.commit();
    assert.deepEqual(await listNames(ws.dir), ["a.sql.gz"]);
  });
});
