/**
 * A backup's parts through the API (a real server on a free port): the listing and the detail
 * show them, `download?part=NAME` streams one byte for byte with its SHA-256, an unknown part
 * is a 404 naming the parts there are.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startApiFixture } from "../helpers/api_server.ts";
import { sha256File } from "../helpers/workspace.ts";

Deno.test("the API lists a backup's parts and downloads one with ?part=", async () => {
  const beside = await Deno.makeTempDir({ prefix: "bm-api-parts-" });
  try {
    await Deno.mkdir(join(beside, "uploads"));
    await Deno.writeTextFile(join(beside, "uploads/a.txt"), "kept beside the database");
    const api = await startApiFixture({
      backups: 1,
      config: { files: [join(beside, "uploads")] },
    });
    try {
      const listing = await (await api.request("/api/v1/backups")).json();
      const [backup] = listing.backups;
      assert.deepEqual(
        backup.parts.map((p: { kind: string; name: string }) => [p.kind, p.name]),
        [["files", "files"]],
      );
      assert.equal(backup.parts[0].entries, 2);
      assert.equal(backup.server, null);

      const file = join(api.dir, `${backup.id}.files.tar.gz`);
      const response = await api.request(`/api/v1/backups/${backup.id}/download?part=files`);
      assert.equal(response.status, 200);
      const bytes = new Uint8Array(await response.arrayBuffer());
      assert.deepEqual(bytes, await Deno.readFile(file));
      assert.equal(response.headers.get("x-checksum-sha256"), await sha256File(file));
      assert.equal(response.headers.get("content-type"), "application/gzip");
      assert.equal(
        response.headers.get("content-disposition"),
        `attachment; filename="${backup.id}.files.tar.gz"`,
      );

      const main = await api.request(`/api/v1/backups/${backup.id}/download`);
      assert.deepEqual(
        new Uint8Array(await main.arrayBuffer()),
        await Deno.readFile(join(api.dir, `${backup.id}.sql.gz`)),
      );

      const missing = await api.request(`/api/v1/backups/${backup.id}/download?part=app`);
      assert.equal(missing.status, 404);
      const body = await missing.json();
      assert.match(JSON.stringify(body), /has no part \\"app\\" \(its parts: \\"files\\"\)/);

      const viewer = await api.request(`/api/v1/backups/${backup.id}/download?part=files`, {
        token: api.viewerToken,
      });
      assert.equal(viewer.status, 403, "downloads stay admin only");
      await viewer.body?.cancel();
    } finally {
      await api.stop();
    }
  } finally {
    await Deno.remove(beside, { recursive: true });
  }
});
