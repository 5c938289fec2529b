/**
 * A pagila-like sample database (tests/fixtures/postgres/pagila.sql) backed up and restored:
 * through the schema reader's plan with stock psql, and through the engine's own dump and
 * restore. Both copies must be the same as the original to the fidelity oracle.
 */
import { fileURLToPath } from "node:url";
import { PostgresEngine } from "../../../src/engines/postgres/postgres_engine.ts";
import { startCluster } from "../../helpers/pg_cluster.ts";
import { dumpGzipped, once } from "../../helpers/engine_io.ts";
import { assertSameDatabase } from "../../helpers/pg_compare.ts";
import { loadScript, readPlan, scriptOf } from "../../helpers/pg_plan_script.ts";
import {
  createDatabase,
  databaseUrl,
  psql,
  psqlFile,
  restoreWithPsql,
  uniqueName,
} from "../../helpers/pg_tools.ts";

const FIXTURE = fileURLToPath(new URL("../../fixtures/postgres/pagila.sql", import.meta.url));

Deno.test("a pagila-like database", async (t) => {
  const cluster = await startCluster();
  try {
    for (const role of ["pagila_owner", "pagila_reader"]) {
      await psql(
        cluster.url,
        `DO $$ BEGIN CREATE ROLE ${role}; EXCEPTION WHEN duplicate_object THEN NULL; END $$;`,
      );
    }
    const src = await createDatabase(cluster.url, uniqueName("pagila"));
    await psqlFile(src, FIXTURE);

    await t.step("restores from the schema plan's script as pg_dump sees it", async () => {
      const dst = await createDatabase(cluster.url, uniqueName("pagila_plan"));
      await loadScript(dst, await scriptOf(src, await readPlan(src)));
      await assertSameDatabase(src, dst);
    });

    await t.step("restores from the engine's backup with the engine and with psql", async () => {
      const engine = new PostgresEngine(cluster.url, {});
      const gz = await dumpGzipped(engine, src);
      const name = uniqueName("pagila_engine");
      await engine.restore(name, once(gz), { create: true });
      await assertSameDatabase(src, databaseUrl(cluster.url, name));

      const file = await Deno.makeTempFile({ suffix: ".sql.gz" });
      try {
        await Deno.writeFile(file, gz);
        const stock = await createDatabase(cluster.url, uniqueName("pagila_psql"));
        await restoreWithPsql(stock, file);
        await assertSameDatabase(src, stock);
      } finally {
        await Deno.remove(file);
      }
    });
  } finally {
    await cluster.stop();
  }
});
