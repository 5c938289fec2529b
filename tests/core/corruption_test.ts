import assert from "node:assert/strict";
import { gzipSync, zstdCompressSync } from "node:zlib";
import {
  corruptionMessage,
  type DataFacts,
  diagnoseData,
  diagnoseSize,
  engineMismatchMessage,
  HEAD_BYTES,
  sqlHead,
  sqlOrigin,
} from "../../src/core/corruption.ts";

const SHA = "a".repeat(64);
const OTHER = "b".repeat(64);
const recorded = { size: 1000, sha256: SHA, engine: "sqlite" } as const;

const DIAGNOSES: [string, DataFacts, string, string][] = [
  [
    "an empty file",
    { recorded, actual: { size: 0 } },
    "empty",
    "is empty (0 bytes, the sidecar records 1000)",
  ],
  [
    "another backup's file, whatever its size",
    { recorded, actual: { size: 900, sha256: OTHER }, swappedWith: "full_20261123T101500000Z" },
    "swapped",
    `holds backup "full_20261123T101500000Z"'s data (files swapped)`,
  ],
  [
    "SQL without our header",
    { recorded, actual: { size: 1000, sha256: OTHER }, origin: "foreign" },
    "foreign",
    "is not a backup-manager dump (its SQL has no backup-manager header)",
  ],
  [
    "the other engine's dump",
    { recorded, actual: { size: 1200, sha256: OTHER }, origin: "postgres" },
    "other-engine",
    "holds a PostgreSQL dump, the sidecar describes a SQLite backup",
  ],
  [
    "a shorter file of our SQL",
    { recorded, actual: { size: 400, sha256: OTHER }, origin: "sqlite" },
    "truncated",
    "is truncated (400 of 1000 bytes)",
  ],
  [
    "a longer file whose first bytes match",
    { recorded, actual: { size: 1017, prefixSha256: SHA } },
    "appended",
    "has 17 bytes appended after its end (its first 1000 bytes match)",
  ],
  [
    "a longer file whose first bytes differ",
    { recorded, actual: { size: 1017, prefixSha256: OTHER } },
    "replaced",
    "is not the file the sidecar describes (1017 bytes, the sidecar records 1000)",
  ],
  [
    "a file of the same size with other bytes",
    { recorded, actual: { size: 1000, sha256: OTHER }, origin: "sqlite" },
    "damaged",
    "is damaged (bytes changed: 1000 bytes as recorded, but another SHA-256)",
  ],
  [
    "a file that does not decompress at all, same size",
    { recorded, actual: { size: 1000, sha256: OTHER } },
    "damaged",
    "is damaged (bytes changed: 1000 bytes as recorded, but another SHA-256)",
  ],
];

for (const [name, facts, kind, detail] of DIAGNOSES) {
  Deno.test(`diagnoseData() names ${name}`, () => {
    const diagnosis = diagnoseData(facts);
    assert.equal(diagnosis.kind, kind);
    assert.equal(diagnosis.detail, detail);
  });
}

Deno.test("diagnoseData() tells each kind apart: no two cases share a message", () => {
  const details = new Set(DIAGNOSES.map(([, facts]) => diagnoseData(facts).detail));
  assert.equal(details.size, DIAGNOSES.length - 1); // the last two are the same damage
});

Deno.test("corruptionMessage() is one line: what, which file, the damage, what to do", () => {
  assert.equal(
    corruptionMessage(
      "restore",
      "full_x",
      "full_x.sql.gz",
      diagnoseData({ recorded, actual: { size: 10 } }),
    ),
    'Cannot restore backup "full_x": its data file "full_x.sql.gz" is truncated (10 of 1000 bytes); an upload or copy stopped early; restore another backup',
  );
  assert.equal(
    corruptionMessage(
      "verify",
      "full_x",
      "full_x.sql.gz",
      diagnoseData({ recorded, actual: { size: 1005, prefixSha256: SHA } }),
    ),
    'Cannot verify backup "full_x": its data file "full_x.sql.gz" has 5 bytes appended after its end (its first 1000 bytes match); cut it to 1000 bytes, or restore another backup',
  );
});

