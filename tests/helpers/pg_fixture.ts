/**
 * The PostgreSQL fixture databases of the round-trip tests: the awkward-values fixture
 * (`tests/fixtures/postgres/values.sql`) loaded with stock psql.
 */
import { fileURLToPath } from "node:url";
import { psqlFile } from "./pg_tools.ts";

/** Path of the awkward-values fixture script. */
export const VALUES_FIXTURE: string = fileURLToPath(
  new URL("../fixtures/postgres/values.sql", import.meta.url),
);

/** Loads the fixture scripts into the (empty) database at `url`. */
export async function loadFixture(url: string): Promise<void> {
  await psqlFile(url, VALUES_FIXTURE);
}
