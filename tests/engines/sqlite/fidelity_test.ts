/**
 * SQLite fidelity to the last byte (issue 10, part D): schema text of every object kind exactly
 * as stored, planner statistics (`sqlite_stat1`, `sqlite_stat4`, an old `sqlite_stat3`), rowids
 * that no SQL can read, and the settings and shapes a demanding user expects, each through our
 * restore and through the stock shell, compared by the oracle (`sqlite_compare.ts`).
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { SqliteEngine } from "../../../src/engines/sqlite/sqlite_engine.ts";
import type { DumpOptions } from "../../../src/engines/engine.ts";
import {
  dotDumpCopy,
  roundTrip,
  schemaTexts,
  withTempDir,
} from "../../helpers/sqlite_round_trip.ts";

/**
 * Runs `setup` in a database, round trips it both ways and expects no difference; returns the
 * round trip for further checks.
 */
async function assertExact(dir: string, setup: string | ((db: DatabaseSync) => void)) {
  const trip = await roundTrip(dir, setup);
  assert.deepEqual(trip.ours, [], "our restore differs");
  assert.deepEqual(trip.stock, [], "the stock shell's restore differs");
  return trip;
}

/** Connection options of the bundled types lack `defensive` (Deno 2.9.6 has it). */
const NOT_DEFENSIVE = { defensive: false } as ConstructorParameters<typeof DatabaseSync>[1];

// --- Schema text, one test per object kind -------------------------------------------------

Deno.test("tables keep their text exactly: trailing comments after options, CRLF, tabs, quotes", async () => {
  await withTempDir(async (dir) => {
    const trip = await assertExact(
      dir,
      [
        // The case: with options the text runs to the `;`, its `-- comment` and line end.
        "CREATE TABLE strict_commented (a INT, -- the key\n b TEXT) STRICT -- strict\n;",
        // `--` inside a string: the old dump wrote `\n;` whenever the text held `--`.
        "CREATE TABLE dashes (a TEXT DEFAULT '--' PRIMARY KEY, b ANY) WITHOUT ROWID, STRICT;",
        "CREATE TABLE spaced (k PRIMARY KEY) WITHOUT ROWID   \t;",
        "CREATE TABLE blocked (k PRIMARY KEY) WITHOUT ROWID /* block */ ;",
        "CREATE TABLE crlf (\r\n  a TEXT DEFAULT 'x\r\ny', -- c\r\n  b\r\n)\r\n;",
        "CREATE TABLE crlf_strict (\r\n  a INT\r\n) STRICT -- c\r\n;",
        'CREATE TABLE\t"dq ""name"""\t(\t[br]\t, `bt`, \'sq\', "ünï 🎉" /* ☃ */);',
        // A STRICT table ending in a `--` comment with no line end (the last statement of exec).
        "CREATE TABLE last_strict (a INT) STRICT -- no line end",
      ].join("\n"),
    );
    const texts = schemaTexts(trip.original);
    assert.match(texts.get("strict_commented")!, /-- strict\n$/);
    assert.match(texts.get("last_strict")!, /-- no line end$/);
  });
});

Deno.test("indexes keep their text exactly: trailing comments and blanks, CRLF, expressions", async () => {
  await withTempDir(async (dir) => {
    await assertExact(
      dir,
      [
        'CREATE TABLE t (a, b TEXT, "c d");',
        "CREATE INDEX commented ON t (a) -- why\n;",
        "CREATE UNIQUE INDEX spaced ON t (b)   ;",
        'CREATE INDEX blocked ON t ("c d") /* c */;',
        "CREATE INDEX crlf ON t (\r\n  a,\r\n  b\r\n) WHERE b <> 'x\r\ny'\r\n;",
        "CREATE INDEX expr ON t (lower(b) COLLATE NOCASE, a + 1)\tWHERE a IS NOT NULL;",
        "INSERT INTO t VALUES (1, 'x\r\ny', 1), (2, 'x\ny', 2), (NULL, 'B', 3);",
        "CREATE INDEX last ON t (b, a) -- no line end",
      ].join("\n"),
    );
  });
});

