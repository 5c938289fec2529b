import assert from "node:assert/strict";
import { join } from "node:path";
import {
  baseSeriesName,
  expandDatabases,
  isSeveral,
  matchSegment,
  nameSeries,
  parseDatabaseText,
  safeName,
  splitDatabaseList,
} from "../../src/core/series.ts";
import { UsageError } from "../../src/core/errors.ts";

Deno.test("splitDatabaseList() splits at newlines and semicolons, never at commas", () => {
  const cases: [string, string[]][] = [
    ["./a.db", ["./a.db"]],
    ["./a.db;./b.db", ["./a.db", "./b.db"]],
    [" ./a.db ; ./b.db ;", ["./a.db", "./b.db"]],
    ["./a.db\n./b.db\r\n./c.db\n", ["./a.db", "./b.db", "./c.db"]],
    ["postgres://u@h/app?host=a,b;postgres://u@h/billing", [
      "postgres://u@h/app?host=a,b",
      "postgres://u@h/billing",
    ]],
    [";;", []],
  ];
  for (const [text, expected] of cases) assert.deepEqual(splitDatabaseList(text), expected, text);
});

Deno.test("parseDatabaseText() is a list only when a separator is written", () => {
  const cases: [string, string | string[]][] = [
    ["./data/app.db", "./data/app.db"],
    ["./data/*.db", "./data/*.db"],
    ["./data/app.db;", ["./data/app.db"]],
    ["a.db\nb.db", ["a.db", "b.db"]],
  ];
  for (const [text, expected] of cases) assert.deepEqual(parseDatabaseText(text), expected, text);
});

Deno.test("isSeveral() is decided by the form: a glob or a list, not a plain location", () => {
  const cases: [string | string[], boolean][] = [
    ["sqlite:./data/app.db", false],
    ["./data/app.db", false],
    ["postgres://u@h:5432/app", false],
    ["postgres://u@h/app?options=-c%20x%3D*", false],
    ["./data/*.db", true],
    ["sqlite:./data/app?.db", true],
    ["./data/[ab].db", true],
    [["./data/app.db"], true],
    [["postgres://u@h/a", "postgres://u@h/b"], true],
  ];
  for (const [setting, expected] of cases) {
    assert.equal(isSeveral(setting), expected, JSON.stringify(setting));
  }
});

Deno.test("baseSeriesName() is the file name without extension, or the PostgreSQL database", () => {
  const cases: [string, string][] = [
    ["sqlite:/srv/data/app.db", "app"],
    ["/srv/data/billing.sqlite3", "billing"],
    ["sqlite:///srv/data/noext", "noext"],
    ["./data/my app (old).db", "my_app__old_"],
    ["./data/.hidden.db", "hidden"],
    ["./data/archive.tar.db", "archive.tar"],
    ["postgres://u:secret@db.internal:5432/orders", "orders"],
    ["postgresql://u@h/Kunden%20DB", "Kunden_DB"],
    ["postgres://u@h", "postgres"],
    ["postgres://u@h/", "postgres"],
    ["./data/ü.db", "_"],
    ["./data/" + "x".repeat(80) + ".db", "x".repeat(64)],
  ];
  for (const [location, expected] of cases) {
    assert.equal(baseSeriesName(location), expected, location);
  }
});

Deno.test("safeName() is never empty and never starts with a dot or a dash", () => {
  const cases: [string, string][] = [["", "db"], ["...", "db"], ["-rf", "rf"], ["a/b", "a_b"]];
  for (const [text, expected] of cases) assert.equal(safeName(text), expected, text);
});

Deno.test("nameSeries() settles collisions deterministically, whatever the order given", () => {
  const locations = [
    "sqlite:/srv/b/app.db",
    "sqlite:/srv/a/app.db",
    "sqlite:/srv/a/App.sqlite",
    "postgres://u@h1/billing",
    "postgres://u@h2/billing",
    "sqlite:/srv/a/app.db", // the same database twice is one series
  ];
  const series = nameSeries(locations);
  assert.deepEqual(nameSeries([...locations].reverse()), series);
  assert.equal(series.length, 5);
  const byDatabase = new Map(series.map((s) => [s.database, s.name]));
  // the location that sorts first keeps the plain name
  assert.equal(byDatabase.get("sqlite:/srv/a/App.sqlite"), "App");
  assert.match(byDatabase.get("sqlite:/srv/a/app.db")!, /^app-[0-9a-f]{8}$/);
  assert.match(byDatabase.get("sqlite:/srv/b/app.db")!, /^app-[0-9a-f]{8}$/);
  assert.equal(byDatabase.get("postgres://u@h1/billing"), "billing");
  assert.match(byDatabase.get("postgres://u@h2/billing")!, /^billing-[0-9a-f]{8}$/);
  assert.equal(new Set(series.map((s) => s.name.toLowerCase())).size, 5);
  // in name order
  assert.deepEqual(series.map((s) => s.name), [...series.map((s) => s.name)].sort());
});

Deno.test("matchSegment() matches *, ? and classes, and leaves hidden files out", () => {
  const cases: [string, string, boolean][] = [
    ["*.db", "app.db", true],
    ["*.db", "app.db-wal", false],
    ["*.db", ".app.db", false],
    [".*.db", ".app.db", true],
    ["app?.db", "app1.db", true],
    ["app?.db", "app.db", false],
    ["[ab]*.db", "billing.db", true],
    ["[!ab]*.db", "billing.db", false],
    ["[a-c].db", "c.db", true],
    ["a+b.db", "a+b.db", true],
    ["a+b.db", "aab.db", false],
    ["(x).db", "(x).db", true],
    ["[.db", "[.db", true],
  ];
  for (const [pattern, name, expected] of cases) {
    assert.equal(matchSegment(pattern, name), expected, `${pattern} ~ ${name}`);
  }
});

Deno.test("expandDatabases() finds the files a glob matches today, relative to cwd", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "data", "sub"), { recursive: true });
    for (const name of ["app.db", "billing.db", "app.db-wal", ".hidden.db", "notes.txt"]) {
      await Deno.writeTextFile(join(dir, "data", name), "");
    }
    await Deno.mkdir(join(dir, "data", "dir.db"));
    await Deno.writeTextFile(join(dir, "data", "sub", "deep.db"), "");
    assert.deepEqual(await expandDatabases("./data/*.db", { cwd: dir }), [
      { name: "app", database: `sqlite:${join(dir, "data", "app.db")}` },
      { name: "billing", database: `sqlite:${join(dir, "data", "billing.db")}` },
    ]);
    assert.deepEqual(await expandDatabases(`sqlite:${dir}/data/*/*.db`), [
      { name: "deep", database: `sqlite:${join(dir, "data", "sub", "deep.db")}` },
    ]);
    // a list mixes globs and locations; a location is taken as it is (a missing file is the
    // engine's to report)
    assert.deepEqual(
      await expandDatabases(["./data/b*.db", "postgres://u@h/orders"], { cwd: dir }),
      [
        { name: "billing", database: `sqlite:${join(dir, "data", "billing.db")}` },
        { name: "orders", database: "postgres://u@h/orders" },
      ],
    );
    assert.deepEqual(await expandDatabases("./nothing/*.db", { cwd: dir }), []);
    await assert.rejects(
      () => expandDatabases("./data/**/*.db", { cwd: dir }),
      (error) =>
        error instanceof UsageError &&
        error.message ===
          'Invalid value "./data/**/*.db" for "database": "**" is not supported (use one "*" per directory level)',
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
