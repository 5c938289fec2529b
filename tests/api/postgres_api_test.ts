/**
 * The API over a PostgreSQL database on a throwaway cluster: create, verify with a restore
 * test, download (restorable by the stock psql), and a restore that needs the database's name
 * and `clean` for a non-empty target.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startApiFixture } from "../helpers/api_server.ts";
import { startCluster } from "../helpers/pg_cluster.ts";
import { createDatabase, psql, restoreWithPsql, uniqueName } from "../helpers/pg_tools.ts";
import { dataDigests } from "../helpers/pg_digests.ts";
import { waitForJob } from "./api_test.ts";

Deno.test("the API backs up, verifies, downloads and restores a PostgreSQL database", async (t) => {
  const cluster = await startCluster();
  const api = await startApiFixture({ engine: "postgres", cluster });
  try {
    const name = new URL(api.database).pathname.slice(1);
    const original = await dataDigests(api.database);
    let id = "";
    await t.step("create answers 202 and the job reports rows and tables", async () => {
      const response = await api.request("/api/v1/backups", { method: "POST", body: "{}" });
      assert.equal(response.status, 202);
      const { job } = await response.json();
      const done = await waitForJob(api, job.url);
      assert.equal(done.state, "succeeded", JSON.stringify(done));
      id = (done.result as { backup: { id: string } }).backup.id;
      const progress = done.progress as Record<string, number>;
      assert.equal(progress.rows, 300);
      assert.equal(progress.tables, 2);
    });

    await t.step("verify with a restore test succeeds", async () => {
      const { job } = await (await api.request(`/api/v1/backups/${id}/verify`, {
        method: "POST",
        body: '{"restoreTest": true}',
      })).json();
      const done = await waitForJob(api, job.url);
      assert.equal(done.state, "succeeded", JSON.stringify(done));
    });

    await t.step("the downloaded file restores with the stock psql to the same data", async () => {
      const response = await api.request(`/api/backup?action=download&id=${id}`);
      assert.equal(response.status, 200);
      const file = join(api.root, "download.sql.gz");
      await Deno.writeFile(file, new Uint8Array(await response.arrayBuffer()));
      const copy = await createDatabase(cluster.url, uniqueName("copy"));
      await restoreWithPsql(copy, file);
      assert.deepEqual(await dataDigests(copy), original);
    });

    await t.step("a restore into the non-empty database needs its name and clean", async () => {
      await psql(api.database, "DELETE FROM accounts WHERE id > 100");
      const unconfirmed = await api.request(`/api/v1/backups/${id}/restore`, {
        method: "POST",
        body: JSON.stringify({ confirm: "app.db", clean: true }),
      });
      assert.equal(unconfirmed.status, 400);
      const { error } = await unconfirmed.json();
      assert.equal(error.code, "confirmation_required");
      assert.equal(error.expected, name);
      const refused = await api.request(`/api/v1/backups/${id}/restore`, {
        method: "POST",
        body: JSON.stringify({ confirm: name }),
      });
      assert.equal(refused.status, 409);
      assert.equal((await refused.json()).error.code, "refused");
      const response = await api.request(`/api/v1/backups/${id}/restore`, {
        method: "POST",
        body: JSON.stringify({ confirm: name, clean: true }),
      });
      assert.equal(response.status, 202);
      const done = await waitForJob(api, (await response.json()).job.url);
      assert.equal(done.state, "succeeded", JSON.stringify(done));
      assert.match(String((done.result as Record<string, unknown>).safetyBackup), /^pre-restore_/);
      assert.deepEqual(await dataDigests(api.database), original);
    });
  } finally {
    try {
      assert.equal(await api.stop(), 0);
    } finally {
      await cluster.stop();
    }
  }
});