Deno.test("views keep their text exactly: trailing comments, CRLF, views over views", async () => {
  await withTempDir(async (dir) => {
    await assertExact(
      dir,
      [
        "CREATE TABLE t (a, b);",
        "INSERT INTO t VALUES (1, 'x'), (2, 'y');",
        "CREATE VIEW commented AS SELECT a FROM t -- trailing   \n;",
        "CREATE VIEW blocked AS SELECT b FROM t /* block */ ;",
        "CREATE VIEW crlf AS\r\nSELECT a,\r\n  'x\r\ny' AS z\r\nFROM t -- c\r\n;",
        "CREATE VIEW over_view AS SELECT * FROM commented\tWHERE a > 1;",
        // Lines the stock shell takes for a statement's end (Oracle's `/`, SQL Server's `go`).
        "CREATE VIEW terminators AS SELECT 4\n/\n2 AS x, a AS go, (SELECT 1\n  GO -- c\n) AS y\nFROM t\n;",
        'CREATE VIEW "go" AS SELECT a\n go\nFROM t;',
        'CREATE VIEW "🎉 [v]" AS SELECT `a` AS [x] FROM "t";',
      ].join("\n"),
    );
  });
});

Deno.test("triggers keep their text exactly: comments in the body, CRLF, WHEN", async () => {
  await withTempDir(async (dir) => {
    await assertExact(
      dir,
      [
        "CREATE TABLE t (a, b);",
        "CREATE TABLE log (m);",
        "CREATE TRIGGER commented AFTER INSERT ON t -- c\nWHEN new.a > 0\nBEGIN\n" +
        "  INSERT INTO log VALUES ('-- not a comment; END;'); -- one\n  /* two; END; */\nEND -- x\n;",
        "CREATE TRIGGER crlf AFTER UPDATE ON t\r\nBEGIN\r\n  INSERT INTO log VALUES ('a\r\nb');\r\nEND;",
        "INSERT INTO t VALUES (1, 2);",
      ].join("\n"),
    );
  });
});

Deno.test("virtual tables keep their text exactly: comments in the arguments, CRLF", async () => {
  await withTempDir(async (dir) => {
    await assertExact(
      dir,
      [
        "CREATE VIRTUAL TABLE ft USING fts5 (\r\n  title, -- c\r\n  body /* b */\r\n);",
        'CREATE VIRTUAL TABLE "r t" USING rtree (id, x0, x1) -- trailing\n;',
        "INSERT INTO ft VALUES ('alpha', 'beta');",
        'INSERT INTO "r t" VALUES (1, 0.5, 1.5);',
      ].join("\n"),
    );
  });
});

Deno.test("schema text comes back where sqlite3 .dump changes it", async () => {
  // The oracle for what .dump does: a CRLF schema loses its \r through the shell.
  await withTempDir(async (dir) => {
    const trip = await assertExact(
      dir,
      "CREATE TABLE t (\r\n  a\r\n);\nCREATE INDEX i ON t (a) -- no line end",
    );
    const copy = join(dir, "dot_dump.db");
    assert.deepEqual(await dotDumpCopy(trip.original, copy), []);
    const [theirs, ours] = [schemaTexts(copy), schemaTexts(trip.stockPath)];
    assert.equal(theirs.get("t"), "CREATE TABLE t (\n  a\n)");
    assert.equal(theirs.get("i"), "CREATE INDEX i ON t (a) -- no line end\n");
    assert.deepEqual(ours, schemaTexts(trip.original));
  });
});

