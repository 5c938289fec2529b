/**
 * PostgreSQL round trips through the command line, judged by the fidelity oracle
 * (`tests/helpers/pg_compare.ts`): our backup of the fixture database, restored by us and by
 * stock psql, must be the same database as the original.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startCluster, type TestCluster } from "../../helpers/pg_cluster.ts";
import { assertSameDatabase } from "../../helpers/pg_compare.ts";
import { dataDigests } from "../../helpers/pg_digests.ts";
import { loadFixture } from "../../helpers/pg_fixture.ts";
import { schemaOf } from "../../helpers/pg_schema_dump.ts";
import {
  createDatabase,
  databaseUrl,
  dropDatabase,
  psql,
  restoreWithPsql,
  uniqueName,
} from "../../helpers/pg_tools.ts";
import { runCli } from "../../helpers/cli.ts";
import { withWorkspace } from "../../helpers/workspace.ts";

/** Runs `create --database <source> --dir <dir> <args>`; returns the new backup's id. */
async function createBackup(source: string, dir: string, ...args: string[]): Promise<string> {
  const result = await runCli([
    "create",
    "--database",
    source,
    "--dir",
    dir,
    ...args,
    "--format",
    "json",
  ]);
  assert.equal(result.stderr, "");
  assert.equal(result.code, 0);
  return JSON.parse(result.stdout).id;
}

/**
 * Runs `restore <id> --to <url> --create` (no `--database`: the URL names the engine); fails on
 * a non-zero exit.
 */
async function restoreBackup(dir: string, id: string, to: string): Promise<void> {
  const result = await runCli(["restore", id, "--to", to, "--create", "--dir", dir]);
  assert.equal(result.code, 0, result.stderr);
}

/** A cluster, a workspace, and the names of the databases to drop at the end. */
interface Context {
  cluster: TestCluster;
  dir: string;
  /** A URL on the cluster for a new database name (dropped at the end). */
  newUrl(prefix: string): string;
}

async function withContext(fn: (context: Context) => Promise<void>): Promise<void> {
  const cluster = await startCluster();
  const names: string[] = [];
  try {
    await withWorkspace(async (ws) => {
      await fn({
        cluster,
        dir: ws.dir,
        newUrl(prefix) {
          const name = uniqueName(prefix);
          names.push(name);
          return databaseUrl(cluster.url, name);
        },
      });
    });
  } finally {
    for (const name of names) await dropDatabase(cluster.url, name).catch(() => {});
    await cluster.stop();
  }
}

/** Creates the database at `url` (a URL from `newUrl`). */
function create(context: Context, url: string): Promise<string> {
  return createDatabase(context.cluster.url, decodeURIComponent(new URL(url).pathname.slice(1)));
}

/** {@linkcode withContext} with a source database holding the fixture. */
function withFixture(fn: (context: Context, source: string) => Promise<void>): Promise<void> {
  return withContext(async (context) => {
    const source = await create(context, context.newUrl("source"));
    await loadFixture(source);
    await fn(context, source);
  });
}

/** Asserts that `target` holds exactly `tables`, each with the same rows as in `source`. */
async function assertTables(source: string, target: string, tables: string[]): Promise<void> {
  const [original, restored] = [
    (await dataDigests(source)).tables,
    (await dataDigests(target)).tables,
  ];
  assert.deepEqual(Object.keys(restored).sort(), [...tables].sort());
  for (const table of tables) assert.deepEqual(restored[table], original[table], table);
}

Deno.test("a backup of the fixture database restores identical, by us and by stock psql", async (t) => {
  await withFixture(async (context, source) => {
    const id = await createBackup(source, context.dir);

    await t.step("restore --to a new database --create", async () => {
      const target = context.newUrl("restored");
      await restoreBackup(context.dir, id, target);
      await assertSameDatabase(source, target);
    });

    await t.step("gunzip -c | psql -v ON_ERROR_STOP=1 --single-transaction", async () => {
      const target = await create(context, context.newUrl("stock"));
      await restoreWithPsql(target, join(context.dir, `${id}.sql.gz`));
      await assertSameDatabase(source, target);
    });
  });
});

