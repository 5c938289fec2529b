import assert from "node:assert/strict";
import {
  byteToCharIndex,
  failingPlace,
  firstLine,
} from "../../../src/engines/postgres/_load_steps.ts";
import { ErrorSniffer } from "../../../src/engines/postgres/_error_sniffer.ts";

const encoder = new TextEncoder();

/** Backend messages as the server sends them: CommandComplete for each tag, then an error. */
function wire(tags: string[], error?: string): Uint8Array {
  const message = (type: string, body: Uint8Array) => {
    const out = new Uint8Array(5 + body.length);
    out[0] = type.charCodeAt(0);
    new DataView(out.buffer).setInt32(1, 4 + body.length);
    out.set(body, 5);
    return out;
  };
  const parts = tags.map((tag) => message("C", encoder.encode(tag + "\0")));
  if (error) parts.push(message("E", encoder.encode(`SERROR\0C42P01\0M${error}\0\0`)));
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

/** A batch of statements and their places, as the restore worker joins them. */
function batch(statements: string[]) {
  let offset = 0;
  const places = statements.map((s, i) => {
    const place = { offset, number: 10 + i, line: 100 + 2 * i };
    offset += encoder.encode(s).length + 1;
    return place;
  });
  return { text: statements.join("\n") + "\n", places };
}

const { text, places } = batch([
  "CREATE TABLE s.é (a int);",
  "COMMENT ON TABLE s.é IS '🙂🙂';",
  "CREATE VIEW s.v AS SELECT x FROM s.missing;",
]);

Deno.test("failingPlace() takes the statement after those the server completed", () => {
  const sniffer = new ErrorSniffer();
  sniffer.feed(wire(["CREATE TABLE", "COMMENT"], "boom"));
  assert.equal(sniffer.completed, 2);
  const error = Object.assign(new Error("boom"), {});
  assert.deepEqual(failingPlace(text, error, { places, sniffer }), places[2]);
});

Deno.test("failingPlace() falls back to the error's position when the sniffer saw another error", () => {
  const sniffer = new ErrorSniffer();
  sniffer.feed(wire(["CREATE TABLE"], "something else"));
  const position = text.indexOf("s.missing") + 1;
  const error = Object.assign(new Error("relation does not exist"), { position: String(position) });
  assert.deepEqual(failingPlace(text, error, { places, sniffer }), places[2]);
  const early = Object.assign(new Error("x"), { position: String(text.indexOf("IS") + 1) });
  assert.deepEqual(failingPlace(text, early, { places }), places[1]);
});

Deno.test("failingPlace() knows nothing without places, or in a batch without a position", () => {
  assert.equal(failingPlace(text, new Error("x"), {}), undefined);
  assert.equal(failingPlace(text, new Error("x"), { places }), undefined);
  assert.deepEqual(failingPlace("SELECT 1;\n", new Error("x"), { places: [places[0]] }), places[0]);
});

Deno.test("byteToCharIndex() maps UTF-8 offsets to string indexes", () => {
  for (const p of places) {
    assert.equal(encoder.encode(text.slice(0, byteToCharIndex(text, p.offset))).length, p.offset);
  }
  assert.equal(byteToCharIndex("🙂a", 4), 2);
  assert.equal(byteToCharIndex("éa", 2), 1);
});

Deno.test("firstLine() trims and shortens a statement's first line", () => {
  assert.equal(firstLine("\n  CREATE VIEW v AS\n SELECT 1;"), "CREATE VIEW v AS");
  assert.equal(firstLine("x".repeat(200)), "x".repeat(117) + "...");
});
