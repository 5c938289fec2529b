import assert from "node:assert/strict";
import {
  type CompressionSpec,
  detectCompression,
  formatCompression,
  mediaType,
  parseCompression,
  sqlSuffix,
} from "../../src/core/compression.ts";

const parsed: [string, CompressionSpec | undefined][] = [
  ["gzip", { format: "gzip", level: 6 }],
  ["gzip:1", { format: "gzip", level: 1 }],
  ["gzip:9", { format: "gzip", level: 9 }],
  ["zstd", { format: "zstd", level: 3 }],
  ["zstd:1", { format: "zstd", level: 1 }],
  ["zstd:19", { format: "zstd", level: 19 }],
  ["ZSTD:7", { format: "zstd", level: 7 }],
  [" none ", { format: "none" }],
  ["gzip:0", undefined],
  ["gzip:10", undefined],
  ["zstd:0", undefined],
  ["zstd:20", undefined],
  ["zstd:-1", undefined],
  ["none:1", undefined],
  ["gzip:", undefined],
  ["brotli", undefined],
  ["", undefined],
];

for (const [text, expected] of parsed) {
  Deno.test(`parseCompression() reads ${JSON.stringify(text)} as ${JSON.stringify(expected)}`, () => {
    assert.deepEqual(parseCompression(text), expected);
  });
}

Deno.test("formatCompression() spells a spec as the setting takes it, the default level included", () => {
  assert.equal(formatCompression({ format: "gzip", level: 6 }), "gzip:6");
  assert.equal(formatCompression({ format: "zstd" }), "zstd:3");
  assert.equal(formatCompression({ format: "gzip" }), "gzip:6");
  assert.equal(formatCompression({ format: "none" }), "none");
  for (const [text, spec] of parsed) {
    if (spec) assert.deepEqual(parseCompression(formatCompression(spec)), spec, text);
  }
});

Deno.test("sqlSuffix() and mediaType() name each format's file", () => {
  assert.deepEqual(
    (["gzip", "zstd", "none"] as const).map((f) => [sqlSuffix(f), mediaType(f)]),
    [
      [".sql.gz", "application/gzip"],
      [".sql.zst", "application/zstd"],
      [".sql", "application/sql"],
    ],
  );
});

const heads: [string, number[], string][] = [
  ["a gzip member", [0x1f, 0x8b, 0x08, 0x00], "gzip"],
  ["a zstd frame", [0x28, 0xb5, 0x2f, 0xfd, 0x04], "zstd"],
  ["a skippable zstd frame", [0x5e, 0x2a, 0x4d, 0x18, 0, 0, 0, 0], "zstd"],
  ["our SQL's first comment", [...new TextEncoder().encode("-- backup-manager")], "none"],
  ["an empty file", [], "none"],
  ["the start of a zstd magic number only", [0x28, 0xb5], "none"],
];

for (const [name, bytes, format] of heads) {
  Deno.test(`detectCompression() reads ${name} as ${format}`, () => {
    assert.equal(detectCompression(new Uint8Array(bytes)), format);
  });
}