Deno.test("schema text no CREATE statement gives (edited through writable_schema) comes back", async () => {
  await withTempDir(async (dir) => {
    await assertExact(dir, (db) => {
      db.exec(`
        CREATE TABLE t (a, b);
        CREATE VIEW v AS SELECT a FROM t;
        CREATE INDEX i ON t (b);
        CREATE VIRTUAL TABLE ft USING fts5 (body);
        CREATE VIRTUAL TABLE terms USING fts5vocab (ft, 'row');
        INSERT INTO t VALUES (1, 2);
      `);
      db.exec("PRAGMA writable_schema = ON");
      const edit = db.prepare("UPDATE sqlite_schema SET sql = ? WHERE name = ?");
      edit.run("create  table t (a, b) -- lower case, after its )", "t");
      edit.run("CREATE VIEW IF NOT EXISTS v AS SELECT a FROM t  ", "v");
      edit.run("CREATE INDEX i ON t (b) /* unterminated", "i");
      // A module the dump declares only (as .dump does), with CRLF in its text.
      edit.run("CREATE VIRTUAL TABLE terms USING fts5vocab (\r\n  ft, 'row'\r\n)", "terms");
      db.exec("PRAGMA writable_schema = RESET");
    });
  });
});

// --- Planner statistics ----------------------------------------------------------------------

Deno.test("sqlite_stat1 and sqlite_stat4 rows come back exactly, rowids included, both ways", async () => {
  await withTempDir(async (dir) => {
    const trip = await assertExact(dir, (db) => {
      db.exec(`
        CREATE TABLE t (a INTEGER, b TEXT, c BLOB);
        CREATE INDEX t_a ON t (a);
        CREATE INDEX t_bc ON t (b, c);
        CREATE TABLE u (k PRIMARY KEY, v) WITHOUT ROWID;
        CREATE INDEX u_v ON u (v);
      `);
      const insert = db.prepare("INSERT INTO t VALUES (?, ?, ?)");
      for (let i = 0; i < 300; i++) insert.run(i % 17, `b${i % 5}`, new Uint8Array([i % 3, 0]));
      const other = db.prepare("INSERT INTO u VALUES (?, ?)");
      for (let i = 0; i < 50; i++) other.run(`k${i}`, i % 4 === 0 ? null : i * 1.5);
      db.exec("ANALYZE");
      // Edited statistics (as applications tune the planner): gaps in the rowids.
      db.exec(
        "DELETE FROM sqlite_stat1 WHERE idx = 't_a'; DELETE FROM sqlite_stat4 WHERE rowid % 3 = 0",
      );
    });
    const count = (path: string) => {
      const db = new DatabaseSync(path, { readOnly: true });
      try {
        return Number(db.prepare("SELECT count(*) AS n FROM sqlite_stat4").get()?.n);
      } finally {
        db.close();
      }
    };
    assert.ok(count(trip.original) > 10);
    assert.equal(count(trip.stockPath), count(trip.original));
  });
});

Deno.test("a database analysed without STAT4 gets no sqlite_stat4 from our restore", async () => {
  await withTempDir(async (dir) => {
    const original = join(dir, "original.db");
    const made = await new Deno.Command("sqlite3", {
      args: [
        original,
        "CREATE TABLE t (a); CREATE INDEX t_a ON t (a); INSERT INTO t VALUES (1), (1), (2); ANALYZE;",
      ],
    }).output();
    assert.equal(made.code, 0);
    assert.equal(schemaTexts(original).has("sqlite_stat4"), false);
    const trip = await roundTrip(dir);
    assert.deepEqual(trip.ours, []);
    assert.deepEqual(trip.stock, []);
  });
});

Deno.test("a database with sqlite_stat4 and no sqlite_stat1 keeps only sqlite_stat4", async () => {
  await withTempDir(async (dir) => {
    await assertExact(
      dir,
      `
      CREATE TABLE t (a);
      CREATE INDEX t_a ON t (a);
      INSERT INTO t VALUES (1), (2), (2), (3);
      ANALYZE;
      DROP TABLE sqlite_stat1;
    `,
    );
  });
});

