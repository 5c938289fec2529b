/**
 * `restore` checks the target server's version before anything is touched (issue 10), against a
 * real PostgreSQL 15 cluster. A backup "from PostgreSQL 17" is a real backup whose sidecar says
 * so (resealed, as a newer server's dump would be recorded): it is refused in one line, exit 6,
 * for a new database, an existing one and a dry run alike, with nothing created, no safety
 * backup and the data as it was; `--ignore-version` loads it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startCluster } from "../helpers/pg_cluster.ts";
import { runCli } from "../helpers/cli.ts";
import { listNames, withWorkspace } from "../helpers/workspace.ts";
import {
  createDatabase,
  databaseExists,
  databaseUrl,
  psql,
  uniqueName,
} from "../helpers/pg_tools.ts";
import { dataDigests } from "../helpers/pg_digests.ts";
import { metaKey, serializeMeta } from "../../src/core/backup_file.ts";
import { startApiFixture } from "../helpers/api_server.ts";

const NEWER = "17.2 (Debian 17.2-1.pgdg120+1)";

/** Rewrites the backup's sidecar as if a server of `version` had been dumped. */
async function claimServerVersion(dir: string, id: string, version: string): Promise<void> {
  const path = join(dir, metaKey(id));
  const { sidecarSha256: _, ...meta } = JSON.parse(await Deno.readTextFile(path));
  await Deno.writeFile(path, serializeMeta({ ...meta, engineVersion: version }));
}

Deno.test("restore refuses a backup from a newer PostgreSQL major before touching anything", async () => {
  const cluster = await startCluster();
  try {
    await withWorkspace(async (ws) => {
      const source = await createDatabase(cluster.url, uniqueName("app"));
      await psql(
        source,
        "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a')",
      );
      const common = ["--database", source, "--dir", ws.dir];
      const created = await runCli(["create", ...common, "--format", "json"]);
      assert.equal(created.code, 0, created.stderr);
      const { id, engineVersion } = JSON.parse(created.stdout);
      const here = String(engineVersion).split(" ")[0];

      const dry = await runCli(["restore", ...common, id, "--dry-run"]);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, new RegExp(`\\n  versions: backup ${here}.*, target ${here}.*\\n`));

      await claimServerVersion(ws.dir, id, NEWER);
      const files = await listNames(ws.dir);
      const before = await dataDigests(source);
      const line = `Error: Cannot restore backup "${id}": it was taken from PostgreSQL 17 (17.2) ` +
        `and the target server runs the older PostgreSQL 15 (${here}), which may not create ` +
        "what it holds (use --ignore-version to try anyway)\n";
      const target = uniqueName("restored");
      for (
        const args of [
          ["--to", target, "--create"],
          ["--clean", "--force"],
          ["--dry-run"],
          ["--to", target, "--dry-run"],
        ]
      ) {
        const refused = await runCli(["restore", ...common, id, ...args]);
        assert.equal(refused.code, 6, `${args.join(" ")}: ${refused.stderr}`);
        assert.equal(refused.stderr, line, args.join(" "));
      }
      assert.equal(await databaseExists(cluster.url, target), false, "nothing created");
      assert.deepEqual(await listNames(ws.dir), files, "no safety backup, nothing written");
      assert.deepEqual(await dataDigests(source), before, "the source is as it was");

      const ignoredDry = await runCli(["restore", ...common, id, "--dry-run", "--ignore-version"]);
      assert.equal(ignoredDry.code, 0, ignoredDry.stderr);
      assert.match(
        ignoredDry.stdout,
        /versions: backup 17\.2 .*, target 15\.\S+ .*\(ignored with --ignore-version: it was taken from PostgreSQL 17 /,
      );
      const loaded = await runCli([
        "restore",
        ...common,
        id,
        "--to",
        target,
        "--create",
        "--ignore-version",
      ]);
      assert.equal(loaded.code, 0, loaded.stderr);
      assert.deepEqual(await dataDigests(databaseUrl(cluster.url, target)), before);
    });
  } finally {
    await cluster.stop();
  }
});

Deno.test("the restore API refuses an older target (409) unless ignoreVersion", async () => {
  const api = await startApiFixture({ engine: "postgres", backups: 1 });
  try {
    const { backups } = await (await api.request("/api/v1/backups")).json() as {
      backups: { id: string }[];
    };
    const id = backups[0].id;
    await claimServerVersion(api.dir, id, NEWER);
    const restore = (body: Record<string, unknown>) =>
      api.request(`/api/v1/backups/${id}/restore`, { method: "POST", body: JSON.stringify(body) });
    for (const body of [{ dryRun: true }, { confirm: api.database.split("/").pop() }]) {
      const refused = await restore(body);
      assert.equal(refused.status, 409, JSON.stringify(body));
      const { error } = await refused.json() as { error: { code: string; message: string } };
      assert.equal(error.code, "refused");
      assert.match(
        error.message,
        /it was taken from PostgreSQL 17 \(17\.2\) and the target server/,
      );
    }
    const plan = await restore({ dryRun: true, ignoreVersion: true });
    assert.equal(plan.status, 200);
    const { plan: { version } } = await plan.json() as {
      plan: { version: { ignored: boolean; backup: string } };
    };
    assert.deepEqual([version.ignored, version.backup], [true, NEWER]);
  } finally {
    await api.stop();
  }
});

Deno.test("restore --help documents --ignore-version", async () => {
  const help = await runCli(["restore", "--help"]);
  assert.match(help.stdout, /--ignore-version\s+restore into a target older than the backup/);
  assert.match(help.stdout, /The target's version is checked first/);
});
