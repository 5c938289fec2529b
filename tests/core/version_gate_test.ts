/**
 * The version check before a SQLite restore (`version_gate.ts`), through the core with a real
 * database, dump and store. The library here is new enough for everything, so the engine under
 * test reports an older one: the check must refuse before anything is touched (no safety backup,
 * target unchanged), dry runs included, and `ignoreVersion` must let the restore through.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createBackup } from "../../src/core/create.ts";
import { planRestore, restoreBackup } from "../../src/core/restore.ts";
import { RefusedError, TargetVersionError } from "../../src/core/errors.ts";
import type { ServiceContext } from "../../src/core/context.ts";
import { SqliteEngine } from "../../src/engines/sqlite/sqlite_engine.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { FakeClock } from "../helpers/cli.ts";
import { execSql, listNames, sha256File, withWorkspace } from "../helpers/workspace.ts";
import { compareDatabases } from "../helpers/sqlite_compare.ts";

/** The real engine, claiming to load with an older SQLite library. */
class OlderLibrary extends SqliteEngine {
  readonly #version: string;

  constructor(version: string) {
    super();
    this.#version = version;
  }

  override targetVersion(): Promise<string> {
    return Promise.resolve(this.#version);
  }
}

function contextWith(engine: SqliteEngine, dir: string, database: string): ServiceContext {
  return { storage: new LocalStorage(dir), engine, database, clock: new FakeClock() };
}

const SCHEMA = `
  CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL) STRICT;
  CREATE TABLE totals (id INTEGER PRIMARY KEY, n INTEGER, twice INTEGER AS (n * 2));
  INSERT INTO accounts (name) VALUES ('a'), ('b');
  INSERT INTO totals (n) VALUES (1), (2);`;

Deno.test("a SQLite backup records the features its schema uses", async () => {
  await withWorkspace(async (ws) => {
    execSql(ws.database, SCHEMA);
    const meta = await createBackup(contextWith(new SqliteEngine(), ws.dir, ws.database));
    assert.deepEqual(meta.features, ["generated-columns", "strict"]);
    execSql(ws.database, "DROP TABLE accounts; DROP TABLE totals; CREATE TABLE t (a)");
    const plain = await createBackup(contextWith(new SqliteEngine(), ws.dir, ws.database));
    assert.equal(plain.features, undefined, "nothing to record: no field");
  });
});

Deno.test("restoreBackup() refuses a library older than the schema's features, touching nothing", async () => {
  await withWorkspace(async (ws) => {
    execSql(ws.database, SCHEMA);
    const meta = await createBackup(contextWith(new SqliteEngine(), ws.dir, ws.database));
    execSql(ws.database, "INSERT INTO accounts (name) VALUES ('after the backup')");
    const before = await sha256File(ws.database);
    const files = await listNames(ws.dir);
    const old = contextWith(new OlderLibrary("3.35.5"), ws.dir, ws.database);
    const expected = `Cannot restore backup "${meta.id}": the SQLite library here is 3.35.5 and ` +
      "cannot create STRICT tables (3.37.0), which its schema uses (use --ignore-version to try " +
      "anyway)";
    const refused = (e: unknown) =>
      e instanceof TargetVersionError && e instanceof RefusedError && e.exitCode === 6 &&
      e.message === expected;
    await assert.rejects(restoreBackup(old, meta.id, { force: true }), refused);
    await assert.rejects(planRestore(old, meta.id, { dryRun: true, checkData: true }), refused);
    const elsewhere = join(ws.root, "new.db");
    await assert.rejects(restoreBackup(old, meta.id, { to: elsewhere }), refused);
    assert.equal(await sha256File(ws.database), before, "the target is as it was");
    assert.deepEqual(await listNames(ws.dir), files, "no safety backup, nothing written");
    await assert.rejects(Deno.stat(elsewhere), Deno.errors.NotFound);

    const older = contextWith(new OlderLibrary("3.31.0"), ws.dir, ws.database);
    await assert.rejects(
      restoreBackup(older, meta.id, { to: elsewhere }),
      (e: unknown) =>
        e instanceof TargetVersionError && /STRICT tables \(3\.37\.0\)/.test(e.message),
    );
    const older2 = contextWith(new OlderLibrary("3.30.1"), ws.dir, ws.database);
    await assert.rejects(
      restoreBackup(older2, meta.id, { to: elsewhere }),
      (e: unknown) =>
        e instanceof TargetVersionError &&
        /cannot create STRICT tables \(3\.37\.0\) and generated columns \(3\.31\.0\), /.test(
          e.message,
        ),
    );
  });
});

Deno.test("ignoreVersion lets the restore and the dry run through, saying what was ignored", async () => {
  await withWorkspace(async (ws) => {
    execSql(ws.database, SCHEMA);
    const context = contextWith(new SqliteEngine(), ws.dir, ws.database);
    const meta = await createBackup(context);
    const old = contextWith(new OlderLibrary("3.35.5"), ws.dir, ws.database);
    const plan = await planRestore(old, meta.id, { dryRun: true, ignoreVersion: true });
    assert.equal(plan.version?.target, "3.35.5");
    assert.equal(plan.version?.ignored, true);
    assert.match(plan.version?.problem ?? "", /cannot create STRICT tables/);
    const target = join(ws.root, "restored.db");
    // the library really is new enough, so the load itself succeeds
    await restoreBackup(old, meta.id, { to: target, ignoreVersion: true });
    assert.deepEqual(compareDatabases(ws.database, target), []);

    const current = await planRestore(context, meta.id, { dryRun: true });
    assert.equal(current.version?.ignored, false);
    assert.equal(current.version?.problem, undefined);
    assert.equal(current.version?.backup, meta.engineVersion);
  });
});
