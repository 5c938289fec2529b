/**
 * A SQLite database that exercises everything a dump must carry over exactly: every kind of table
 * and schema object, the settings kept in the file header, and values at the edges of each type.
 */
import { DatabaseSync } from "node:sqlite";

/** Words the full-text tables hold; queries in tests and comparisons use them. */
export const FIXTURE_FTS_QUERIES = [
  "alpha",
  "beta",
  "gamma OR delta",
  "alp*",
  '"alpha beta"',
  "NEAR(alpha gamma, 3)",
  "zeta NOT eta",
  "émigré",
];

/** Tables of the fixture that hold a REAL -0.0 (column, table), for tests that check the sign. */
export const NEGATIVE_ZERO_CELLS = [
  { table: "value_zoo", column: "v", where: "label = 'real -0.0'" },
  { table: "strict_things", column: "a", where: "id = 3" },
  { table: "no_rowid", column: "v", where: "k = 'negative zero'" },
];

/**
 * Creates the fixture database at `path` (which must not exist): page size 8192, incremental
 * auto-vacuum, WAL journal, `user_version` and `application_id` set, and `ANALYZE` run last.
 */
export function createFixtureDatabase(path: string): void {
  const db = new DatabaseSync(path);
  try {
    // File-format settings first: they only take effect before the first table exists.
    db.exec(`
      PRAGMA page_size = 8192;
      PRAGMA auto_vacuum = INCREMENTAL;
      PRAGMA journal_mode = WAL;
      PRAGMA user_version = 20260314;
      PRAGMA application_id = -559038737;
    `);
    db.exec("BEGIN");
    createTables(db);
    fillValueZoo(db);
    fillOrdinaryTables(db);
    fillFullTextAndRtree(db);
    db.exec("COMMIT");
    db.exec("ANALYZE");
  } finally {
    db.close();
  }
}

