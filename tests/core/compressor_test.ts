import assert from "node:assert/strict";
import { createGunzip } from "node:zlib";
import { Compressor, GzipCompressor } from "../../src/core/compressor.ts";
import type { CompressionSpec } from "../../src/core/compression.ts";

/** Pseudo-random but compressible text, so members differ and order mistakes show. */
function sampleText(bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let state = 12345;
  for (let i = 0; i < bytes; i++) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    out[i] = i % 61 === 60 ? 0x0a : 0x61 + ((state >> 16) % 20);
  }
  return out;
}

/** Compresses `input` in `chunkBytes` writes; returns the output chunks as written. */
async function compress(
  input: Uint8Array,
  chunkBytes: number,
  options = { workers: 2, sliceBytes: 64 * 1024 },
): Promise<Uint8Array[]> {
  const outputs: Uint8Array[] = [];
  const compressor = new GzipCompressor(6, async (chunk) => {
    await new Promise((resolve) => setTimeout(resolve, 0));
    outputs.push(chunk);
  }, options);
  for (let at = 0; at < input.length; at += chunkBytes) {
    await compressor.write(input.slice(at, at + chunkBytes));
  }
  await compressor.end();
  return outputs;
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

async function gunzipWithZlib(gz: Uint8Array): Promise<Uint8Array> {
  const gunzip = createGunzip();
  const parts: Uint8Array[] = [];
  const ended = new Promise<void>((resolve, reject) => {
    gunzip.on("data", (data: Uint8Array) => parts.push(new Uint8Array(data)));
    gunzip.on("end", resolve);
    gunzip.on("error", reject);
  });
  // In pieces that cut across member boundaries, as a file read delivers them.
  for (let at = 0; at < gz.length; at += 7_000) gunzip.write(gz.subarray(at, at + 7_000));
  gunzip.end();
  await ended;
  return concat(parts);
}

async function decompressWith(command: string, args: string[], gz: Uint8Array) {
  const child = new Deno.Command(command, { args, stdin: "piped", stdout: "piped" }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(gz);
  await writer.close();
  const output = await child.output();
  assert.equal(output.code, 0);
  return output.stdout;
}

Deno.test("GzipCompressor writes several gzip members that gunzip, zlib and Python read whole", async () => {
  const input = sampleText(1_000_003);
  const outputs = await compress(input, 50_000);
  assert.ok(outputs.length >= 15, `expected one member per 64 KiB slice, got ${outputs.length}`);
  const gz = concat(outputs);
  assert.deepEqual(await gunzipWithZlib(gz), input);
  assert.deepEqual(await decompressWith("gunzip", ["-c"], gz), input);
  assert.deepEqual(
    await decompressWith("python3", [
      "-c",
      "import gzip,sys; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))",
    ], gz),
    input,
  );
});

Deno.test("GzipCompressor keeps input order with one worker, with writes larger than a slice", async () => {
  const input = sampleText(700_000);
  const gz = concat(await compress(input, 300_000, { workers: 1, sliceBytes: 32 * 1024 }));
  assert.deepEqual(await gunzipWithZlib(gz), input);
});

Deno.test("GzipCompressor makes a valid gzip file of an empty input", async () => {
  const gz = concat(await compress(new Uint8Array(0), 1));
  assert.deepEqual(await gunzipWithZlib(gz), new Uint8Array(0));
  assert.deepEqual(await decompressWith("gunzip", ["-c"], gz), new Uint8Array(0));
});

Deno.test("GzipCompressor holds back writes while its output is not taken", async () => {
  let release: (() => void) | undefined;
  let taken = 0;
  const compressor = new GzipCompressor(6, async (chunk) => {
    taken += chunk.length;
    if (taken > 0 && release === undefined) await new Promise<void>((r) => release = r);
  }, { workers: 2, sliceBytes: 16 * 1024 });
  const input = sampleText(16 * 1024);
  let accepted = 0;
  const writing = (async () => {
    for (let i = 0; i < 40; i++) {
      await compressor.write(input);
      accepted++;
    }
  })();
  while (release === undefined) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 100));
  // One member in the sink, four slices in flight, one being filled: no more.
  assert.ok(accepted <= 6, `accepted ${accepted} slices while the sink was stuck`);
  release();
  await writing;
  await compressor.end();
  assert.equal(accepted, 40);
});

