import assert from "node:assert/strict";
import { isStrayWrite } from "../../../src/engines/postgres/_stray_write.ts";

function typeError(message: string, stack: string): TypeError {
  const error = new TypeError(message);
  error.stack = `TypeError: ${message}\n${stack}`;
  return error;
}

const LIBRARY_FRAME =
  "    at Immediate.nextWrite (file:///app/node_modules/.deno/postgres@3.4.9/node_modules/postgres/src/connection.js:255:22)";

Deno.test("isStrayWrite() matches only postgres.js's write on a closed connection's null socket", () => {
  const cases: [string, unknown, boolean][] = [
    [
      "the library's nextWrite",
      typeError("Cannot read properties of null (reading 'write')", LIBRARY_FRAME),
      true,
    ],
    [
      "Deno's immediate queue after that throw",
      typeError(
        "Cannot read properties of undefined (reading '_idleNext')",
        "    at runImmediates (ext:core/01_core.js:227:59)\n" +
          "    at runImmediateCallbacks (ext:core/01_core.js:505:7)",
      ),
      true,
    ],
    [
      "_idleNext elsewhere",
      typeError(
        "Cannot read properties of undefined (reading '_idleNext')",
        "    at runImmediates (file:///app/src/core/x.ts:1:1)",
      ),
      false,
    ],
    [
      "another property",
      typeError("Cannot read properties of null (reading 'end')", LIBRARY_FRAME),
      false,
    ],
    [
      "our own code",
      typeError(
        "Cannot read properties of null (reading 'write')",
        "    at nextWrite (file:///app/src/core/x.ts:1:1)",
      ),
      false,
    ],
    [
      "another library",
      typeError(
        "Cannot read properties of null (reading 'write')",
        "    at nextWrite (file:///app/node_modules/other/src/connection.js:1:1)",
      ),
      false,
    ],
    ["not a TypeError", new Error("Cannot read properties of null (reading 'write')"), false],
    ["not an error", "Cannot read properties of null (reading 'write')", false],
  ];
  for (const [name, error, expected] of cases) assert.equal(isStrayWrite(error), expected, name);
});