function createTables(db: DatabaseSync): void {
  db.exec(`
    -- A rowid table without an alias: rowids must survive, gaps included.
    CREATE TABLE plain (a, b TEXT, c REAL, d BLOB, e NUMERIC);
    CREATE TABLE with_ipk (id INTEGER PRIMARY KEY, v);
    -- Not a rowid alias (DESC): the rowid is separate from id.
    CREATE TABLE with_ipk_desc (id INTEGER PRIMARY KEY DESC, v);
    CREATE TABLE counters (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT);
    CREATE TABLE no_rowid (k TEXT PRIMARY KEY, v, n INTEGER) WITHOUT ROWID;
    CREATE TABLE rowid_column (rowid TEXT, x);
    CREATE TABLE strict_things (id INTEGER PRIMARY KEY, i INTEGER, r REAL, t TEXT, b BLOB, a ANY)
      STRICT;
    CREATE TABLE strict_no_rowid (k INTEGER PRIMARY KEY, a ANY) STRICT, WITHOUT ROWID;
    CREATE TABLE value_zoo (id INTEGER PRIMARY KEY, label TEXT NOT NULL, v);
    CREATE TABLE "odd ""name"" 'x' ]" (
      "col ""1""" TEXT, "select" INTEGER, "ünï çødé 🎉" BLOB, [from] TEXT, "a;b" TEXT
    );
    CREATE TABLE "order" ("group", "where" TEXT, "😀" REAL);
    CREATE TABLE generated (
      a INTEGER,
      b INTEGER,
      total INTEGER GENERATED ALWAYS AS (a + b) STORED,
      label TEXT AS (a || '-' || b) VIRTUAL
    );
    CREATE TABLE log (id INTEGER PRIMARY KEY, msg TEXT);
    CREATE TABLE docs (doc_id INTEGER PRIMARY KEY, title TEXT, body TEXT);

    CREATE INDEX plain_b ON plain (b);
    CREATE INDEX plain_partial ON plain (a) WHERE a IS NOT NULL AND typeof(a) = 'integer';
    CREATE INDEX plain_expression ON plain (lower(b), length(d));
    CREATE UNIQUE INDEX counters_name ON counters (name);
    CREATE INDEX "odd index ""q""" ON "odd ""name"" 'x' ]" ("select" DESC, [from]);

    CREATE VIEW totals AS SELECT a, b, total FROM generated WHERE total > 0;
    CREATE VIEW big_totals AS SELECT a, total FROM totals WHERE total > 10;

    -- A CASE ... END; inside the body must not end the statement.
    CREATE TRIGGER counters_insert AFTER INSERT ON counters
    BEGIN
      INSERT INTO log (msg) VALUES (CASE WHEN new.name LIKE '%;%' THEN 'semi; END;'
        ELSE 'plain' END);
    END;
    CREATE TRIGGER counters_rename AFTER UPDATE OF name ON counters WHEN old.name <> new.name
    BEGIN
      INSERT INTO log (msg) VALUES ('renamed ' || old.name);
      UPDATE log SET msg = msg || ' -> ' || new.name WHERE id = last_insert_rowid();
      DELETE FROM log WHERE msg IS NULL;
    END;
    CREATE TRIGGER docs_insert AFTER INSERT ON docs BEGIN
      INSERT INTO docs_fts (rowid, title, body) VALUES (new.doc_id, new.title, new.body);
    END;

    CREATE VIRTUAL TABLE notes USING fts5 (title, body);
    CREATE VIRTUAL TABLE docs_fts USING fts5 (title, body, content = 'docs',
      content_rowid = 'doc_id');
    -- Contentless; "search_ranked" below shares its prefix.
    CREATE VIRTUAL TABLE search USING fts5 (body, content = '');
    CREATE VIRTUAL TABLE search_ranked USING fts5 (title, body);
    INSERT INTO search_ranked (search_ranked, rank) VALUES ('rank', 'bm25(10.0, 5.0)');
    CREATE VIRTUAL TABLE legacy USING fts4 (title, body);
    CREATE VIRTUAL TABLE legacy_contentless USING fts4 (body, content='');
    CREATE VIRTUAL TABLE legacy_languages USING fts4 (body, languageid=lid);
    CREATE VIRTUAL TABLE boxes USING rtree (id, min_x, max_x, min_y, max_y);

    -- Schema text stored as written up to the ";": a trailing comment, its line end, blanks.
    CREATE TABLE strict_commented (a INT, -- the key
      b TEXT DEFAULT '--') STRICT -- trailing
    ;
    CREATE INDEX strict_commented_b ON strict_commented (b) /* why */  ;
    -- CRLF line ends in every kind of object (the stock shell drops each CR before an LF).
    CREATE TABLE crlf (\r\n  a TEXT DEFAULT 'x\r\ny',\r\n  b\r\n);
    CREATE INDEX crlf_a ON crlf (\r\n  a\r\n) WHERE a <> 'x\r\ny'\r\n;
    CREATE VIEW crlf_view AS\r\nSELECT a\r\nFROM crlf -- c\r\n;
    CREATE TRIGGER crlf_insert AFTER INSERT ON crlf\r\nBEGIN\r\n  SELECT 1;\r\nEND;
    -- Columns take every name of the rowid: no SQL reads it; rows keep their order.
    CREATE TABLE all_rowid_names (rowid TEXT, oid, _rowid_, v);
    CREATE INDEX all_rowid_names_v ON all_rowid_names (v);
  `);
  // The last statement of a script keeps its trailing comment without a line end.
  db.exec("CREATE INDEX crlf_b ON crlf (b) -- no line end");
}

