import assert from "node:assert/strict";
import { type ColumnRow, columnSettings } from "../../../src/engines/postgres/_schema_columns.ts";

function column(compression: string): ColumnRow {
  return {
    relid: 1,
    attnum: 1,
    name: "f1",
    q: "f1",
    type: "text",
    notnull: false,
    islocal: true,
    identity: "",
    generated: "",
    defval: null,
    defoid: null,
    collation: null,
    stattarget: -1,
    storage: null,
    compression,
    options: null,
    fdwoptions: null,
    refs: null,
  };
}

const cases: { name: string; own: string; parents: string[]; expected: string[] }[] = [
  { name: "nothing for the default without parents", own: "", parents: [], expected: [] },
  { name: "its own compression", own: "lz4", parents: [""], expected: ["SET COMPRESSION lz4"] },
  { name: "nothing when the parents have the default", own: "", parents: [""], expected: [] },
  {
    name: "the default when a parent's column has one (a child takes it when created under it)",
    own: "",
    parents: ["", "pglz"],
    expected: ["SET COMPRESSION default"],
  },
];

for (const c of cases) {
  Deno.test(`columnSettings() writes ${c.name}`, () => {
    const sql = columnSettings("TABLE ONLY public.t", column(c.own), c.parents.map(column));
    assert.deepEqual(
      sql,
      c.expected.map((s) => `ALTER TABLE ONLY public.t ALTER COLUMN f1 ${s};`),
    );
  });
}
