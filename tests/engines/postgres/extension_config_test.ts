/**
 * An extension's configuration table holds rows the extension ships (they come back with
 * `CREATE EXTENSION`) and rows the user added (the dump must copy exactly those). Copying all of
 * them made the restore fail on the shipped rows' keys.
 */
import assert from "node:assert/strict";
import { PostgresEngine } from "../../../src/engines/postgres/postgres_engine.ts";
import { startCluster } from "../../helpers/pg_cluster.ts";
import { dumpGzipped, once } from "../../helpers/engine_io.ts";
import { assertSameDatabase } from "../../helpers/pg_compare.ts";
import { installTestExtension } from "../../helpers/pg_test_extension.ts";
import { createDatabase, databaseUrl, psql, uniqueName } from "../../helpers/pg_tools.ts";

Deno.test("the engine copies only the user's rows of an extension's configuration table", async () => {
  await installTestExtension();
  const cluster = await startCluster();
  try {
    const src = await createDatabase(cluster.url, uniqueName("ext_src"));
    await psql(
      src,
      `CREATE SCHEMA bm_ext;
      CREATE EXTENSION bm_config_ext SCHEMA bm_ext;
      INSERT INTO bm_ext.rules (pattern) VALUES ('user-1'), ('user-2');`,
    );
    const engine = new PostgresEngine(cluster.url, {});
    const name = uniqueName("ext_dst");
    await engine.restore(name, once(await dumpGzipped(engine, src)), { create: true });
    const dst = databaseUrl(cluster.url, name);
    assert.equal(
      await psql(dst, "SELECT pattern, builtin FROM bm_ext.rules ORDER BY id"),
      "shipped-1|t\nshipped-2|t\nuser-1|f\nuser-2|f\n",
    );
    await assertSameDatabase(src, dst);
  } finally {
    await cluster.stop();
  }
});