Deno.test("an old sqlite_stat3 table is kept as it is", async () => {
  await withTempDir(async (dir) => {
    // Only SQLite before 3.29 made it; a writable schema stands in (not defensive, as then).
    const db = new DatabaseSync(join(dir, "original.db"), NOT_DEFENSIVE);
    try {
      db.exec(`
        CREATE TABLE t (a);
        CREATE INDEX t_a ON t (a);
        INSERT INTO t VALUES (1), (2), (2);
        ANALYZE;
        PRAGMA writable_schema = ON;
        CREATE TABLE sqlite_stat3(tbl,idx,neq,nlt,ndlt,sample);
        PRAGMA writable_schema = OFF;
        INSERT INTO sqlite_stat3 VALUES ('t', 't_a', '2', '1', '1', 2);
      `);
    } finally {
      db.close();
    }
    const trip = await roundTrip(dir);
    assert.deepEqual(trip.ours, []);
    assert.deepEqual(trip.stock, []);
  });
});

// --- Rowids no SQL can read ------------------------------------------------------------------

/**
 * The rowids of `table` in the database at `path`, read from a copy of the file in which its
 * column `rowid` is renamed (the only way SQL can name them), in rowid order with `note`.
 */
async function hiddenRowids(path: string, table: string): Promise<string[]> {
  const copy = `${path}.rowids`;
  await Deno.copyFile(path, copy);
  const db = new DatabaseSync(copy, NOT_DEFENSIVE);
  try {
    db.exec(`ALTER TABLE "${table}" RENAME COLUMN rowid TO renamed_for_the_test`);
    const rows = db.prepare(`SELECT rowid AS r, note FROM "${table}" ORDER BY rowid`);
    rows.setReadBigInts(true);
    return rows.all().map((r) => `${r.r}:${r.note}`);
  } finally {
    db.close();
    await Deno.remove(copy);
  }
}

/** Makes `t` with columns `rowid`, `oid`, `_rowid_`, `note` and rows at the given rowids. */
function tableWithHiddenRowids(db: DatabaseSync, definition: string, rowids: bigint[]): void {
  // Rows go in while the first column has another name, then it is renamed to `rowid`.
  db.exec("PRAGMA foreign_keys = OFF");
  db.exec(definition.replace("[rowid]", "free"));
  const insert = db.prepare("INSERT INTO t (rowid, free, oid, note) VALUES (?, ?, ?, ?)");
  rowids.forEach((r, i) => insert.run(r, `r${i}`, BigInt(i % 3), `n${r}`));
  db.exec("ALTER TABLE t RENAME COLUMN free TO [rowid]");
  db.exec(
    `PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = '${
      definition.replaceAll("'", "''")
    }' WHERE name = 't'; PRAGMA writable_schema = RESET`,
  );
}

const HIDDEN_ROWIDS = [-9223372036854775808n, -7n, 1n, 5n, 6n, 1000n, 9223372036854775807n];

