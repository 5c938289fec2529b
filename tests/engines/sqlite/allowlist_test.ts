import assert from "node:assert/strict";
import { firstWords, isAllowedStatement } from "../../../src/engines/sqlite/_allowlist.ts";

Deno.test("isAllowedStatement() accepts every kind of statement our dumps write", () => {
  const ours: [string, boolean][] = [
    ["PRAGMA foreign_keys=OFF", true],
    ["PRAGMA page_size=4096", true],
    ["PRAGMA auto_vacuum=2", true],
    ["PRAGMA encoding='UTF-16le'", true],
    ["PRAGMA encoding='UTF-8'", true],
    ["PRAGMA user_version=-7", true],
    ["PRAGMA application_id=4242", true],
    ["PRAGMA journal_mode=WAL", true],
    ["PRAGMA writable_schema=ON", true],
    ["PRAGMA writable_schema=RESET", true],
    ["BEGIN TRANSACTION", true],
    ["COMMIT", true],
    ['CREATE TABLE "t"(a INTEGER PRIMARY KEY, b TEXT)', true],
    ["CREATE TABLE IF NOT EXISTS sqlite_stat4(tbl,idx,neq,nlt,ndlt,sample)", true],
    ["CREATE UNIQUE INDEX i ON t(b)", true],
    ["CREATE INDEX i2 ON t(b) WHERE b IS NOT NULL", true],
    ["CREATE VIEW v AS SELECT * FROM t", true],
    ["CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END", true],
    ["CREATE VIRTUAL TABLE f USING fts5(body)", true],
    ['INSERT INTO "t"("a","b") VALUES(1,\'x\'),(2,CAST(X\'00\' AS TEXT))', false],
    ["INSERT OR REPLACE INTO \"f_config\"(k,v) VALUES('rank','bm25(10.0)')", true],
    [
      "INSERT INTO sqlite_schema(type,name,tbl_name,rootpage,sql) VALUES('table','x','x',0,'')",
      false,
    ],
    ['DELETE FROM "f_data"', true],
    ["DELETE FROM sqlite_sequence", true],
    ["UPDATE sqlite_schema SET sql='CREATE TABLE t(a)' WHERE type='table' AND name='t'", true],
    ["ANALYZE sqlite_schema", true],
    ["DROP TABLE IF EXISTS sqlite_stat4", true],
    ['ALTER TABLE "t" RENAME COLUMN rowid TO backup_manager_rowid', true],
    ['REINDEX "i"', true],
    ["-- only a comment", true],
    ["/* only a comment */", true],
  ];
  for (const [sql, whole] of ours) assert.equal(isAllowedStatement(sql, whole), true, sql);
});

Deno.test("isAllowedStatement() refuses what reaches outside the file and what our dumps never write", () => {
  const foreign: [string, boolean][] = [
    ["ATTACH DATABASE '/tmp/x.db' AS x", true],
    ["attach '/tmp/x.db' as x", true],
    ["DETACH x", true],
    ["VACUUM INTO '/tmp/copy.db'", true],
    ["VACUUM", true],
    ["SELECT load_extension('/tmp/evil.so')", true],
    ["WITH x AS (SELECT 1) SELECT * FROM x", true],
    ["PRAGMA temp_store_directory='/tmp'", true],
    ["PRAGMA main.journal_mode=WAL", true],
    ["PRAGMA journal_mode=DELETE", true],
    ["PRAGMA journal_mode", true],
    ["PRAGMA writable_schema=ON", false], // a PRAGMA is judged only whole
    ["PRAGMA user_version=7 /* and more */ , 8", true],
    ["CREATE TEMP TABLE t(a)", true],
    ["UPDATE t SET a=1", true],
    ["ANALYZE t", true],
    ["DROP TABLE t", true],
    ["DROP TABLE IF EXISTS sqlite_stat4 ", false],
    ["ROLLBACK", true],
    ["SAVEPOINT a", true],
    ["REPLACE INTO t VALUES(1)", true],
    ["/* c */ ATTACH /* d */ DATABASE 'x' AS y", true],
  ];
  for (const [sql, whole] of foreign) assert.equal(isAllowedStatement(sql, whole), false, sql);
});

Deno.test("firstWords() quotes a statement's beginning for a message", () => {
  const cases: [string, boolean, string][] = [
    ["ATTACH DATABASE '/some/path.db' AS x", true, "ATTACH DATABASE '/some/path.db' AS x"],
    ["VACUUM   INTO\n'/p'", true, "VACUUM INTO '/p'"],
    ["ATTACH DATABASE", false, "ATTACH DATABASE …"],
    [
      "SELECT load_extension('/a/very/long/path/to/some/evil/library.so')",
      true,
      "SELECT load_extension('/a/very/long/path …",
    ],
  ];
  for (const [head, whole, expected] of cases) assert.equal(firstWords(head, whole), expected);
});
