import assert from "node:assert/strict";
import { BackendKeyReader, cancelRequest } from "../../../src/engines/postgres/_cancel.ts";

/** One backend message: type byte, int32 length (itself included), body. */
function message(type: string, body: number[] = []): number[] {
  const length = 4 + body.length;
  return [
    type.charCodeAt(0),
    (length >>> 24) & 255,
    (length >>> 16) & 255,
    (length >>> 8) & 255,
    length & 255,
    ...body,
  ];
}

function int32(value: number): number[] {
  return [(value >>> 24) & 255, (value >>> 16) & 255, (value >>> 8) & 255, value & 255];
}

const AUTH_OK = message("R", int32(0));
const PARAMETER = message("S", [...new TextEncoder().encode("TimeZone\0UTC\0")]);
const KEY = message("K", [...int32(4242), ...int32(-123456789)]);
const READY = message("Z", [0x49]);

Deno.test("BackendKeyReader finds the cancel key in the start-up messages, however they are cut", () => {
  const stream = [...AUTH_OK, ...PARAMETER, ...PARAMETER, ...KEY, ...READY];
  const cases: [string, number[][]][] = [
    ["one chunk", [stream]],
    ["byte by byte", stream.map((b) => [b])],
    ["cut inside the length", [stream.slice(0, 3), stream.slice(3)]],
    ["cut inside the key", [stream.slice(0, stream.length - 8), stream.slice(-8)]],
    ["after a refused SSLRequest", [[0x4e], stream]],
    ["refused SSLRequest in the same chunk", [[0x4e, ...stream]]],
  ];
  for (const [name, chunks] of cases) {
    const reader = new BackendKeyReader();
    for (const chunk of chunks) reader.feed(new Uint8Array(chunk));
    assert.deepEqual(reader.key, { pid: 4242, secret: -123456789 }, name);
    assert.equal(reader.reading, false, name);
  }
});

Deno.test("BackendKeyReader gives up on TLS, at ReadyForQuery without a key, and on garbage", () => {
  const cases: [string, number[][]][] = [
    ["TLS accepted", [[0x53], [0x16, 3, 1, 0, 200]]],
    ["no key before ReadyForQuery", [[...AUTH_OK, ...READY, ...KEY]]],
    ["a length that is no message", [[0x52, 0xff, 0xff, 0xff, 0xff]]],
  ];
  for (const [name, chunks] of cases) {
    const reader = new BackendKeyReader();
    for (const chunk of chunks) reader.feed(new Uint8Array(chunk));
    assert.equal(reader.key, undefined, name);
    assert.equal(reader.reading, false, name);
  }
});

Deno.test("cancelRequest() is the 16-byte CancelRequest packet", () => {
  assert.deepEqual(
    [...cancelRequest({ pid: 4242, secret: -2 })],
    [0, 0, 0, 16, 4, 210, 22, 46, ...int32(4242), 255, 255, 255, 254],
  );
});