for (
  const [label, definition, index] of [
    [
      "a plain index",
      "CREATE TABLE t ([rowid] TEXT COLLATE NOCASE CHECK ([rowid] <> 'x'), oid INTEGER, " +
      "_rowid_ REAL, note TEXT)",
      "CREATE INDEX t_note ON t (note DESC, oid);",
    ],
    [
      "a partial index",
      "CREATE TABLE t ([rowid] TEXT, oid INTEGER, _rowid_ REAL, note TEXT)",
      "CREATE INDEX t_partial ON t (note) WHERE oid > 0;",
    ],
    [
      "an expression index",
      "CREATE TABLE t ([rowid] TEXT, oid INTEGER, _rowid_ REAL, note TEXT)",
      "CREATE INDEX t_expression ON t (lower(note), rowid);",
    ],
    [
      "a foreign key and a default",
      "CREATE TABLE t ([rowid] TEXT DEFAULT 'd', oid INTEGER REFERENCES child (p), " +
      "_rowid_ REAL, note TEXT)",
      "CREATE INDEX t_oid ON t (oid);",
    ],
    [
      "a UNIQUE constraint",
      "CREATE TABLE t ([rowid] TEXT, oid INTEGER, _rowid_ REAL, note TEXT UNIQUE)",
      "",
    ],
  ] as const
) {
  Deno.test(`rowids that no SQL can name come back exactly when the table has ${label}`, async () => {
    await withTempDir(async (dir) => {
      const trip = await roundTrip(dir, (db) => {
        tableWithHiddenRowids(db, definition, HIDDEN_ROWIDS);
        db.exec(`
          ${index}
          CREATE TABLE child (p REFERENCES t (oid));
          CREATE VIRTUAL TABLE ft USING fts5 (body);
          CREATE VIRTUAL TABLE ft_terms USING fts5vocab (ft, 'row');
        `);
      });
      assert.deepEqual(trip.ours, []);
      assert.deepEqual(trip.stock, []);
      const expected = await hiddenRowids(trip.original, "t");
      assert.equal(expected.length, HIDDEN_ROWIDS.length);
      assert.equal(expected[0], "-9223372036854775808:n-9223372036854775808");
      assert.deepEqual(await hiddenRowids(trip.oursPath, "t"), expected);
      assert.deepEqual(await hiddenRowids(trip.stockPath, "t"), expected);
      assert.equal(trip.summary.settings.rowids_renumbered, undefined);
    });
  });
}

for (
  const [label, definition, index] of [
    ["no index", "CREATE TABLE t ([rowid] TEXT, oid INTEGER, _rowid_ REAL, note TEXT)", ""],
    // `SELECT *` gives the generated column too: SQLite copies no records then.
    [
      "a generated column",
      "CREATE TABLE t ([rowid] TEXT, oid INTEGER, _rowid_ REAL AS (oid * 2) STORED, note TEXT)",
      "CREATE INDEX t_oid ON t (oid)",
    ],
  ] as const
) {
  Deno.test(`rowids that no SQL can name, with ${label}: rows in rowid order, renumbering said`, async () => {
    await withTempDir(async (dir) => {
      const trip = await roundTrip(dir, (db) => {
        tableWithHiddenRowids(db, definition, HIDDEN_ROWIDS);
        db.exec(index);
      });
      // Everything the oracle can see is the same (it cannot see these rowids either)...
      assert.deepEqual(trip.ours, []);
      assert.deepEqual(trip.stock, []);
      // ... and the rows come in rowid order, numbered from 1.
      const renumbered = (await hiddenRowids(trip.original, "t"))
        .map((row, i) => `${i + 1}:${row.split(":")[1]}`);
      assert.deepEqual(await hiddenRowids(trip.oursPath, "t"), renumbered);
      assert.deepEqual(await hiddenRowids(trip.stockPath, "t"), renumbered);
      // The sidecar's settings and the SQL say so.
      assert.equal(trip.summary.settings.rowids_renumbered, '["t"]');
      assert.match(trip.sql, /^-- "t": columns take every name of the rowid/m);
    });
  });
}

// --- Settings and shapes a demanding user expects --------------------------------------------

for (
  const [label, settings] of [
    ["UTF-16le, 512-byte pages, full auto-vacuum", [
      "encoding='UTF-16le'",
      "page_size=512",
      "auto_vacuum=FULL",
    ]],
    ["UTF-16be, 64 KiB pages, WAL", ["encoding='UTF-16be'", "page_size=65536", "journal_mode=WAL"]],
    ["UTF-8, incremental auto-vacuum, negative ids", [
      "auto_vacuum=INCREMENTAL",
      "user_version=-1",
      "application_id=2147483647",
    ]],
  ] as const
) {
  Deno.test(`settings and every shape survive both ways: ${label}`, async () => {
    await withTempDir(async (dir) => {
      await assertExact(dir, (db) => {
        for (const setting of settings) db.exec(`PRAGMA ${setting}`);
        db.exec(SHAPES);
      });
    });
  });
}

