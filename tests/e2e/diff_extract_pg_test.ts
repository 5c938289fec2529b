/**
 * `diff` and `extract` against a real PostgreSQL cluster: a schema-qualified table with odd
 * names, jsonb, arrays, timestamptz, bytea, numeric, NULLs and text that needs escaping;
 * `--format sql` (a COPY block) loads back with `psql -f` into exactly the rows; `--where`
 * runs in a scratch database that is dropped after, and cannot touch the live one; diff sees
 * rows, tables and columns on one side, a changed type and the migration version.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startCluster } from "../helpers/pg_cluster.ts";
import { runCli } from "../helpers/cli.ts";
import { withWorkspace } from "../helpers/workspace.ts";
import { createDatabase, psql, psqlFile, uniqueName } from "../helpers/pg_tools.ts";
import { ExitCode } from "../../src/core/errors.ts";

const TABLE = `"Sales Data"."Orders ü"`;

const SCHEMA = `
  CREATE SCHEMA "Sales Data";
  CREATE TYPE "Sales Data".state AS ENUM ('new', 'paid');
  CREATE TABLE ${TABLE} (
    id bigint PRIMARY KEY, note text, doc jsonb, tags text[], at timestamptz,
    payload bytea, amount numeric(20, 4), ratio double precision, state "Sales Data".state);
  CREATE TABLE public.users (id int PRIMARY KEY, email text);
  CREATE TABLE schema_migrations (version text PRIMARY KEY);
  INSERT INTO ${TABLE} VALUES
    (1, E'tab\\there, newline\\nand \\\\ backslash', '{"a": [1, 2], "b": null}', '{x,"y z",NULL}',
     '2026-11-23 10:15:00.123456+00', '\\x00ff0a', 12345678901234.5678, 'NaN', 'new'),
    (2, NULL, 'null', '{}', '-infinity', '', -0.0001, '-Infinity', 'paid'),
    (3, '', '"text"', NULL, NULL, NULL, NULL, 1e308, NULL),
    (9007199254740993, 'big id', '[]', '{"\\"quoted\\""}', 'infinity', '\\x', 0, -0.0, 'new');
  INSERT INTO public.users SELECT g, 'u' || g || '@example.com' FROM generate_series(1, 50) g;
  INSERT INTO schema_migrations VALUES ('20261101'), ('20261120');`;

/** Every row of the table as text, in id order: the oracle of the round trip. */
async function rowsOf(url: string): Promise<string> {
  return await psql(url, `SELECT t::text FROM ${TABLE} t ORDER BY id`);
}