Deno.test("GzipCompressor reports a failing sink from write and end", async () => {
  const compressor = new GzipCompressor(6, () => Promise.reject(new Error("disk full")), {
    workers: 2,
    sliceBytes: 1024,
  });
  await assert.rejects(async () => {
    for (let i = 0; i < 100; i++) await compressor.write(sampleText(4096));
    await compressor.end();
  }, { message: "disk full" });
  compressor.abort();
});

/** Compresses `input` with `spec` in `chunkBytes` writes; returns the output chunks. */
async function compressAs(
  spec: CompressionSpec,
  input: Uint8Array,
  chunkBytes: number,
  options = { workers: 2, sliceBytes: 64 * 1024 },
): Promise<Uint8Array[]> {
  const outputs: Uint8Array[] = [];
  const compressor = new Compressor(spec, async (chunk) => {
    await new Promise((resolve) => setTimeout(resolve, 0));
    outputs.push(chunk);
  }, options);
  for (let at = 0; at < input.length; at += chunkBytes) {
    await compressor.write(input.slice(at, at + chunkBytes));
  }
  await compressor.end();
  return outputs;
}

Deno.test("Compressor with zstd writes one frame per slice, which zstd -dc reads whole", async () => {
  const input = sampleText(1_000_003);
  const outputs = await compressAs({ format: "zstd", level: 3 }, input, 50_000);
  assert.ok(outputs.length >= 15, `expected one frame per 64 KiB slice, got ${outputs.length}`);
  const zst = concat(outputs);
  assert.deepEqual([...zst.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd]);
  assert.deepEqual(await decompressWith("zstd", ["-dc"], zst), input);
  // the frames carry content checksums, which `zstd -t` checks
  assert.deepEqual(await decompressWith("zstd", ["-t", "-q"], zst), new Uint8Array(0));
});

Deno.test("Compressor with zstd compresses harder at a higher level, and keeps order with one worker", async () => {
  const input = sampleText(700_000);
  const options = { workers: 1, sliceBytes: 32 * 1024 };
  const fast = concat(await compressAs({ format: "zstd", level: 1 }, input, 300_000, options));
  const small = concat(await compressAs({ format: "zstd", level: 19 }, input, 300_000, options));
  assert.ok(small.length < fast.length, `level 19: ${small.length}, level 1: ${fast.length}`);
  assert.deepEqual(await decompressWith("zstd", ["-dc"], small), input);
});

Deno.test("Compressor makes a valid zstd file of an empty input", async () => {
  const zst = concat(await compressAs({ format: "zstd" }, new Uint8Array(0), 1));
  assert.ok(zst.length > 0);
  assert.deepEqual(await decompressWith("zstd", ["-dc"], zst), new Uint8Array(0));
});

Deno.test("Compressor with none hands on the input as it is, in slices, starting no worker", async () => {
  const input = sampleText(300_000);
  const outputs = await compressAs({ format: "none" }, input, 7_000);
  assert.deepEqual(outputs.map((o) => o.length), [65536, 65536, 65536, 65536, 37856]);
  assert.deepEqual(concat(outputs), input);
  assert.deepEqual(await compressAs({ format: "none" }, new Uint8Array(0), 1), []);
});

Deno.test("Compressor with none holds back writes while its output is not taken", async () => {
  let release: (() => void) | undefined;
  const compressor = new Compressor({ format: "none" }, async () => {
    if (release === undefined) await new Promise<void>((r) => release = r);
  }, { sliceBytes: 16 * 1024 });
  const input = sampleText(16 * 1024);
  let accepted = 0;
  const writing = (async () => {
    for (let i = 0; i < 40; i++) {
      await compressor.write(input);
      accepted++;
    }
  })();
  while (release === undefined) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(accepted <= 4, `accepted ${accepted} slices while the sink was stuck`);
  release();
  await writing;
  await compressor.end();
  assert.equal(accepted, 40);
});