/** One of each shape the issue lists, with rows. */
const SHAPES = `
  PRAGMA user_version = 42;
  CREATE TABLE strict_t (id INTEGER PRIMARY KEY, i INT, r REAL, t TEXT, b BLOB, a ANY) STRICT;
  INSERT INTO strict_t VALUES (1, -9223372036854775808, -0.0, 'ü', X'00', -0.0), (2, 9, 1e308, '', X'', 'x');
  CREATE TABLE gen (a INT, b INT, s INT GENERATED ALWAYS AS (a * b) STORED,
    v TEXT AS (a || '×' || b) VIRTUAL, CHECK (a IS NOT 13));
  INSERT INTO gen (a, b) VALUES (2, 3), (NULL, 1), (-4, 5);
  -- Dropped: its sqlite_sequence row goes, leaving a gap in that table's rowids.
  CREATE TABLE seq0 (id INTEGER PRIMARY KEY AUTOINCREMENT);
  INSERT INTO seq0 DEFAULT VALUES;
  CREATE TABLE seq (id INTEGER PRIMARY KEY AUTOINCREMENT, v);
  CREATE TABLE seq2 (id INTEGER PRIMARY KEY AUTOINCREMENT, v);
  INSERT INTO seq (v) VALUES ('a'), ('b'), ('c');
  INSERT INTO seq2 (v) VALUES ('x');
  DROP TABLE seq0;
  DELETE FROM seq WHERE id = 3;
  UPDATE sqlite_sequence SET seq = 1000 WHERE name = 'seq2';
  CREATE TABLE nocase_key (k TEXT COLLATE NOCASE PRIMARY KEY, r TEXT COLLATE RTRIM, v) WITHOUT ROWID;
  INSERT INTO nocase_key VALUES ('B', 'x  ', 1), ('a', 'y', 2), ('Ä', ' z ', 3), ('c', '', NULL);
  CREATE TABLE desc_key (a INT, b TEXT COLLATE RTRIM, c, PRIMARY KEY (a DESC, b)) WITHOUT ROWID;
  INSERT INTO desc_key VALUES (1, 'a ', 1), (1, 'b', 2), (3, 'a', 3);
  CREATE INDEX partial ON gen (b) WHERE a IS NOT NULL AND b > 1;
  CREATE INDEX expression ON nocase_key (lower(r), length(k) DESC);
  CREATE UNIQUE INDEX unique_rtrim ON desc_key (c COLLATE RTRIM);
  CREATE TABLE audit (m);
  CREATE TRIGGER seq_when AFTER UPDATE OF v ON seq WHEN old.v IS NOT new.v AND new.v <> ''
  BEGIN INSERT INTO audit VALUES (old.v || '->' || new.v); END;
  CREATE TRIGGER gen_before BEFORE INSERT ON gen FOR EACH ROW WHEN new.a < 0
  BEGIN SELECT RAISE(IGNORE); END;
  CREATE VIEW v1 AS SELECT a, s FROM gen WHERE s IS NOT NULL;
  CREATE VIEW v2 AS SELECT * FROM v1 WHERE s > 1;
  CREATE VIEW v3 (x, y) AS SELECT s, a FROM v2 UNION ALL SELECT 0, 0;
  CREATE TABLE docs (id INTEGER PRIMARY KEY, body TEXT);
  INSERT INTO docs VALUES (3, 'alpha one'), (8, 'beta two');
  CREATE VIRTUAL TABLE ft_ext USING fts5 (body, content='docs', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2', prefix='2 3');
  INSERT INTO ft_ext (ft_ext) VALUES ('rebuild');
  CREATE VIRTUAL TABLE ft_none USING fts5 (a, b UNINDEXED, detail=none, columnsize=0);
  INSERT INTO ft_none VALUES ('one two', 'x'), ('three', 'y');
  CREATE VIRTUAL TABLE rt USING rtree_i32 (id, x0, x1, +label);
  INSERT INTO rt VALUES (1, -5, 5, 'a'), (9, 0, 2147483647, NULL);
  ANALYZE;
`;