/** Every edge value in an untyped column (which keeps each value's type as it is). */
function fillValueZoo(db: DatabaseSync): void {
  const insert = db.prepare("INSERT INTO value_zoo (label, v) VALUES (?, ?)");
  const values: [string, unknown][] = [
    ["null", null],
    ["int 0", 0n],
    ["int min", -9223372036854775808n],
    ["int max", 9223372036854775807n],
    ["int min + 1", -9223372036854775807n],
    ["int 2^53 - 1", 9007199254740991n],
    ["int 2^53", 9007199254740992n],
    ["int 2^53 + 1", 9007199254740993n],
    ["int -(2^53 + 1)", -9007199254740993n],
    ["real 0.0", 0.0],
    ["real -0.0", -0],
    ["real min subnormal", 5e-324],
    ["real -min subnormal", -5e-324],
    ["real subnormal", 2.225073858507201e-308],
    ["real min normal", 2.2250738585072014e-308],
    ["real max", Number.MAX_VALUE],
    ["real -max", -Number.MAX_VALUE],
    ["real +inf", Infinity],
    ["real -inf", -Infinity],
    ["real 0.1", 0.1],
    ["real 1/3", 1 / 3],
    ["real 2^53", 2 ** 53],
    ["real 2^63", 2 ** 63],
    ["real 1e16", 1e16],
    ["real tiny", 1.2345678901234567e-300],
    ["text empty", ""],
    ["text quotes", `it's "quoted" and ''doubled''`],
    ["text newlines", "line 1\nline 2\r\nline 3\rline 4\n"],
    ["text sql", "x'); DROP TABLE plain; -- /* ; END; */"],
    ["text emoji", "🎉👩‍👩‍👧‍👦 flags 🇳🇴"],
    ["text combining", "e\u0301 a\u0308 n\u0303"],
    ["text rtl", "שלום עולם مرحبا"],
    ["text leading dot", "\n.tables\n#comment\n"],
    ["text backslash", "C:\\path\\x00\\n"],
    ["blob empty", new Uint8Array(0)],
    ["blob nul", new Uint8Array([0])],
    ["blob bytes", new Uint8Array([0, 1, 2, 0xff, 0, 0x27, 0x22, 0x3b])],
  ];
  for (const [label, value] of values) insert.run(label, value as null);
  // Text that bound parameters cannot carry: NUL characters and invalid UTF-8.
  db.exec(`
    INSERT INTO value_zoo (label, v) VALUES
      ('text nul inside', CAST(X'610062' AS TEXT)),
      ('text nul first', CAST(X'00616263' AS TEXT)),
      ('text nul last', CAST(X'61626300' AS TEXT)),
      ('text only nul', CAST(X'00' AS TEXT)),
      ('text nul and quote', CAST(X'27002722' AS TEXT)),
      ('text invalid utf-8', CAST(X'ff61fe' AS TEXT)),
      ('text invalid utf-8 with quote', CAST(X'c327ff' AS TEXT)),
      ('text lone continuation', CAST(X'80' AS TEXT));
  `);
  const random = seededRandom(20260314);
  const bits = new Uint32Array(2);
  const asDouble = new Float64Array(bits.buffer);
  for (let i = 0; i < 400; i++) {
    bits[0] = random();
    bits[1] = random();
    if (Number.isNaN(asDouble[0])) continue; // SQLite stores NaN as NULL
    insert.run(`real random ${i}`, asDouble[0]);
  }
}

