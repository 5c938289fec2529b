/**
 * A whole PostgreSQL server through the command line, on real clusters: a source with several
 * databases and roles (a password, memberships with admin option and grantor, per-role and
 * per-role-per-database settings, a default-privilege entry, objects owned by different roles
 * across databases, a tablespace in a temporary directory), backed up with `create
 * --all-databases`, verified, restored with `restore --all` into a fresh cluster and compared by
 * the oracle database by database and by catalog queries for the globals; then `--database NAME
 * --to URL`, `--globals-only` (existing roles left alone and said so), `--no-role-passwords`,
 * dry runs, and the stock `gunzip | psql` path.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { startCluster, type TestCluster } from "../helpers/pg_cluster.ts";
import { runCli } from "../helpers/cli.ts";
import { withWorkspace } from "../helpers/workspace.ts";
import { databaseUrl, PG_BIN, psql } from "../helpers/pg_tools.ts";

/**
 * `gunzip -c FILE | psql` as the README says: the globals without stopping at errors (a role
 * that exists fails its CREATE ROLE, as with pg_dumpall), a database in one transaction.
 */
async function psqlPipe(url: string, file: string, strict = false): Promise<void> {
  const sql = gunzipSync(await Deno.readFile(file));
  const flags = strict ? ["-v", "ON_ERROR_STOP=1", "--single-transaction"] : [];
  const child = new Deno.Command(join(PG_BIN, "psql"), {
    args: ["-X", "-q", ...flags, "-d", url],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(sql);
  await writer.close();
  const output = await child.output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
}
import { assertSameDatabase } from "../helpers/pg_compare.ts";

/** The source's globals and databases. `TABLESPACE_DIR` is replaced by a temporary directory. */
const GLOBALS = `
  CREATE ROLE app_owner LOGIN PASSWORD 'secret-pw-1' CONNECTION LIMIT 5
    VALID UNTIL '2030-01-01 00:00:00+00';
  CREATE ROLE reader NOLOGIN;
  CREATE ROLE "Mixed Case" LOGIN CREATEDB;
  GRANT reader TO app_owner WITH ADMIN OPTION;
  GRANT reader TO "Mixed Case" GRANTED BY app_owner;
  GRANT pg_read_all_stats TO reader;
  ALTER ROLE reader SET statement_timeout = '5s';
  ALTER ROLE app_owner SET search_path = app, public;
  COMMENT ON ROLE reader IS E'read-only\\nrole, it''s \\\\ quoted';
  CREATE TABLESPACE ts1 OWNER app_owner LOCATION 'TABLESPACE_DIR';
  GRANT CREATE ON TABLESPACE ts1 TO reader;
  CREATE DATABASE app OWNER app_owner;
  CREATE DATABASE "other db" OWNER "Mixed Case";
  ALTER ROLE reader IN DATABASE app SET work_mem = '8MB';
`;

const APP = `
  CREATE SCHEMA s AUTHORIZATION app_owner;
  SET ROLE app_owner;
  CREATE TABLE s.items (id int PRIMARY KEY, name text);
  INSERT INTO s.items SELECT g, 'item ' || g FROM generate_series(1, 200) g;
  RESET ROLE;
  ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA s GRANT SELECT ON TABLES TO reader;
  CREATE TABLE public.in_ts (id int) TABLESPACE ts1;
  INSERT INTO public.in_ts SELECT generate_series(1, 50);
  CREATE TABLE public.schema_migrations (version text);
  INSERT INTO public.schema_migrations VALUES ('20261201');
`;

const OTHER = `
  SET ROLE "Mixed Case";
  CREATE TABLE notes (id bigint, body text);
  INSERT INTO notes SELECT g, repeat('x', g % 17) FROM generate_series(1, 120) g;
  RESET ROLE;
  GRANT SELECT ON notes TO reader;
`;

/** The globals as catalog rows, for comparing two servers. */
async function globalsOf(url: string): Promise<Record<string, string>> {
  const query = (sql: string) => psql(url, sql).then((out) => out.trim());
  return {
    roles: await query(`SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb,
        rolcanlogin, rolreplication, rolbypassrls, rolconnlimit, rolvaliduntil,
        shobj_description(oid, 'pg_authid')
      FROM pg_authid WHERE rolname !~ '^pg_' AND rolname <> 'postgres' ORDER BY 1`),
    passwords: await query(`SELECT rolname, rolpassword FROM pg_authid
      WHERE rolname !~ '^pg_' AND rolname <> 'postgres' ORDER BY 1`),
    memberships: await query(`SELECT r.rolname, m.rolname, g.rolname, a.admin_option
      FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid
      JOIN pg_roles m ON m.oid = a.member LEFT JOIN pg_roles g ON g.oid = a.grantor
      WHERE NOT (r.rolname ~ '^pg_' AND m.rolname ~ '^pg_') ORDER BY 1, 2`),
    settings: await query(`SELECT r.rolname, d.datname, s.setconfig FROM pg_db_role_setting s
      LEFT JOIN pg_roles r ON r.oid = s.setrole LEFT JOIN pg_database d ON d.oid = s.setdatabase
      ORDER BY 1, 2`),
    databases: await query(`SELECT datname, pg_get_userbyid(datdba), datacl FROM pg_database
      WHERE NOT datistemplate ORDER BY 1`),
    tablespaces: await query(`SELECT spcname, pg_get_userbyid(spcowner), spcacl
      FROM pg_tablespace WHERE spcname !~ '^pg_' ORDER BY 1`),
  };
}

/** A tablespace directory the server may use: empty, owned by the `postgres` user. */
async function tablespaceDir(parent: string, name: string): Promise<string> {
  const dir = join(parent, name);
  await Deno.mkdir(dir);
  if (Deno.uid() === 0) {
    const chown = await new Deno.Command("chown", { args: ["postgres", parent, dir] }).output();
    assert.ok(chown.success);
  }
  return dir;
}

Deno.test("a whole PostgreSQL server: create --all-databases, restore --all into a fresh cluster", async (t) => {
  const clusters: TestCluster[] = [];
  const spaces = await Deno.makeTempDir({ prefix: "backup-manager-ts-" });
  try {
    const [source, target] = await Promise.all([startCluster(), startCluster()]);
    clusters.push(source, target);
    await psql(
      source.url,
      GLOBALS.replace("TABLESPACE_DIR", await tablespaceDir(spaces, "source")),
    );
    await psql(databaseUrl(source.url, "app"), APP);
    await psql(databaseUrl(source.url, "other db"), OTHER);
    // the target has the tablespace already, elsewhere: it is left as it is
    await psql(
      target.url,
      `CREATE TABLESPACE ts1 LOCATION '${await tablespaceDir(spaces, "target")}'`,
    );

    await withWorkspace(async (ws) => {
      const common = ["--dir", ws.dir];
      let id = "";
      await t.step(
        "create --all-databases writes the globals and one part per database",
        async () => {
          const created = await runCli([
            "create",
            "--database",
            source.url,
            "--all-databases",
            ...common,
            "--format",
            "json",
          ]);
          assert.equal(created.code, 0, created.stderr);
          const meta = JSON.parse(created.stdout);
          id = meta.id;
          assert.deepEqual(meta.server, {
            databases: ["app", "other db", "postgres"],
            rolePasswords: true,
          });
          assert.deepEqual(
            meta.parts.map((p: { kind: string; name: string; file: { name: string } }) => [
              p.kind,
              p.name,
              p.file.name,
            ]),
            [
              ["database", "app", `${id}.db-app.sql.gz`],
              ["database", "other db", `${id}.db-other%20db.sql.gz`],
              ["database", "postgres", `${id}.db-postgres.sql.gz`],
            ],
          );
          assert.deepEqual(
            meta.parts[0].tables.map((x: { name: string; rows: number }) => [x.name, x.rows]),
            [["public.in_ts", 50], ["public.schema_migrations", 1], ["s.items", 200]],
          );
          assert.equal(meta.totals.rows, 371);
          assert.ok(!created.stdout.includes("SCRAM-SHA-256"), "no hash in the output");
          for (const part of [meta.file, ...meta.parts.map((p: { file: unknown }) => p.file)]) {
            const info = await Deno.stat(join(ws.dir, (part as { name: string }).name));
            assert.equal(info.mode! & 0o777, 0o600);
          }
          const globals = new TextDecoder().decode(
            gunzipSync(await Deno.readFile(join(ws.dir, meta.file.name))),
          );
          assert.match(globals, /^ALTER ROLE "app_owner" WITH .* PASSWORD 'SCRAM-SHA-256\$/m);
          assert.match(
            globals,
            /^GRANT "reader" TO "app_owner" WITH ADMIN OPTION GRANTED BY "postgres";$/m,
          );
          assert.match(globals, /^CREATE TABLESPACE "ts1" OWNER app_owner LOCATION '/m);
        },
      );

      await t.step("verify checks the globals and every database", async () => {
        const verified = await runCli(["verify", "--database", source.url, ...common, id]);
        assert.equal(verified.code, 0, verified.stdout + verified.stderr);
      });

      await t.step("restore --dry-run says what would happen and changes nothing", async () => {
        const dry = await runCli([
          "restore",
          id,
          "--all",
          "--to",
          target.url,
          ...common,
          "--dry-run",
        ]);
        assert.equal(dry.code, 0, dry.stderr);
        assert.match(dry.stdout, /Role "postgres" exists: left as it is/);
        assert.match(dry.stdout, /database "app" -> .*: does not exist and would be created/);
        assert.match(dry.stdout, /Nothing was changed\./);
        assert.equal(
          (await psql(target.url, "SELECT count(*) FROM pg_roles WHERE rolname = 'reader'")).trim(),
          "0",
        );
      });

      await t.step(
        "restore --all recreates roles and every database in a fresh cluster",
        async () => {
          const restored = await runCli([
            "restore",
            id,
            "--all",
            "--to",
            target.url,
            ...common,
            "--force",
          ]);
          assert.equal(restored.code, 0, restored.stdout + restored.stderr);
          assert.match(restored.stdout, /^Role "postgres" exists: left as it is$/m);
          assert.match(restored.stdout, /^Tablespace "ts1" exists: left as it is$/m);
          assert.match(restored.stdout, /Restored database "other db" into /);
          assert.ok(
            !(restored.stdout + restored.stderr).includes("SCRAM"),
            "no hash in the output",
          );
          assert.deepEqual(
            { ...await globalsOf(target.url), tablespaces: "" },
            { ...await globalsOf(source.url), tablespaces: "" },
          );
          for (const name of ["app", "other db", "postgres"]) {
            await assertSameDatabase(databaseUrl(source.url, name), databaseUrl(target.url, name));
          }
        },
      );

      await t.step(
        "restore --all again: existing databases refused before anything changes",
        async () => {
          const again = await runCli([
            "restore",
            id,
            "--all",
            "--to",
            target.url,
            ...common,
            "--force",
          ]);
          assert.equal(again.code, 6, again.stdout + again.stderr);
          assert.match(again.stderr, /Cannot restore database "app" of backup .* is not empty/);
        },
      );

      await t.step("restore --database NAME --to URL restores one database", async () => {
        const copy = databaseUrl(target.url, "app_copy");
        const one = await runCli(["restore", id, "--database", "app", "--to", copy, ...common]);
        assert.equal(one.code, 0, one.stdout + one.stderr);
        await assertSameDatabase(databaseUrl(source.url, "app"), copy);
      });

      await t.step("restore --globals-only leaves existing roles alone and says so", async () => {
        await psql(target.url, "ALTER ROLE reader RESET statement_timeout");
        const only = await runCli(["restore", id, "--globals-only", "--to", target.url, ...common]);
        assert.equal(only.code, 0, only.stdout + only.stderr);
        assert.match(only.stdout, /^Role "reader" exists: left as it is$/m);
        assert.match(only.stdout, / 1 settings added/);
        assert.equal(
          (await psql(
            target.url,
            "SELECT setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE rolname = 'reader' AND setdatabase = 0",
          )).trim(),
          "{statement_timeout=5s}",
        );
      });

      await t.step(
        "a role that may not create roles is refused in one line before anything is touched",
        async () => {
          await psql(target.url, "CREATE ROLE plain_login LOGIN");
          const before = await globalsOf(target.url);
          const url = new URL(target.url);
          url.username = "plain_login";
          const refused = await runCli([
            "restore",
            id,
            "--globals-only",
            "--to",
            url.href,
            ...common,
          ]);
          assert.equal(refused.code, 6, refused.stdout + refused.stderr);
          assert.equal(refused.stderr.trim().split("\n").length, 1, refused.stderr);
          assert.match(refused.stderr, /CREATEROLE|superuser/);
          assert.deepEqual(await globalsOf(target.url), before);
        },
      );

      await t.step(
        "the stock path: gunzip | psql for the globals and for one database",
        async () => {
          const third = await startCluster();
          clusters.push(third);
          // the source's tablespace directory is in use: this server has its own
          await psql(
            third.url,
            `CREATE TABLESPACE ts1 LOCATION '${await tablespaceDir(spaces, "third")}'`,
          );
          await psqlPipe(third.url, join(ws.dir, `${id}.sql.gz`));
          await psql(third.url, "CREATE DATABASE app OWNER app_owner");
          await psqlPipe(databaseUrl(third.url, "app"), join(ws.dir, `${id}.db-app.sql.gz`), true);
          // psql into an existing database leaves the database's own properties (as pg_dump without
          // --create does), so the oracle is not used here: the rows are compared
          const rows = (url: string) =>
            psql(databaseUrl(url, "app"), "SELECT count(*) FROM s.items");
          assert.equal(await rows(third.url), await rows(source.url));
          assert.equal(
            (await psql(
              third.url,
              "SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'app_owner'",
            )).trim(),
            "t",
          );
        },
      );

      await t.step(
        "--no-role-passwords leaves the hashes out and says so in the sidecar",
        async () => {
          const created = await runCli([
            "create",
            "--database",
            source.url,
            "--all-databases",
            "--no-role-passwords",
            ...common,
            "--format",
            "json",
          ]);
          assert.equal(created.code, 0, created.stderr);
          const meta = JSON.parse(created.stdout);
          assert.equal(meta.server.rolePasswords, false);
          const text = new TextDecoder().decode(
            gunzipSync(await Deno.readFile(join(ws.dir, meta.file.name))),
          );
          assert.ok(!text.includes("PASSWORD"));
        },
      );
    });
  } finally {
    await Promise.all(clusters.map((c) => c.stop()));
    await Deno.remove(spaces, { recursive: true }).catch(() => {});
  }
});