Deno.test("an FTS5 table with contentless_delete comes back exactly through our restore", async () => {
  // SQLite 3.43 brought contentless_delete: the stock shell (3.40) cannot create the table.
  await withTempDir(async (dir) => {
    const trip = await roundTrip(
      dir,
      `
      CREATE VIRTUAL TABLE ft_cd USING fts5 (body, content='', contentless_delete=1);
      INSERT INTO ft_cd (rowid, body) VALUES (1, 'alpha beta'), (2, 'gamma'), (3, 'delta');
      DELETE FROM ft_cd WHERE rowid = 2;
    `,
      { ftsQueries: ["alpha", "gamma", "delta OR beta"] },
      { stockShell: false },
    );
    assert.deepEqual(trip.ours, []);
  });
});

// --- Dumps of some tables, schema-only dumps -------------------------------------------------

/** Dumps `database` with `options`; returns the SQL. */
async function dumpText(database: string, options: DumpOptions): Promise<string> {
  const chunks: Uint8Array[] = [];
  await new SqliteEngine().dump(database, (chunk) => {
    chunks.push(chunk.slice());
    return Promise.resolve();
  }, options);
  return new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
}

Deno.test("a dump without a table carries none of its statistics (samples hold its values)", async () => {
  await withTempDir(async (dir) => {
    const original = join(dir, "original.db");
    const db = new DatabaseSync(original);
    try {
      db.exec(`
        CREATE TABLE secret (code TEXT, n INTEGER PRIMARY KEY AUTOINCREMENT);
        CREATE INDEX secret_code ON secret (code);
        CREATE TABLE kept (v TEXT, n INTEGER PRIMARY KEY AUTOINCREMENT);
        CREATE INDEX kept_v ON kept (v);
      `);
      for (let i = 0; i < 40; i++) {
        db.prepare("INSERT INTO secret (code) VALUES (?)").run(`classified-${i % 7}`);
        db.prepare("INSERT INTO kept (v) VALUES (?)").run(`open-${i % 5}`);
      }
      db.exec("ANALYZE");
    } finally {
      db.close();
    }
    const sql = await dumpText(original, { excludeTables: ["secret"] });
    const hex = (s: string) =>
      Array.from(new TextEncoder().encode(s), (b) => b.toString(16).padStart(2, "0")).join("")
        .toUpperCase();
    assert.doesNotMatch(sql, /secret/);
    assert.equal(sql.includes(hex("classified")), false);
    assert.match(sql, /INSERT INTO "sqlite_stat4"/);
    assert.ok(sql.includes(hex("open-")), "the kept table's samples are there");
  });
});

Deno.test("a schema-only dump of a UTF-16 database writes FTS5 settings as text", async () => {
  // The settings were written in the database's encoding: UTF-16 bytes in the SQL.
  await withTempDir(async (dir) => {
    const original = join(dir, "original.db");
    const db = new DatabaseSync(original);
    try {
      db.exec(`
        PRAGMA encoding = 'UTF-16le';
        CREATE VIRTUAL TABLE ft USING fts5 (body);
        INSERT INTO ft (ft, rank) VALUES ('rank', 'bm25(2.0)');
      `);
    } finally {
      db.close();
    }
    const sql = await dumpText(original, { type: "schema" });
    assert.match(
      sql,
      /^INSERT OR REPLACE INTO "ft_config"\(k,v\) VALUES\('rank','bm25\(2\.0\)'\);$/m,
    );
    assert.equal(sql.includes("\0"), false);
  });
});
