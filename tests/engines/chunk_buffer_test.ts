import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { ChunkBuffer } from "../../src/engines/chunk_buffer.ts";

/** A sink that transfers what it gets, as the gzip worker does (detaching the buffer). */
function transferringSink(received: Uint8Array[]) {
  return (chunk: Uint8Array) => {
    received.push(structuredClone(chunk, { transfer: [chunk.buffer as ArrayBuffer] }));
    return Promise.resolve();
  };
}

Deno.test("ChunkBuffer hands the sink copies, never a buffer the writer still holds (node Buffers too)", async () => {
  const received: Uint8Array[] = [];
  const buffer = new ChunkBuffer(transferringSink(received), 4);
  // Two views of one node Buffer (whose slice() is a view), like rows in postgres.js's socket
  // buffer: the first is larger than a chunk and goes straight through; the second must stay
  // readable afterwards.
  const socket = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  await buffer.write(socket.subarray(0, 8));
  assert.equal(socket.byteLength, 10, "the writer's buffer was detached");
  await buffer.write(socket.subarray(8));
  const whole = new Uint8Array([11, 12, 13, 14, 15]);
  await buffer.write(whole);
  assert.deepEqual([...whole], [11, 12, 13, 14, 15]);
  await buffer.flush();
  assert.deepEqual(received.map((c) => [...c]), [[1, 2, 3, 4, 5, 6, 7, 8], [9, 10], [
    11,
    12,
    13,
    14,
    15,
  ]]);
  assert.equal(buffer.total, 15);
});
