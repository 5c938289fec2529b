/**
 * PostgreSQL array and vector text read into JavaScript arrays (`_array_literal.ts`), and the
 * types table that every connection registers (`_array_types.ts`).
 */
import assert from "node:assert/strict";
import {
  ArrayLiteralError,
  parseArrayLiteral,
  parseVector,
} from "../../../src/engines/postgres/_array_literal.ts";
import { catalogArrayTypes } from "../../../src/engines/postgres/_array_types.ts";

const asNumber = (s: string) => +s;

const CASES: { text: string; parse?: (s: string) => unknown; expected: unknown[] }[] = [
  { text: "{}", expected: [] },
  { text: "{1,2,0}", parse: asNumber, expected: [1, 2, 0] },
  { text: "{4294967295}", parse: asNumber, expected: [4294967295] },
  { text: "{a,NULL,b}", expected: ["a", null, "b"] },
  { text: '{"NULL"}', expected: ["NULL"], parse: (s) => s },
  { text: '{"a b","c,d","","x}y"}', expected: ["a b", "c,d", "", "x}y"] },
  { text: '{"say \\"hi\\"","back\\\\slash"}', expected: ['say "hi"', "back\\slash"] },
  {
    text: '{"\\"bm Writer\\"=r/postgres",=U/postgres}',
    expected: ['"bm Writer"=r/postgres', "=U/postgres"],
  },
  { text: "{{1,2},{3,4}}", parse: asNumber, expected: [[1, 2], [3, 4]] },
  { text: "{{},{}}", expected: [[], []] },
  { text: "[0:1]={1,2}", parse: asNumber, expected: [1, 2] },
  { text: "[1:1][0:1]={{a,b}}", expected: [["a", "b"]] },
  { text: "{héllo,日本}", expected: ["héllo", "日本"] },
];

Deno.test("parseArrayLiteral() reads every form the server writes", () => {
  for (const c of CASES) {
    assert.deepEqual(parseArrayLiteral(c.text, c.parse), c.expected, c.text);
  }
});

Deno.test("parseArrayLiteral() splits on the element type's delimiter", () => {
  assert.deepEqual(parseArrayLiteral("{(1,1),(0,0);(2,2),(1,1)}", undefined, ";"), [
    "(1,1),(0,0)",
    "(2,2),(1,1)",
  ]);
});

Deno.test("parseArrayLiteral() refuses malformed text in one line", () => {
  for (
    const [text, problem] of [
      ["1,2", 'expected "{"'],
      ["{1,2", "unterminated array"],
      ['{"a', "unterminated quoted element"],
      ["{1,,2}", "empty element"],
      ["{1}x", 'text after the closing "}"'],
      ["[0:1]{1}", 'dimensions without "="'],
    ]
  ) {
    assert.throws(
      () => parseArrayLiteral(text),
      (e: unknown) =>
        e instanceof ArrayLiteralError &&
        e.message === `Cannot read PostgreSQL array "${text}": ${problem}`,
      text,
    );
  }
});

Deno.test("parseVector() reads int2vector and oidvector text", () => {
  assert.deepEqual(parseVector(""), []);
  assert.deepEqual(parseVector("1"), [1]);
  assert.deepEqual(parseVector("3 1 -2 0"), [3, 1, -2, 0]);
});

Deno.test("catalogArrayTypes() parses elements as postgres.js parses the scalar type", () => {
  const types = catalogArrayTypes();
  const parse = (name: string, text: string) => types[name].parse(text);
  assert.deepEqual(parse("_oid", "{16384,0}"), [16384, 0]);
  assert.deepEqual(parse("_int2", "{1,-3}"), [1, -3]);
  assert.deepEqual(parse("_int8", "{9223372036854775807}"), ["9223372036854775807"]);
  assert.deepEqual(parse("_bool", "{t,f,NULL}"), [true, false, null]);
  assert.deepEqual(parse("_float8", "{1.5,NaN,-Infinity}"), [1.5, NaN, -Infinity]);
  assert.deepEqual(parse("_char", "{i,o,b}"), ["i", "o", "b"]);
  assert.deepEqual(parse("_int2vector", '{"1 2",""}'), [[1, 2], []]);
  assert.deepEqual(parse("int2vector", "1 2"), [1, 2]);
  assert.deepEqual(parse("oidvector", "23 25"), [23, 25]);
  for (const [name, t] of Object.entries(types)) {
    assert.deepEqual(t.from, [t.to], `${name} parses only its own oid`);
  }
});
