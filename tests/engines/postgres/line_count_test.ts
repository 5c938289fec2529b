import assert from "node:assert/strict";
import { countNewlines } from "../../../src/engines/postgres/_line_count.ts";

const encoder = new TextEncoder();

/** The plain count, to compare against. */
function naive(bytes: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (bytes[i] === 0x0a) n++;
  return n;
}

const cases: { name: string; text: string }[] = [
  { name: "an empty text", text: "" },
  { name: "no newline", text: "SELECT 1;" },
  { name: "only newlines", text: "\n\n\n\n\n\n\n\n\n" },
  { name: "newlines next to zero bytes and 0x0b", text: "a\n\0\n\v\n\x09\x0a\x8a\n" },
  { name: "rows of COPY data", text: "1\tone\n2\ttwo\n3\tthree\n".repeat(50) },
  { name: "multi-byte text", text: "é\nñ\n漢字\n🙂\n".repeat(7) },
];

for (const c of cases) {
  Deno.test(`countNewlines() counts ${c.name} at every alignment and range`, () => {
    const inner = encoder.encode(c.text);
    for (let shift = 0; shift < 4; shift++) {
      const bytes = new Uint8Array(inner.length + shift).subarray(shift);
      bytes.set(inner);
      for (let from = 0; from <= Math.min(bytes.length, 9); from++) {
        for (const to of [bytes.length, Math.max(from, bytes.length - 3), from]) {
          assert.equal(
            countNewlines(bytes, from, to),
            naive(bytes, from, to),
            `${shift} ${from} ${to}`,
          );
        }
      }
    }
  });
}

Deno.test("countNewlines() counts the whole array by default", () => {
  assert.equal(countNewlines(encoder.encode("a\nb\nc")), 2);
});
