/**
 * What listings and health count of a backup with parts, table by table: the parts' summaries,
 * total rows, stored and raw sizes, and the SQL size the size-anomaly rule compares.
 */
import assert from "node:assert/strict";
import type { BackupMeta } from "../../src/core/backup_file.ts";
import {
  partSummaries,
  recordedRawSize,
  recordedSize,
  sqlRawSize,
  totalRows,
} from "../../src/core/parts_summary.ts";

type Part = NonNullable<BackupMeta["parts"]>[number];

const file = (name: string, sha256 = "ab".repeat(32)) =>
  ({
    name,
    sha256,
    compression: "gzip",
  }) as BackupMeta["file"];

function meta(raw: number, compressed: number, rows: number, parts?: Part[]): BackupMeta {
  return {
    id: "full_20261203T020000000Z",
    file: file("full_20261203T020000000Z.sql.gz"),
    sizes: { raw, compressed },
    totals: { tables: 1, rows },
    ...(parts ? { parts } : {}),
  } as unknown as BackupMeta;
}

const db = (name: string, raw: number, compressed: number, rows: number): Part =>
  ({
    kind: "database",
    name,
    file: file(`full_20261203T020000000Z.db-${name}.sql.gz`),
    sizes: { raw, compressed },
    totals: { tables: 2, rows },
  }) as unknown as Part;

const files = (raw: number, compressed: number, entries: number): Part =>
  ({
    kind: "files",
    name: "files",
    file: { ...file("full_20261203T020000000Z.files.tar.gz"), encryption: { format: "age" } },
    sizes: { raw, compressed },
    entries,
  }) as unknown as Part;

Deno.test("sizes and rows of a backup count every part; the SQL size leaves the files out", () => {
  const cases: {
    name: string;
    meta: BackupMeta;
    rows: number;
    stored: number;
    raw: number;
    sql: number;
  }[] = [
    {
      name: "a main file alone",
      meta: meta(1000, 100, 7),
      rows: 7,
      stored: 100,
      raw: 1000,
      sql: 1000,
    },
    {
      name: "a server backup: globals and two databases",
      meta: meta(300, 30, 0, [db("app", 5000, 500, 40), db("billing", 2000, 200, 10)]),
      rows: 50,
      stored: 730,
      raw: 7300,
      sql: 7300,
    },
    {
      name: "a database with files beside",
      meta: meta(1000, 100, 7, [files(90_000, 80_000, 12)]),
      rows: 7,
      stored: 80_100,
      raw: 91_000,
      sql: 1000,
    },
  ];
  for (const c of cases) {
    assert.equal(totalRows(c.meta), c.rows, c.name);
    assert.equal(recordedSize(c.meta), c.stored, c.name);
    assert.equal(recordedRawSize(c.meta), c.raw, c.name);
    assert.equal(sqlRawSize(c.meta), c.sql, c.name);
  }
});

Deno.test("partSummaries() tells each part's kind, key, sizes and contents", () => {
  const summaries = partSummaries(meta(300, 30, 0, [db("app", 5000, 500, 40), files(9, 8, 3)]));
  assert.deepEqual(summaries, [
    {
      kind: "database",
      name: "app",
      key: "full_20261203T020000000Z.db-app.sql.gz",
      size: 500,
      sizeRaw: 5000,
      sha256: "ab".repeat(32),
      encrypted: false,
      tables: 2,
      rows: 40,
    },
    {
      kind: "files",
      name: "files",
      key: "full_20261203T020000000Z.files.tar.gz",
      size: 8,
      sizeRaw: 9,
      sha256: "ab".repeat(32),
      encrypted: true,
      entries: 3,
    },
  ]);
  assert.deepEqual(partSummaries(meta(1, 1, 1)), []);
});
