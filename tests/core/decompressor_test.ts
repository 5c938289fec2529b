import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { Decompressor, type DecompressorOptions } from "../../src/core/decompressor.ts";
import { Compressor } from "../../src/core/compressor.ts";
import type { CompressionSpec } from "../../src/core/compression.ts";

/** SQL-like text: compressible, but every line differs so order mistakes show. */
function sampleSql(lines: number): Uint8Array {
  const text = Array.from(
    { length: lines },
    (_, i) => `INSERT INTO "t" VALUES(${i},'name ${i % 997}',${(i * 7.31) % 1000});\n`,
  ).join("");
  return new TextEncoder().encode(text);
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** What our compressor writes for `input`, in slices of 64 KiB (several members or frames). */
async function compressed(input: Uint8Array, spec: CompressionSpec): Promise<Uint8Array> {
  const out: Uint8Array[] = [];
  const compressor = new Compressor(spec, (chunk) => {
    out.push(chunk);
    return Promise.resolve();
  }, { sliceBytes: 64 * 1024 });
  await compressor.write(input);
  await compressor.end();
  return concat(out);
}

/** Feeds `bytes` in pieces of `piece` bytes (or of the sizes `piece` returns); returns the output. */
async function decompress(
  bytes: Uint8Array,
  piece: number | (() => number),
  options: DecompressorOptions = {},
): Promise<{ output: Uint8Array; decompressor: Decompressor }> {
  const decompressor = new Decompressor(options);
  const parts: Uint8Array[] = [];
  decompressor.on("data", (data: Uint8Array) => parts.push(new Uint8Array(data)));
  let failure: Error | undefined;
  const ended = new Promise<void>((resolve) => {
    decompressor.on("end", resolve);
    decompressor.on("error", (error: Error) => {
      failure = error;
      resolve();
    });
  });
  for (let at = 0; at < bytes.length && !failure;) {
    const size = typeof piece === "number" ? piece : piece();
    if (!decompressor.write(bytes.subarray(at, at + size))) {
      await Promise.race([new Promise((resolve) => decompressor.once("drain", resolve)), ended]);
    }
    at += size;
  }
  if (!failure) decompressor.end();
  await ended;
  if (failure) throw failure;
  return { output: concat(parts), decompressor };
}

/** Runs `command args` on `input`; returns its stdout. */
async function tool(command: string, args: string[], input: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command(command, { args, stdin: "piped", stdout: "piped" }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(input);
  await writer.close();
  const output = await child.output();
  assert.equal(output.code, 0, `${command} failed`);
  return output.stdout;
}

/** A pseudo-random source of piece sizes from 1 byte to 40 KB, the same on every run. */
function randomPieces(): () => number {
  let state = 42;
  return () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return 1 + (state % 40_000);
  };
}

const input = sampleSql(20_000);

for (const spec of [{ format: "gzip", level: 6 }, { format: "zstd", level: 3 }] as const) {
  for (const [label, piece] of [["1-byte", 1], ["random", randomPieces()], ["1 MiB", 1 << 20]]) {
    Deno.test(`Decompressor reads our ${spec.format} file of several members whole, fed in ${label} pieces`, async () => {
      const bytes = await compressed(input, spec);
      const { output } = await decompress(bytes, piece as number, { format: spec.format });
      assert.deepEqual(output, input);
    });
  }

  Deno.test(`Decompressor recognises ${spec.format} from the first bytes, even one byte at a time`, async () => {
    const bytes = await compressed(input, spec);
    const { output, decompressor } = await decompress(bytes, 1);
    assert.equal(decompressor.format, spec.format);
    assert.deepEqual(output, input);
  });
}

Deno.test("Decompressor passes uncompressed SQL through, and recognises it", async () => {
  const { output, decompressor } = await decompress(input, randomPieces());
  assert.equal(decompressor.format, "none");
  assert.deepEqual(output, input);
  assert.deepEqual((await decompress(input, 3, { format: "none" })).output, input);
});

Deno.test("Decompressor reads what the zstd CLI writes: one large frame, frames joined with a skippable frame between", async () => {
  const cli = await tool("zstd", ["-q", "-3", "-c"], input);
  assert.deepEqual((await decompress(cli, 5_000, { format: "zstd" })).output, input);
  const half = input.length >> 1;
  const skippable = new Uint8Array([0x53, 0x2a, 0x4d, 0x18, 5, 0, 0, 0, 1, 2, 3, 4, 5]);
  const joined = concat([
    await tool("zstd", ["-q", "-c", "--no-check"], input.subarray(0, half)),
    skippable,
    await tool("zstd", ["-q", "-c"], input.subarray(half)),
  ]);
  assert.deepEqual((await decompress(joined, 1, {})).output, input);
  // and the CLI reads ours whole
  assert.deepEqual(await tool("zstd", ["-dc"], await compressed(input, { format: "zstd" })), input);
});

Deno.test("Decompressor fails a zstd file cut short, inside a block or between blocks", async () => {
  const bytes = await compressed(input, { format: "zstd" });
  for (const cut of [bytes.length - 1, bytes.length - 3000, 2]) {
    await assert.rejects(
      decompress(bytes.subarray(0, cut), 4096, { format: "zstd" }),
      (error: Error) => {
        assert.equal(error.message, "unexpected end of file inside a frame");
        return true;
      },
    );
  }
});

Deno.test("Decompressor fails a zstd file with a changed byte (its frames carry checksums)", async () => {
  const bytes = await compressed(input, { format: "zstd" });
  const damaged = new Uint8Array(bytes);
  damaged[Math.floor(bytes.length / 2)] ^= 0x55;
  await assert.rejects(decompress(damaged, 4096, { format: "zstd" }), /Zstd|zstd|frame|block/);
});

Deno.test("Decompressor told zstd refuses bytes that are not zstd frames", async () => {
  await assert.rejects(
    decompress(gzipSync(input), 4096, { format: "zstd" }),
    (error: Error) => {
      assert.equal(error.message, "not a zstd frame (unknown magic number)");
      return true;
    },
  );
});

Deno.test("Decompressor fails a gzip file cut short", async () => {
  const bytes = await compressed(input, { format: "gzip" });
  await assert.rejects(
    decompress(bytes.subarray(0, bytes.length - 100), 4096, { format: "gzip" }),
    /unexpected end of file/,
  );
});

Deno.test("Decompressor.setFormat() after the first bytes were read as another format throws", async () => {
  const decompressor = new Decompressor();
  decompressor.on("data", () => {});
  await new Promise<void>((resolve) => decompressor.write(input.subarray(0, 100), () => resolve()));
  assert.equal(decompressor.format, "none");
  assert.throws(() => decompressor.setFormat("gzip"), /already read as none/);
  decompressor.setFormat("none");
  decompressor.destroy();
});

for (const format of ["gzip", "zstd"] as const) {
  Deno.test(`Decompressor (${format}) holds back writes while its reader is paused`, async () => {
    const big = sampleSql(200_000); // about 13 MB of SQL
    const bytes = await compressed(big, { format });
    const decompressor = new Decompressor({ format });
    let out = 0;
    decompressor.on("data", (data: Uint8Array) => out += data.length);
    decompressor.pause();
    const pieces: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; at += 16 * 1024) {
      pieces.push(bytes.subarray(at, at + 16 * 1024));
    }
    let acknowledged = 0;
    for (const piece of pieces) decompressor.write(piece, () => acknowledged++);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(
      acknowledged < pieces.length / 2,
      `${acknowledged} of ${pieces.length} taken while paused`,
    );
    const ended = new Promise((resolve) => decompressor.on("end", resolve));
    decompressor.end();
    decompressor.resume();
    await ended;
    assert.equal(acknowledged, pieces.length);
    assert.equal(out, big.length);
  });
}
