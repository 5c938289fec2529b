/**
 * Round trip of our compact stand-in for PostgreSQL's regression database (issue 10, part E):
 * `tests/fixtures/pg_regress_like.sql` holds, one block per object kind, the shapes the regression
 * database showed (`deno task bench:regress` runs the real thing, which CI cannot fetch). The
 * whole fixture is loaded into one database, backed up by the engine and restored into an empty
 * database and with `--create`; both copies must be the same database to the fidelity oracle.
 */
import { fileURLToPath } from "node:url";
import { startCluster } from "../../helpers/pg_cluster.ts";
import { assertSameDatabase } from "../../helpers/pg_compare.ts";
import { dumpGzipped, once } from "../../helpers/engine_io.ts";
import {
  createDatabase,
  databaseUrl,
  dropDatabase,
  psql,
  uniqueName,
} from "../../helpers/pg_tools.ts";
import { PostgresEngine } from "../../../src/engines/postgres/postgres_engine.ts";

const FIXTURE = fileURLToPath(new URL("../../fixtures/pg_regress_like.sql", import.meta.url));

Deno.test("the regression-like database round trips into an empty database and with --create", async () => {
  const cluster = await startCluster();
  const engine = new PostgresEngine(cluster.url, {});
  const names = [uniqueName("rl_src"), uniqueName("rl_empty"), uniqueName("rl_new")];
  const [src, empty, fresh] = names.map((n) => databaseUrl(cluster.url, n));
  try {
    await createDatabase(cluster.url, names[0]);
    await psql(src, await Deno.readTextFile(FIXTURE));
    const backup = await dumpGzipped(engine, src);
    await createDatabase(cluster.url, names[1]);
    await engine.restore(empty, once(backup));
    await engine.restore(fresh, once(backup), { create: true });
    await assertSameDatabase(src, fresh, { limit: 20 });
    await assertSameDatabase(src, empty, { limit: 20 });
  } finally {
    // Event triggers and the subscription belong to their database: drop them with it.
    for (const name of names) await dropDatabase(cluster.url, name).catch(() => {});
    await cluster.stop();
  }
});