function fillOrdinaryTables(db: DatabaseSync): void {
  // A dropped AUTOINCREMENT table leaves a gap in the rowids of sqlite_sequence.
  db.exec(`
    CREATE TABLE gone (id INTEGER PRIMARY KEY AUTOINCREMENT);
    INSERT INTO gone DEFAULT VALUES;
    DROP TABLE gone;
    INSERT INTO crlf (a, b) VALUES ('x\r\ny', 1), ('x\ny', 2), (NULL, 3);
    INSERT INTO strict_commented (a, b) VALUES (1, '-- x'), (2, NULL);
    INSERT INTO all_rowid_names VALUES ('a', 1, 1.5, 'one'), ('b', 2, NULL, 'two'),
      ('c', 3, 3.5, 'three');
    DELETE FROM all_rowid_names WHERE oid = 2;
  `);
  const plain = db.prepare("INSERT INTO plain (rowid, a, b, c, d, e) VALUES (?, ?, ?, ?, ?, ?)");
  for (let i = 1; i <= 60; i++) {
    plain.run(i, i % 7 ? i * 3 : null, `row ${i}`, i / 8, new Uint8Array([i, 0, i]), `${i}.50`);
  }
  plain.run(-7, "negative rowid", "neg", -0.5, null, "abc");
  plain.run(4611686018427387904n, "huge rowid", "HUGE", 1.5, new Uint8Array(0), 12);
  db.exec("DELETE FROM plain WHERE rowid % 5 = 0 OR rowid BETWEEN 31 AND 39");
  // Zeros in a column that keeps -0.0: these rows take the dump's row-by-row path.
  db.exec("INSERT INTO plain (rowid, a) VALUES (70, -0.0), (71, 0.0), (72, 0)");

  db.exec(`
    INSERT INTO with_ipk (id, v) VALUES (1, 'one'), (2, 2.5), (10, X'0a'), (-3, NULL),
      (9223372036854775807, 'max id');
    INSERT INTO with_ipk_desc (id, v) VALUES (5, 'five'), (3, 'three'), (1, 'one');
    DELETE FROM with_ipk_desc WHERE id = 3;
    INSERT INTO with_ipk_desc (id, v) VALUES (7, 'seven');

    INSERT INTO counters (name) VALUES ('a'), ('b;c'), ('d'), ('e');
    DELETE FROM counters WHERE name IN ('d', 'e');
    UPDATE counters SET name = 'a2' WHERE name = 'a';

    INSERT INTO no_rowid (k, v, n) VALUES ('b', 1.5, 2), ('a', X'00ff', NULL),
      ('negative zero', -0.0, 0), ('zero', 0.0, 1), ('text', 'x''y', -1);

    INSERT INTO rowid_column (rowid, x) VALUES ('not the rowid', 1), ('second', 2), ('third', 3);
    DELETE FROM rowid_column WHERE x = 2;

    INSERT INTO strict_things (id, i, r, t, b, a) VALUES
      (1, -9223372036854775808, -0.0, 'strict', X'', 'any text'),
      (2, 9223372036854775807, 5e-324, '', X'00', 42),
      (3, 0, 1e308, CAST(X'610062' AS TEXT), NULL, -0.0),
      (4, NULL, NULL, NULL, NULL, 0.0),
      (5, 1, 2.5, 'x', X'01', X'0102');

    INSERT INTO strict_no_rowid (k, a) VALUES (1, -0.0), (2, 'two'), (3, 3.25), (4, X'');

    INSERT INTO "odd ""name"" 'x' ]" ("col ""1""", "select", "ünï çødé 🎉", [from], "a;b")
      VALUES ('v''1', 1, X'00', 'from', ';'), ('"', 2, NULL, ']', 'END;'), (NULL, NULL, NULL,
      NULL, NULL);
    INSERT INTO "order" ("group", "where", "😀") VALUES (1, 'where', 0.5), ('g', NULL, -1);

    INSERT INTO generated (a, b) VALUES (1, 2), (10, 20), (-5, 3), (NULL, 1);
  `);
}

function fillFullTextAndRtree(db: DatabaseSync): void {
  const texts = [
    ["Alpha and beta", "alpha beta gamma in one line"],
    ["Gamma", "gamma rays; delta waves"],
    ["Zeta", "zeta without eta, alpha far away from gamma"],
    ["Émigré", "an émigré café with ünïcödé"],
    ["Quotes", 'it\'s "quoted" -- not a comment'],
    ["Empty body", ""],
  ];
  const notes = db.prepare("INSERT INTO notes (rowid, title, body) VALUES (?, ?, ?)");
  const docs = db.prepare("INSERT INTO docs (doc_id, title, body) VALUES (?, ?, ?)");
  const search = db.prepare("INSERT INTO search (rowid, body) VALUES (?, ?)");
  const ranked = db.prepare("INSERT INTO search_ranked (rowid, title, body) VALUES (?, ?, ?)");
  const legacy = db.prepare("INSERT INTO legacy (docid, title, body) VALUES (?, ?, ?)");
  const contentless = db.prepare(
    "INSERT INTO legacy_contentless (docid, body) VALUES (?, ?)",
  );
  const languages = db.prepare(
    "INSERT INTO legacy_languages (docid, body, lid) VALUES (?, ?, ?)",
  );
  texts.forEach(([title, body], i) => {
    const id = i * 3 + 2; // gaps in the rowids
    notes.run(id, title, body);
    docs.run(id * 10, title, body);
    search.run(id, `${title} ${body}`);
    ranked.run(id, title, body);
    legacy.run(id, title, body);
    contentless.run(BigInt(id), body);
    languages.run(BigInt(id), body, BigInt(i % 3));
  });
  db.exec(`
    DELETE FROM notes WHERE rowid = 5;
    DELETE FROM legacy WHERE docid = 5;
    INSERT INTO notes (rowid, title, body) VALUES (100, NULL, 'alpha gamma');
    INSERT INTO boxes VALUES (1, 0.0, 1.5, -2.25, 3.0), (7, -1e10, 1e10, 0.1, 0.2),
      (3, -0.0, 0.0, 5, 5);
  `);
}

/** A small deterministic generator (mulberry32): the fixture is the same on every run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}
