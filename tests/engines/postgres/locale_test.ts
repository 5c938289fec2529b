/**
 * `restore --create` makes the new database with the original's locale: collation decides sort
 * and index order, so a database restored with the server's default could answer ORDER BY
 * differently from the one that was backed up.
 */
import assert from "node:assert/strict";
import { PostgresEngine } from "../../../src/engines/postgres/postgres_engine.ts";
import { DatabaseError } from "../../../src/core/errors.ts";
import { startCluster } from "../../helpers/pg_cluster.ts";
import { dumpGzipped, once } from "../../helpers/engine_io.ts";
import { databaseUrl, psql, uniqueName } from "../../helpers/pg_tools.ts";

const LOCALE_OF = "SELECT datcollate || '|' || datctype || '|' || datlocprovider::text || '|' || " +
  "coalesce(daticulocale, '') FROM pg_database WHERE datname = current_database()";

Deno.test("restore --create gives the new database the backup's locale", async (t) => {
  const cluster = await startCluster();
  try {
    const engine = new PostgresEngine(cluster.url, {});
    const cases: [string, string][] = [
      ["libc C (the server's default is C.UTF-8)", "LC_COLLATE 'C' LC_CTYPE 'C'"],
      ["ICU", "LOCALE_PROVIDER icu ICU_LOCALE 'de-DE' LC_COLLATE 'C' LC_CTYPE 'C.UTF-8'"],
    ];
    for (const [name, clause] of cases) {
      await t.step(name, async () => {
        const source = uniqueName("locale_src");
        await psql(cluster.url, `CREATE DATABASE ${source} TEMPLATE template0 ${clause}`);
        const src = databaseUrl(cluster.url, source);
        await psql(
          src,
          "CREATE TABLE words (w text); INSERT INTO words VALUES ('b'), ('B'), ('a')",
        );
        const target = uniqueName("locale_dst");
        await engine.restore(target, once(await dumpGzipped(engine, src)), { create: true });
        const dst = databaseUrl(cluster.url, target);
        assert.equal(await psql(dst, LOCALE_OF), await psql(src, LOCALE_OF));
        const order = "SELECT string_agg(w, ',' ORDER BY w) FROM words";
        assert.equal(await psql(dst, order), await psql(src, order));
      });
    }

    await t.step(
      "a locale the server lacks is one clear error, and nothing is created",
      async () => {
        const gz = await dumpGzipped(engine, cluster.url);
        const text = new TextDecoder().decode((await import("node:zlib")).gunzipSync(gz));
        const foreign = text.replace(
          /^-- backup-manager:locale .*$/m,
          '-- backup-manager:locale {"collate":"xx_NOPE.UTF-8","ctype":"xx_NOPE.UTF-8","provider":"c"}',
        );
        const target = uniqueName("locale_missing");
        await assert.rejects(
          engine.restore(
            target,
            once((await import("node:zlib")).gzipSync(new TextEncoder().encode(foreign))),
            { create: true },
          ),
          (error: Error) =>
            error instanceof DatabaseError && /xx_NOPE\.UTF-8/.test(error.message) &&
            /install it on the server, or create the database yourself/.test(error.message),
        );
        assert.equal(
          await psql(
            cluster.url,
            `SELECT count(*) FROM pg_database WHERE datname LIKE 'bm_load_%' OR datname = '${target}'`,
          ),
          "0\n",
        );
      },
    );
  } finally {
    await cluster.stop();
  }
});
