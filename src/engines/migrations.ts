/**
 * Tables in which common migration tools record the schema version, and the query that reads the
 * current version from each. Both engines run these (the SQL is portable) inside the dump's
 * snapshot, so the sidecar tells which application version a backup belongs to.
 */
export const MIGRATION_TABLES: readonly { table: string; query: string }[] = [
  { table: "alembic_version", query: 'SELECT version_num FROM "alembic_version" LIMIT 1' },
  {
    table: "schema_migrations",
    query: 'SELECT version FROM "schema_migrations" ORDER BY version DESC LIMIT 1',
  },
  {
    table: "knex_migrations",
    query: 'SELECT name FROM "knex_migrations" ORDER BY id DESC LIMIT 1',
  },
  {
    table: "_prisma_migrations",
    query: 'SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL ' +
      "AND rolled_back_at IS NULL ORDER BY migration_name DESC LIMIT 1",
  },
  {
    table: "flyway_schema_history",
    query: 'SELECT version FROM "flyway_schema_history" WHERE success AND version IS NOT NULL ' +
      "ORDER BY installed_rank DESC LIMIT 1",
  },
  {
    table: "__drizzle_migrations",
    query: 'SELECT hash FROM "__drizzle_migrations" ORDER BY created_at DESC LIMIT 1',
  },
];
