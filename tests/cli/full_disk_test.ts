/**
 * A full backup store is the store's failure (exit 7), in the message, the audit log and the exit
 * code, and leaves nothing behind: on a real, small tmpfs. The test never skips: it needs the
 * right to mount (root, as in CI and the dev container), and fails with a clear message where it
 * has none, rather than passing without having run.
 */
import assert from "node:assert/strict";
import { ExitCode } from "../../src/core/errors.ts";
import { readAudit } from "../../src/core/audit.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { runCli } from "../helpers/cli.ts";
import { execSql, listNames, makeDatabase, withWorkspace } from "../helpers/workspace.ts";

/**
 * Mounts a tmpfs of `size` at `directory`, or throws saying why (no right to mount, no `mount`
 * tool): a test that cannot make its full disk fails, it never quietly passes.
 */
async function mountTmpfs(directory: string, size: string): Promise<void> {
  if (Deno.uid() !== 0) {
    throw new Error(
      `Cannot mount the ${size} tmpfs this test fills: it needs root (uid 0; this is uid ${Deno.uid()}${
        Deno.env.get("CI") ? ", and CI is set" : ""
      }); run the tests as root, as CI and the dev container do`,
    );
  }
  await Deno.mkdir(directory, { recursive: true });
  const output = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${size},mode=0700`, "tmpfs", directory],
    stdout: "null",
    stderr: "piped",
  }).output().catch((error) => {
    throw new Error(`Cannot run "mount" for the ${size} tmpfs this test fills: ${error}`);
  });
  if (!output.success) {
    throw new Error(
      `Cannot mount the ${size} tmpfs this test fills at "${directory}" (exit ${output.code}): ${
        new TextDecoder().decode(output.stderr).trim()
      }`,
    );
  }
}

async function unmount(directory: string): Promise<void> {
  await new Deno.Command("umount", { args: [directory], stdout: "null", stderr: "null" }).output();
}

Deno.test({
  name: "create into a full store fails as a storage error (exit 7), audited as such, nothing left",
  fn: async () => {
    await withWorkspace(async (ws) => {
      makeDatabase(ws.database);
      // about 1 MB of gzip output: four times what the store holds
      execSql(
        ws.database,
        `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 10000)
         INSERT INTO events (kind, payload) SELECT 'bulk', randomblob(100) FROM c`,
      );
      await mountTmpfs(ws.dir, "256k");
      try {
        const result = await runCli(["create", "--database", ws.database, "--dir", ws.dir]);
        assert.equal(result.code, ExitCode.Storage, result.stderr);
        assert.match(
          result.stderr,
          /^Error: Cannot write ".*\/full_\d{8}T\d{9}Z\.sql\.gz": no space left on the device \(free space there, or delete old backups with cleanup\)\n$/,
        );
        assert.doesNotMatch(result.stderr, /database/i);
        const [entry] = await readAudit(new LocalStorage(ws.dir), { actions: ["create"] });
        assert.equal(entry.outcome, "failed");
        assert.match(entry.error ?? "", /^Cannot write ".*": no space left on the device/);
        const names = (await listNames(ws.dir)).filter((n) => !n.startsWith("."));
        assert.deepEqual(names.filter((n) => n.includes("full_")), []);
        const listed = await runCli(["list", "--dir", ws.dir, "--format", "json"]);
        assert.deepEqual(JSON.parse(listed.stdout), []);
      } finally {
        await unmount(ws.dir);
      }
    });
  },
});