Deno.test("a schema backup restores the same schema and no rows", async () => {
  await withFixture(async (context, source) => {
    const id = await createBackup(source, context.dir, "--type", "schema");
    const target = context.newUrl("schema");
    await restoreBackup(context.dir, id, target);
    assert.deepEqual(await schemaOf(target), await schemaOf(source));
    const restored = await dataDigests(target);
    const tables = Object.entries(restored.tables);
    assert.deepEqual(Object.keys(restored.tables), Object.keys((await dataDigests(source)).tables));
    assert.deepEqual(tables.filter(([, digest]) => digest.rows !== 0), []);
    assert.deepEqual(restored.largeObjects, {});
  });
});

Deno.test("--table backs up only the tables it selects, like pg_dump -t, and creates their schema if absent", async (t) => {
  await withFixture(async (context, source) => {
    const id = await createBackup(
      source,
      context.dir,
      "--table",
      "vals.float*",
      "--table",
      "texts",
    );
    const selected = ['"vals"."float_labels"', '"vals"."floats"', '"vals"."texts"'];

    await t.step("into a new database (--create): the schema is created", async () => {
      const target = context.newUrl("some_new");
      await restoreBackup(context.dir, id, target);
      await assertTables(source, target, selected);
    });

    await t.step("into a database that has the schema (--clean keeps it)", async () => {
      const target = await create(context, context.newUrl("some"));
      await psql(target, "CREATE SCHEMA vals; COMMENT ON SCHEMA vals IS 'kept'");
      const result = await runCli([
        "restore",
        id,
        "--to",
        target,
        "--clean",
        "--force",
        "--database",
        source,
        "--dir",
        context.dir,
      ]);
      assert.equal(result.code, 0, result.stderr);
      await assertTables(source, target, selected);
      assert.equal(
        await psql(target, "SELECT obj_description('vals'::regnamespace, 'pg_namespace')"),
        "kept\n",
      );
    });
  });
});

Deno.test("--exclude-table leaves out the tables it matches and keeps everything else", async () => {
  await withFixture(async (context, source) => {
    const id = await createBackup(source, context.dir, "--exclude-table", "vals.*");
    const target = context.newUrl("most");
    await restoreBackup(context.dir, id, target);
    const kept = Object.keys((await dataDigests(source)).tables)
      .filter((t) => !t.startsWith('"vals".'));
    assert.ok(kept.length > 5, `only ${kept.length} tables outside vals`);
    await assertTables(source, target, kept);
  });
});

Deno.test("the migration version is recorded in the sidecar and shown by restore --dry-run", async () => {
  await withContext(async (context) => {
    const source = await create(context, context.newUrl("app"));
    await psql(
      source,
      `CREATE TABLE schema_migrations (version text PRIMARY KEY);
       INSERT INTO schema_migrations VALUES ('20240101000000'), ('20260314120000');
       CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
       INSERT INTO alembic_version VALUES ('ae1027a6acf');`,
    );
    const id = await createBackup(source, context.dir);
    const sidecar = JSON.parse(await Deno.readTextFile(join(context.dir, `${id}.meta.json`)));
    assert.deepEqual(sidecar.migration, { table: "alembic_version", version: "ae1027a6acf" });

    await psql(source, "INSERT INTO alembic_version VALUES ('f00dfeed')");
    await psql(source, "DELETE FROM alembic_version WHERE version_num = 'ae1027a6acf'");
    const dryRun = await runCli([
      "restore",
      id,
      "--dry-run",
      "--database",
      source,
      "--dir",
      context.dir,
    ]);
    assert.equal(dryRun.code, 0, dryRun.stderr);
    assert.match(
      dryRun.stdout,
      /migration: backup ae1027a6acf \(alembic_version\), current f00dfeed \(alembic_version\)\n/,
    );
    assert.match(dryRun.stdout, /Nothing was changed\.\n$/);
  });
});
