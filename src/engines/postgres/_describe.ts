/**
 * What a PostgreSQL database holds, for `restore --dry-run`, restore tests and the check that a
 * restore target is empty. Counted exactly, in one snapshot, with the table names the dump
 * records (`schema.table`).
 */
import type postgres from "npm:postgres@3.4.9";
import type { DatabaseInfo } from "../engine.ts";
import type { Connection } from "./_connection.ts";
import { tableName } from "./_dump.ts";
import { listTables, readMigrationVersion } from "./_schema_info.ts";

/** Server version, size, tables with exact row counts, and the migration version. */
export async function describeDatabase(connection: Connection): Promise<DatabaseInfo> {
  return await connection.sql.begin("ISOLATION LEVEL REPEATABLE READ READ ONLY", async (tx) => {
    const [facts] = await tx<{ version: string; size: string }[]>`
      SELECT current_setting('server_version') AS version,
             pg_database_size(current_database())::text AS size`;
    const tables = await listTables(tx);
    return {
      engineVersion: facts.version,
      sizeBytes: Number(facts.size),
      tables: tables.map((t) => ({ name: tableName(t), rows: t.rows })),
      migration: await readMigrationVersion(tx),
    };
  });
}

/**
 * Whether the database holds no objects of its own: no relations, routines, types, schemas
 * (other than `public`), extensions (other than `plpgsql`) or large objects. Only such a
 * database is restored into without `--clean`.
 */
export async function isEmptyDatabase(sql: postgres.Sql | postgres.TransactionSql) {
  const [row] = await sql<{ objects: number }[]>`
    SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_')
         + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_')
         + (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_')
         + (SELECT count(*) FROM pg_namespace
            WHERE nspname NOT IN ('public', 'information_schema') AND nspname !~ '^pg_')
         + (SELECT count(*) FROM pg_extension WHERE extname <> 'plpgsql')
         + (SELECT count(*) FROM pg_largeobject_metadata) AS objects`;
  return Number(row.objects) === 0;
}
