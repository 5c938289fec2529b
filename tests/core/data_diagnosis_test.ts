import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalStorage } from "../../src/storage/local.ts";
import { SqliteEngine } from "../../src/engines/sqlite/sqlite_engine.ts";
import { createBackup } from "../../src/core/create.ts";
import type { ServiceContext } from "../../src/core/context.ts";
import type { Compression } from "../../src/core/compression.ts";
import { diagnoseStored, HeadBuffer } from "../../src/core/data_diagnosis.ts";
import { HEAD_BYTES } from "../../src/core/corruption.ts";
import { FakeClock } from "../helpers/cli.ts";
import { execSql, makeDatabase, withWorkspace } from "../helpers/workspace.ts";

Deno.test("HeadBuffer keeps copies of the first bytes however the chunks fall", () => {
  const head = new HeadBuffer();
  const chunk = new Uint8Array(1000).map((_, i) => i % 251);
  let full = false;
  for (let i = 0; i < 6 && !full; i++) full = head.add(chunk);
  assert.equal(full, true);
  const bytes = head.bytes();
  assert.equal(bytes.length, HEAD_BYTES);
  assert.deepEqual(bytes.subarray(1000, 2000), chunk);
  chunk.fill(0); // the caller reuses its buffer
  assert.equal(head.bytes()[1], 1);
});

/**
 * Each damage, given only what a listing knows (nothing observed): `diagnoseStored` reads the
 * rest back from the store, for every compression.
 */
const DAMAGES: [string, (bytes: Uint8Array, other: Uint8Array) => Uint8Array, RegExp][] = [
  ["empty", () => new Uint8Array(), /^is empty \(0 bytes, the sidecar records \d+\)$/],
  ["cut short", (b) => b.subarray(0, b.length - 5), /^is truncated \(\d+ of \d+ bytes\)$/],
  [
    "with bytes appended",
    (b) => new Uint8Array([...b, 1, 2, 3]),
    /^has 3 bytes appended after its end \(its first \d+ bytes match\)$/,
  ],
  [
    "another backup's",
    (_, other) => other,
    /^holds backup "full_\d{8}T\d{9}Z"'s data \(files swapped\)$/,
  ],
];

for (const format of ["gzip", "zstd", "none"] as Compression[]) {
  for (const [name, damage, says] of DAMAGES) {
    Deno.test(`diagnoseStored() of a ${format} data file ${name}, reading what it needs`, async () => {
      await withWorkspace(async (ws) => {
        makeDatabase(ws.database, { accounts: 20, events: 300 });
        const clock = new FakeClock();
        const context: ServiceContext = {
          storage: new LocalStorage(ws.dir),
          engine: new SqliteEngine(),
          database: ws.database,
          clock,
          compression: { format },
        };
        const meta = await createBackup(context);
        clock.advance();
        execSql(ws.database, "INSERT INTO accounts (name, balance) VALUES ('later', 1)");
        const other = await createBackup(context);
        const path = join(ws.dir, meta.file.name);
        const bytes = await Deno.readFile(path);
        await Deno.writeFile(
          path,
          damage(bytes, await Deno.readFile(join(ws.dir, other.file.name))),
        );
        const diagnosis = await diagnoseStored(context.storage, meta);
        assert.match(diagnosis.detail, says);
      });
    });
  }
}
