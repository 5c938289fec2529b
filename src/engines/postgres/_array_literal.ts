/**
 * PostgreSQL's text form of arrays (`{1,2}`, `{"a b",NULL}`, `[0:1]={1,2}`) and of the two
 * vector types (`int2vector`, `oidvector`: `1 2 3`), read into JavaScript arrays. postgres.js
 * parses an array column only when it fetched the array types at connect time (`fetch_types`),
 * which our connections turn off, and never parses the vector types; `_array_types.ts`
 * registers these functions for the catalogs' array types on every connection instead.
 */

/** Reads one element's text (never called for `NULL`, which becomes `null`). */
export type ElementParser = (text: string) => unknown;

/** Whether an array literal is malformed; the message quotes it. */
export class ArrayLiteralError extends Error {
  constructor(text: string, problem: string) {
    super(`Cannot read PostgreSQL array "${text}": ${problem}`);
    this.name = "ArrayLiteralError";
  }
}

/**
 * Reads an array literal as the server writes it, with `parse` applied to each element (nested
 * arrays become nested JavaScript arrays; lower bounds such as `[0:1]=` are dropped, as
 * postgres.js does). `delimiter` is the element type's `typdelim` (`,` for all but `box`).
 */
export function parseArrayLiteral(
  text: string,
  parse: ElementParser = (s) => s,
  delimiter = ",",
): unknown[] {
  let i = 0;
  if (text.startsWith("[")) {
    i = text.indexOf("=") + 1;
    if (i === 0) throw new ArrayLiteralError(text, 'dimensions without "="');
  }
  if (text[i] !== "{") throw new ArrayLiteralError(text, 'expected "{"');
  const [result, end] = readArray(text, i, parse, delimiter);
  if (end !== text.length) throw new ArrayLiteralError(text, 'text after the closing "}"');
  return result;
}

/** Reads the array that starts with `{` at `start`; returns it and the index after its `}`. */
function readArray(
  text: string,
  start: number,
  parse: ElementParser,
  delimiter: string,
): [unknown[], number] {
  const items: unknown[] = [];
  let i = start + 1;
  if (text[i] === "}") return [items, i + 1];
  for (;;) {
    if (text[i] === "{") {
      const [inner, next] = readArray(text, i, parse, delimiter);
      items.push(inner);
      i = next;
    } else if (text[i] === '"') {
      let value = "";
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === "\\") i++;
        value += text[i++] ?? "";
      }
      if (i >= text.length) throw new ArrayLiteralError(text, "unterminated quoted element");
      i++;
      items.push(parse(value));
    } else {
      let end = i;
      while (end < text.length && text[end] !== delimiter && text[end] !== "}") end++;
      const value = text.slice(i, end);
      if (value === "") throw new ArrayLiteralError(text, "empty element");
      items.push(value === "NULL" ? null : parse(value));
      i = end;
    }
    if (text[i] === delimiter) i++;
    else if (text[i] === "}") return [items, i + 1];
    else throw new ArrayLiteralError(text, "unterminated array");
  }
}

/** Reads an `int2vector` or `oidvector` (`1 2 3`, empty for none) as numbers. */
export function parseVector(text: string): number[] {
  return text === "" ? [] : text.split(" ").map(Number);
}
