import assert from "node:assert/strict";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { Decompressor, ExpansionLimitError } from "../../src/core/decompressor.ts";

/** Decompresses `input` in 64 KiB pieces with `maxBytes`; the output's size, or the error. */
async function expand(input: Uint8Array, maxBytes: number): Promise<number | Error> {
  const decompressor = new Decompressor({ maxBytes });
  let size = 0;
  const done = new Promise<number | Error>((resolve) => {
    decompressor.on("data", (chunk: Uint8Array) => size += chunk.length);
    decompressor.on("end", () => resolve(size));
    decompressor.on("error", resolve);
  });
  for (let i = 0; i < input.length; i += 64 << 10) {
    if (decompressor.destroyed) break;
    decompressor.write(input.subarray(i, i + (64 << 10)));
  }
  if (!decompressor.destroyed) decompressor.end();
  return await done;
}

Deno.test("Decompressor stops a gzip or zstd bomb at maxBytes", async () => {
  const sql = new Uint8Array(256 << 20).fill(0x20);
  const cases: [string, Uint8Array][] = [
    ["gzip", gzipSync(sql)],
    ["zstd, one frame", zstdCompressSync(sql)],
    ["none", sql.subarray(0, 8 << 20)],
  ];
  for (const [name, input] of cases) {
    const result = await expand(input, 4 << 20);
    assert.ok(result instanceof ExpansionLimitError, `${name}: ${result}`);
    assert.equal(
      result.message,
      `expands past the size its sidecar records (stopped at ${4 << 20} bytes of SQL)`,
    );
  }
});

Deno.test("Decompressor passes output up to maxBytes", async () => {
  const sql = new Uint8Array(3 << 20).fill(0x41);
  for (const input of [gzipSync(sql), zstdCompressSync(sql), sql]) {
    assert.equal(await expand(input, sql.length), sql.length);
  }
});
