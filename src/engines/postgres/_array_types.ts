/**
 * The array types catalog queries return, parsed the same way on every connection. Our
 * connections do not let postgres.js fetch array types at connect time (`fetch_types: false`:
 * no extra round trip per connection and lane, and no parsing that depends on what the server's
 * `pg_type` holds), so without this table every array column arrives as its text (`{1,2}`) and a
 * reader written against a client that did fetch them (a test's) breaks on a real dump. Elements
 * parse as postgres.js parses the scalar type: `int2`, `int4`, `oid`, `float4`, `float8` as
 * numbers, `bool` as booleans, everything else (`int8`, `name`, `text`, `aclitem`, `"char"`,
 * `reg*`) as strings. `int2vector` and `oidvector`, which postgres.js never parses, become
 * arrays of numbers.
 *
 * `tests/engines/postgres/catalog_arrays_test.ts` lists every array-typed column that the
 * catalog readers' queries return and fails on one whose type is not here.
 */
import { type ElementParser, parseArrayLiteral, parseVector } from "./_array_literal.ts";

const asNumber: ElementParser = (s) => +s;
const asBoolean: ElementParser = (s) => s === "t";
const asString: ElementParser = (s) => s;

/** One array type: its name, oid and how its elements are read. */
export interface ArrayType {
  name: string;
  oid: number;
  element: ElementParser;
}

/** Built-in array types (fixed oids since PostgreSQL 8) that system catalogs and their functions use. */
export const CATALOG_ARRAY_TYPES: readonly ArrayType[] = [
  { name: "_bool", oid: 1000, element: asBoolean },
  { name: "_char", oid: 1002, element: asString },
  { name: "_name", oid: 1003, element: asString },
  { name: "_int2", oid: 1005, element: asNumber },
  { name: "_int2vector", oid: 1006, element: parseVector },
  { name: "_int4", oid: 1007, element: asNumber },
  { name: "_regproc", oid: 1008, element: asString },
  { name: "_text", oid: 1009, element: asString },
  { name: "_oidvector", oid: 1013, element: parseVector },
  { name: "_bpchar", oid: 1014, element: asString },
  { name: "_varchar", oid: 1015, element: asString },
  { name: "_int8", oid: 1016, element: asString },
  { name: "_float4", oid: 1021, element: asNumber },
  { name: "_float8", oid: 1022, element: asNumber },
  { name: "_oid", oid: 1028, element: asNumber },
  { name: "_aclitem", oid: 1034, element: asString },
  { name: "_regprocedure", oid: 2207, element: asString },
  { name: "_regoper", oid: 2208, element: asString },
  { name: "_regoperator", oid: 2209, element: asString },
  { name: "_regclass", oid: 2210, element: asString },
  { name: "_regtype", oid: 2211, element: asString },
  { name: "_regconfig", oid: 3735, element: asString },
  { name: "_regdictionary", oid: 3770, element: asString },
  { name: "_regnamespace", oid: 4090, element: asString },
  { name: "_regrole", oid: 4097, element: asString },
  { name: "_regcollation", oid: 4192, element: asString },
];

/** The vector types: `int2vector` and `oidvector`. */
export const VECTOR_TYPES: readonly { name: string; oid: number }[] = [
  { name: "int2vector", oid: 22 },
  { name: "oidvector", oid: 30 },
];

/** A postgres.js custom type: parses columns of the `from` oids. */
interface CustomType {
  to: number;
  from: number[];
  parse: (text: string) => unknown;
}

/** The postgres.js `types` option that parses every type above; see the module comment. */
export function catalogArrayTypes(): Record<string, CustomType> {
  const types: Record<string, CustomType> = {};
  for (const t of CATALOG_ARRAY_TYPES) {
    types[t.name] = { to: t.oid, from: [t.oid], parse: (s) => parseArrayLiteral(s, t.element) };
  }
  for (const t of VECTOR_TYPES) types[t.name] = { to: t.oid, from: [t.oid], parse: parseVector };
  return types;
}
