/**
 * Every command against a real PostgreSQL cluster, in-process: the round trip create → list →
 * verify --restore-test → restore --to NAME --create, the stock psql restore of the same file,
 * table patterns, and a password that never shows up anywhere.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { startCluster } from "../helpers/pg_cluster.ts";
import { runCli } from "../helpers/cli.ts";
import { withWorkspace } from "../helpers/workspace.ts";
import {
  createDatabase,
  databaseUrl,
  psql,
  restoreWithPsql,
  uniqueName,
} from "../helpers/pg_tools.ts";
import { dataDigests } from "../helpers/pg_digests.ts";

const SCHEMA = `
  CREATE TABLE accounts (id int PRIMARY KEY, name text NOT NULL, balance numeric);
  CREATE TABLE events (id bigint, payload bytea, note text);
  CREATE INDEX events_id ON events (id);
  CREATE TABLE schema_migrations (version text);
  INSERT INTO accounts SELECT g, 'name ' || g || E'\\t\\\\.\\n', g * 1.5 FROM generate_series(1, 500) g;
  INSERT INTO events SELECT g, '\\x00ff'::bytea, CASE WHEN g % 2 = 0 THEN NULL ELSE '\\N' END
    FROM generate_series(1, 300) g;
  INSERT INTO schema_migrations VALUES ('20260101'), ('20261122');
  SELECT lo_from_bytea(0, '\\x000102'::bytea);`;

Deno.test("PostgreSQL through the command line", async (t) => {
  const cluster = await startCluster();
  try {
    await t.step("create, list, verify --restore-test, restore --to NAME --create", async () => {
      await withWorkspace(async (ws) => {
        const source = await createDatabase(cluster.url, uniqueName("app"));
        await psql(source, SCHEMA);
        const common = ["--database", source, "--dir", ws.dir];
        const created = await runCli(["create", ...common, "--format", "json"]);
        assert.equal(created.code, 0, created.stderr);
        const meta = JSON.parse(created.stdout);
        assert.equal(meta.engine, "postgres");
        assert.deepEqual(meta.tables.map((x: { name: string; rows: number }) => [x.name, x.rows]), [
          ["public.accounts", 500],
          ["public.events", 300],
          ["public.schema_migrations", 2],
        ]);
        assert.deepEqual(meta.migration, { table: "schema_migrations", version: "20261122" });
        assert.equal(meta.settings.encoding, "UTF8");
        assert.match(meta.engineVersion, /^\d+\.\d+/);
        assert.equal(meta.database.host, `127.0.0.1:${cluster.port}`);

        const listed = await runCli(["list", "--dir", ws.dir]);
        assert.match(listed.stdout, new RegExp(`${meta.id}\\s+full`));

        const verified = await runCli(["verify", ...common, "--restore-test", meta.id]);
        assert.equal(verified.code, 0, verified.stdout + verified.stderr);
        assert.match(verified.stdout, /ok\s+restore test/);

        const target = uniqueName("restored");
        const restored = await runCli(["restore", ...common, meta.id, "--to", target, "--create"]);
        assert.equal(restored.code, 0, restored.stderr);
        assert.deepEqual(
          await dataDigests(databaseUrl(cluster.url, target)),
          await dataDigests(source),
        );

        const again = await runCli(["restore", ...common, meta.id, "--to", target, "--force"]);
        assert.equal(again.code, 6);
        assert.match(again.stderr, /is not empty \(use --clean/);

        const dry = await runCli(["restore", ...common, meta.id, "--to", target, "--dry-run"]);
        assert.equal(dry.code, 0, dry.stderr);
        assert.match(
          dry.stdout,
          /migration: backup 20261122 \(schema_migrations\), current 20261122/,
        );
        assert.match(dry.stdout, /public\.accounts\s+500\s+500/);
        assert.match(dry.stdout, /target is not empty: refused without --clean/);
        const dryClean = await runCli([
          "restore",
          ...common,
          meta.id,
          "--to",
          target,
          "--clean",
          "--dry-run",
        ]);
        assert.match(
          dryClean.stdout,
          /target exists and would be replaced \(after a safety backup\)/,
        );

        const stock = await createDatabase(cluster.url, uniqueName("stock"));
        await restoreWithPsql(stock, join(ws.dir, meta.file.name));
        assert.deepEqual((await dataDigests(stock)).tables, (await dataDigests(source)).tables);
      });
    });

    await t.step("--clean replaces a modified target after a safety backup", async () => {
      await withWorkspace(async (ws) => {
        const source = await createDatabase(cluster.url, uniqueName("app"));
        await psql(source, SCHEMA);
        const common = ["--database", source, "--dir", ws.dir];
        const created = await runCli(["create", ...common, "--format", "json"]);
        const id = JSON.parse(created.stdout).id;
        const before = await dataDigests(source);
        await psql(source, "DELETE FROM accounts WHERE id > 10; DROP TABLE events;");
        const restored = await runCli(["restore", ...common, id, "--clean", "--force"]);
        assert.equal(restored.code, 0, restored.stderr);
        assert.match(restored.stdout, /safety backup of the previous database: pre-restore_/);
        assert.deepEqual((await dataDigests(source)).tables, before.tables);
      });
    });

    await t.step(
      "--table and --exclude-table choose tables; a pattern matching none is exit 2",
      async () => {
        await withWorkspace(async (ws) => {
          const source = await createDatabase(cluster.url, uniqueName("app"));
          await psql(source, SCHEMA);
          const common = ["--database", source, "--dir", ws.dir, "--format", "json"];
          const some = await runCli([
            "create",
            ...common,
            "--table",
            "public.*",
            "--exclude-table",
            "ev*",
          ]);
          assert.equal(some.code, 0, some.stderr);
          assert.deepEqual(JSON.parse(some.stdout).tables.map((x: { name: string }) => x.name), [
            "public.accounts",
            "public.schema_migrations",
          ]);
          const none = await runCli(["create", ...common, "--table", "nope*"]);
          assert.equal(none.code, 2);
          assert.equal(
            none.stderr,
            "Error: No table matches --table nope* (check the name; patterns take * and ?)\n",
          );
        });
      },
    );

    await t.step("a password never appears in output, sidecars, backups or errors", async () => {
      if (cluster.socketDir === "") return; // an external server's roles are not ours to change
      await withWorkspace(async (ws) => {
        const secret = "s3cr3t-Pa55-word";
        const name = uniqueName("pw");
        const source = await createDatabase(cluster.url, name);
        await psql(source, `${SCHEMA} CREATE ROLE pw_cli LOGIN SUPERUSER PASSWORD '${secret}';`);
        const withPassword = `postgres://pw_cli:${secret}@127.0.0.1:${cluster.port}/${name}`;
        const withoutPassword = `postgres://pw_cli@127.0.0.1:${cluster.port}/${name}`;
        const outputs: string[] = [];
        const run = async (args: string[], env: Record<string, string> = {}) => {
          const result = await runCli(args, { env });
          outputs.push(result.stdout, result.stderr);
          return result;
        };
        const created = await run([
          "create",
          "--database",
          withPassword,
          "--dir",
          ws.dir,
          "--format",
          "json",
        ]);
        assert.equal(created.code, 0, created.stderr);
        const id = JSON.parse(created.stdout).id;
        await run(["create", "--database", withoutPassword, "--dir", ws.dir], {
          PGPASSWORD: secret,
        });
        await run(["list", "--dir", ws.dir]);
        await run(["status", "--database", withPassword, "--dir", ws.dir]);
        await run(["verify", "--database", withPassword, "--dir", ws.dir, "--restore-test", id]);
        await run(["restore", "--database", withPassword, "--dir", ws.dir, id, "--dry-run"]);
        await run(["restore", "--database", withPassword, "--dir", ws.dir, id, "--force"]);
        const missing = await run([
          "create",
          "--database",
          `${withPassword}_missing`,
          "--dir",
          ws.dir,
        ]);
        assert.equal(missing.code, 3);
        assert.match(
          missing.stderr,
          /^Error: Cannot back up "postgres:\/\/pw_cli@127\.0\.0\.1:\d+\/pw_\w+_missing": the database does not exist/,
        );
        for (const entry of Deno.readDirSync(ws.dir)) {
          const bytes = await Deno.readFile(join(ws.dir, entry.name));
          const text = entry.name.endsWith(".gz") ? gunzipSync(bytes) : bytes;
          outputs.push(new TextDecoder().decode(text));
        }
        for (const text of outputs) {
          assert.ok(!text.includes(secret), `leaked in: ${text.slice(0, 300)}`);
        }
      });
    });
  } finally {
    await cluster.stop();
  }
});
