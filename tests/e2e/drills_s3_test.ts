/**
 * Kill drill of `copy --to s3://…` against a real S3 implementation (radosgw): killed at a random
 * moment of its measured duration (20 seeds by default; `DRILL_SEEDS`, `DRILL_SEED`), the bucket
 * lists either nothing or the whole backup, which verifies there; the next copy completes, and a
 * run 16 minutes later (an upload names no owner, so it is stale only after 15 min) leaves no
 * multipart upload behind.
 */
import { runCli } from "../helpers/cli.ts";
import { FakeClock } from "../helpers/cli.ts";
import { s3Env, withBucket } from "../helpers/s3_cli.ts";
import { makeLargeDatabase, withWorkspace } from "../helpers/workspace.ts";
import { listedIds, printTallies, runKillDrill, storeLeftovers, storeProblems } from "./_drills.ts";

Deno.test("kill -9 drill, copy to S3: the bucket lists nothing or the whole backup; no upload left", async () => {
  await withBucket((bucket) =>
    withWorkspace(async (ws) => {
      // about 25 MB of gzip: uploaded in several parts
      makeLargeDatabase(ws.database);
      const env = s3Env(bucket.server, ws.root);
      const made = await runCli(["create", "--database", ws.database, "--dir", ws.dir], { env });
      if (made.code !== 0) throw new Error(made.stderr);
      const [id] = await listedIds(ws.dir);
      const target = bucket.url("copies");
      let uploadsLeftByKills = 0;
      try {
        await runKillDrill({
          scenario: "copy to S3 (radosgw, multipart)",
          env,
          prepare: async () => {
            for (const key of await bucket.keys()) await bucket.remove(key);
          },
          args: () => ["copy", id, "--to", target, "--dir", ws.dir],
          judge: async () => {
            const broken = await storeProblems(target, (listed) => listed === id, env);
            const held = (await listedIds(target, env)).length === 1 ? "new" : "old";
            return { broken, held };
          },
          nextRun: async () => {
            if ((await bucket.incompleteUploads()).length > 0) uploadsLeftByKills++;
            const later = new FakeClock(new Date(Date.now() + 16 * 60_000));
            const again = await runCli(["copy", id, "--to", target, "--dir", ws.dir], {
              env,
              clock: later,
            });
            if (again.code !== 0) throw new Error(`the next copy failed: ${again.stderr}`);
            return [
              ...(await bucket.incompleteUploads()).map((key) => `multipart upload of ${key}`),
              ...await storeLeftovers(ws.dir),
            ];
          },
        });
      } finally {
        printTallies();
        console.log(
          `kills that left a multipart upload (gone after the run 16 min later): ${uploadsLeftByKills}`,
        );
      }
    })
  );
});