const SIZES: [number, number, string | undefined][] = [
  [1000, 1000, undefined],
  [1000, 0, "is empty (0 bytes, the sidecar records 1000)"],
  [1000, 999, "is truncated (999 of 1000 bytes)"],
  [1000, 1001, "has 1 bytes more than the 1000 the sidecar records"],
];

for (const [want, have, detail] of SIZES) {
  Deno.test(`diagnoseSize() of ${have} bytes where ${want} are recorded`, () => {
    assert.equal(diagnoseSize(want, have)?.detail, detail);
  });
}

Deno.test("engineMismatchMessage() says which engine cannot take which", () => {
  assert.equal(
    engineMismatchMessage("restore", "full_x", "sqlite", "postgres"),
    'Cannot restore backup "full_x": a SQLite backup cannot restore into PostgreSQL (choose a PostgreSQL backup, or a SQLite --database)',
  );
  assert.match(
    engineMismatchMessage("restore", "full_x", "postgres", "sqlite"),
    /a PostgreSQL backup cannot restore into SQLite/,
  );
});

const SQLITE_START = "-- backup-manager SQLite dump\n-- Restore without backup-manager: x\n";
const POSTGRES_START = "--\n-- PostgreSQL database dump\n--\n\n" +
  '-- Dumped from database version 15.8\n-- Dumped by backup-manager (database "app")\n';
const PG_DUMP_START = "--\n-- PostgreSQL database dump\n--\n\n" +
  "-- Dumped from database version 15.8\n-- Dumped by pg_dump version 15.8\n";

const ORIGINS: [string, string, string][] = [
  ["our SQLite dump", SQLITE_START + "PRAGMA foreign_keys=OFF;\n", "sqlite"],
  ["our PostgreSQL dump", POSTGRES_START + "SET statement_timeout = 0;\n", "postgres"],
  ["a pg_dump file", PG_DUMP_START, "foreign"],
  ["sqlite3 .dump", "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n", "foreign"],
  ["empty text", "", "foreign"],
  ["our header further down", "\n" + SQLITE_START, "foreign"],
];

for (const [name, head, origin] of ORIGINS) {
  Deno.test(`sqlOrigin() of ${name} is ${origin}`, () => {
    assert.equal(sqlOrigin(head), origin);
  });
}

const big = new TextEncoder().encode(SQLITE_START + "INSERT INTO t VALUES (1);\n".repeat(50_000));
const HEADS: [string, Uint8Array, "gzip" | "zstd" | "none", boolean][] = [
  ["a whole gzip", gzipSync(big), "gzip", true],
  ["the start of a gzip", gzipSync(big).subarray(0, 512), "gzip", true],
  ["the start of a zstd frame", zstdCompressSync(big).subarray(0, 200), "zstd", true],
  ["uncompressed SQL", big, "none", true],
  ["random bytes as gzip", new Uint8Array(300).fill(7), "gzip", false],
  ["a gzip as zstd", gzipSync(big), "zstd", false],
  ["nothing", new Uint8Array(), "gzip", false],
];

for (const [name, bytes, format, readable] of HEADS) {
  Deno.test(`sqlHead() of ${name} ${readable ? "gives the SQL's start" : "is undefined"}`, () => {
    const head = sqlHead(bytes.subarray(0, HEAD_BYTES), format);
    if (readable) assert.equal(sqlOrigin(head!), "sqlite");
    else assert.equal(head, undefined);
  });
}

Deno.test("sqlHead() bounds what a small gzip bomb decompresses to", () => {
  const bomb = gzipSync(new Uint8Array(64 * 1024 * 1024));
  const head = sqlHead(bomb, "gzip");
  assert.ok(head === undefined || head.length <= 512);
});
