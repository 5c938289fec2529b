/**
 * The PostgreSQL fixture database of the round-trip tests: the schema fixture
 * (`tests/fixtures/postgres/schema.sql`, every object kind) and then the awkward-values fixture
 * (`values.sql`, every common type at its edges), loaded with stock psql.
 */
import { fileURLToPath } from "node:url";
import { psql, psqlFile, quoteIdent } from "./pg_tools.ts";

/** Path of the schema fixture script. */
export const SCHEMA_FIXTURE: string = fileURLToPath(
  new URL("../fixtures/postgres/schema.sql", import.meta.url),
);

/** Path of the awkward-values fixture script. */
export const VALUES_FIXTURE: string = fileURLToPath(
  new URL("../fixtures/postgres/values.sql", import.meta.url),
);

/** Roles the schema fixture expects to exist (cluster-wide). */
export const FIXTURE_ROLES: readonly string[] = ["bm_owner", "bm_reader", "bm Writer"];

/** Creates the {@linkcode FIXTURE_ROLES} on the server of `url` unless they exist. */
export async function createFixtureRoles(url: string): Promise<void> {
  for (const role of FIXTURE_ROLES) {
    await psql(
      url,
      `DO $$ BEGIN CREATE ROLE ${
        quoteIdent(role)
      }; EXCEPTION WHEN duplicate_object THEN NULL; END $$;`,
    );
  }
}

/** Loads both fixture scripts into the (empty) database at `url`, roles first. */
export async function loadFixture(url: string): Promise<void> {
  await createFixtureRoles(url);
  await psqlFile(url, SCHEMA_FIXTURE);
  await psqlFile(url, VALUES_FIXTURE);
}
