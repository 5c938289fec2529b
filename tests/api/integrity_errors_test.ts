/**
 * A damaged or untrusted backup over HTTP: the same one-line messages as the command line, as
 * `422 integrity` answers, and nothing restored.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { join } from "node:path";
import { startApiFixture } from "../helpers/api_server.ts";
import { formatPublicKey } from "../../src/core/signing.ts";

async function restoreError(
  api: Awaited<ReturnType<typeof startApiFixture>>,
  id: string,
  body: Record<string, unknown>,
): Promise<{ status: number; error: { code: string; message: string } }> {
  const response = await api.request(`/api/v1/backups/${id}/restore`, {
    method: "POST",
    body: JSON.stringify(body),
  });
  return { status: response.status, error: (await response.json()).error };
}

function onlyBackup(api: Awaited<ReturnType<typeof startApiFixture>>): string {
  const [name] = [...Deno.readDirSync(api.dir)].map((e) => e.name)
    .filter((n) => n.endsWith(".meta.json"));
  return name.slice(0, -".meta.json".length);
}

Deno.test("the API answers a truncated backup's restore plan with 422 and the CLI's message", async () => {
  const api = await startApiFixture({ backups: 1 });
  try {
    const id = onlyBackup(api);
    const file = join(api.dir, `${id}.sql.gz`);
    const size = (await Deno.stat(file)).size;
    await Deno.truncate(file, 10);
    const { status, error } = await restoreError(api, id, { dryRun: true });
    assert.equal(status, 422);
    assert.equal(error.code, "integrity");
    assert.equal(
      error.message,
      `Cannot restore backup "${id}": its data file "${id}.sql.gz" is truncated (10 of ${size} bytes); an upload or copy stopped early; restore another backup`,
    );
  } finally {
    await api.stop();
  }
});

Deno.test("the API refuses an unsigned backup when signing.trusted is set, with 422", async () => {
  const trusted = formatPublicKey(generateKeyPairSync("ed25519").publicKey);
  const api = await startApiFixture({ backups: 1, config: { signing: { trusted: [trusted] } } });
  try {
    const id = onlyBackup(api);
    for (const body of [{ dryRun: true }, { confirm: "app.db" }]) {
      const { status, error } = await restoreError(api, id, body);
      assert.equal(status, 422, JSON.stringify(body));
      assert.equal(error.code, "integrity");
      assert.equal(
        error.message,
        `Cannot restore backup "${id}": it is not signed, and signing.trusted requires a signature (sign new backups with signing.key; use a signed backup)`,
      );
    }
  } finally {
    await api.stop();
  }
});