Deno.test("diff and extract on PostgreSQL", async (t) => {
  const cluster = await startCluster();
  try {
    await withWorkspace(async (ws) => {
      const source = await createDatabase(cluster.url, uniqueName("app"));
      await psql(source, SCHEMA);
      const common = ["--database", source, "--dir", ws.dir];
      const created = await runCli(["create", ...common, "--format", "json"]);
      assert.equal(created.code, 0, created.stderr);
      const id = JSON.parse(created.stdout).id;
      const original = await rowsOf(source);

      await t.step("extract --format sql loads back with psql -f into the same rows", async () => {
        const file = join(ws.root, "orders.sql");
        const result = await runCli([
          "extract",
          id,
          ...common,
          "--table",
          TABLE,
          "--output",
          file,
        ]);
        assert.equal(result.code, 0, result.stderr);
        assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
        const target = await createDatabase(cluster.url, uniqueName("back"));
        await psql(target, SCHEMA.slice(0, SCHEMA.indexOf("INSERT")));
        await psqlFile(target, file);
        assert.equal(await rowsOf(target), original);
      });

      await t.step("csv and jsonl", async () => {
        const csv = await runCli(["extract", id, ...common, "--table", TABLE, "--format", "csv"]);
        assert.equal(csv.code, 0, csv.stderr);
        assert.match(csv.stdout, /^id,note,doc,tags,at,payload,amount,ratio,state\r?\n/);
        assert.ok(csv.stdout.includes('"tab\there, newline\nand \\ backslash"'), csv.stdout);
        const jsonl = await runCli([
          "extract",
          id,
          ...common,
          "--table",
          TABLE,
          "--format",
          "jsonl",
        ]);
        assert.equal(jsonl.code, 0, jsonl.stderr);
        const rows = jsonl.stdout.trim().split("\n").map((l) => JSON.parse(l));
        assert.equal(rows.length, 4);
        assert.equal(rows[0].note, "tab\there, newline\nand \\ backslash");
        assert.equal(rows[1].note, null);
        assert.equal(rows[2].note, "");
        assert.equal(String(rows[3].id), "9007199254740993", "a bigint past 2^53 stays exact");
      });

      await t.step(
        "--where runs in a scratch database, dropped after; bad SQL is one line",
        async () => {
          const databases = () => psql(cluster.url, "SELECT datname FROM pg_database ORDER BY 1");
          const before = await databases();
          const some = await runCli([
            "extract",
            id,
            ...common,
            "--table",
            TABLE,
            "--where",
            "state = 'new' AND id < 100",
            "--format",
            "jsonl",
          ]);
          assert.equal(some.code, 0, some.stderr);
          assert.deepEqual(
            some.stdout.trim().split("\n").map((l) => JSON.parse(l).id),
            [1],
          );
          const bad = await runCli([
            "extract",
            id,
            ...common,
            "--table",
            TABLE,
            "--where",
            "nope >",
          ]);
          assert.notEqual(bad.code, 0);
          assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
          const hostile = await runCli([
            "extract",
            id,
            ...common,
            "--table",
            "users",
            "--where",
            "true; DROP TABLE public.users; --",
          ]);
          assert.notEqual(hostile.code, 0, hostile.stdout);
          assert.equal((await psql(source, "SELECT count(*) FROM public.users")).trim(), "50");
          assert.equal(await databases(), before, "no scratch database left");
        },
      );

      await t.step("a table that is not in the backup exits 3", async () => {
        const missing = await runCli(["extract", id, ...common, "--table", "public.user"]);
        assert.equal(missing.code, ExitCode.NotFound, missing.stderr);
      });

      await t.step(
        "diff: rows, tables, columns, a changed type, the migration version",
        async () => {
          const same = await runCli(["diff", id, ...common]);
          assert.equal(same.code, 0, same.stdout + same.stderr);
          await psql(
            source,
            `DELETE FROM public.users WHERE id > 40; ALTER TABLE public.users ADD COLUMN name text;
           ALTER TABLE public.users ALTER COLUMN email TYPE varchar(200);
           CREATE TABLE public.audit (at timestamptz);
           INSERT INTO schema_migrations VALUES ('20261201');`,
          );
          const json = await runCli(["diff", id, ...common, "--format", "json"]);
          assert.equal(json.code, 1, json.stderr);
          const result = JSON.parse(json.stdout);
          const byName = Object.fromEntries(
            result.tables.map((t: { name: string }) => [t.name, t]),
          );
          assert.deepEqual(
            [byName["public.users"].backupRows, byName["public.users"].liveRows],
            [50, 40],
          );
          assert.deepEqual(byName["public.users"].liveOnlyColumns, [{
            name: "name",
            type: "text",
          }]);
          assert.deepEqual(byName["public.users"].typeChanges, [
            { name: "email", backupType: "text", liveType: "character varying(200)" },
          ]);
          assert.equal(byName["public.audit"].status, "live-only");
          assert.equal(byName[`Sales Data.Orders ü`].status, "same");
          assert.equal(result.migration.backup.version, "20261120");
          assert.equal(result.migration.live.version, "20261201");
        },
      );
    });
  } finally {
    await cluster.stop();
  }
});
