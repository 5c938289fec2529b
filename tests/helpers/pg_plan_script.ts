/**
 * The schema reader's plan as a restorable script, for the reader's own tests before (and
 * independently of) the engine's dump writer: the pg_dump header, pre-data, each table's rows
 * copied by stock psql as `COPY ... FROM stdin` blocks, then post-data. Loading it with
 * `psql --single-transaction` and comparing against the source with pg_dump is the oracle.
 */
import type postgres from "postgres";
import { readSchemaPlan } from "../../src/engines/postgres/_schema.ts";
import { CopyOutLanes } from "../../src/engines/postgres/_copy_lanes.ts";
import { openConnection, parseLocation } from "../../src/engines/postgres/_connection.ts";
import type { SchemaOptions, SchemaPlan } from "../../src/engines/postgres/_model.ts";
import { psql, psqlFile } from "./pg_tools.ts";
import { SESSION_SETTINGS } from "../../src/engines/postgres/_script.ts";

/**
 * Runs `fn` on a one-connection client to `url`, closed afterwards. The client is the dump's own
 * kind (`openConnection`: no type fetch, our array parsers), never a default postgres.js client,
 * which parses arrays the dump's connections would not (issue 10: a reader passed here and
 * crashed in `create`).
 */
export async function withConnection<T>(
  url: string,
  fn: (sql: postgres.Sql) => Promise<T>,
): Promise<T> {
  const connection = openConnection(parseLocation(url));
  try {
    return await fn(connection.sql);
  } finally {
    await connection.end();
  }
}

/** Options of {@linkcode readPlan}. */
export interface ReadPlanOptions extends SchemaOptions {
  /**
   * Helper connections (the dump's lanes, on the same snapshot) that run the catalog queries
   * ahead, as `create --jobs N` does. Default 0: every query on the main transaction.
   */
  helpers?: number;
}

/** Reads the plan in a `REPEATABLE READ, READ ONLY` snapshot, as the dump does. */
export function readPlan(url: string, options: ReadPlanOptions = {}): Promise<SchemaPlan> {
  const { helpers = 0, ...schema } = options;
  return withConnection(
    url,
    (sql) =>
      sql.begin("isolation level repeatable read read only", async (tx) => {
        if (helpers === 0) return await readSchemaPlan(tx, schema);
        const [{ id }] = await tx<{ id: string }[]>`SELECT pg_catalog.pg_export_snapshot() AS id`;
        const lanes = await CopyOutLanes.open(parseLocation(url), id, helpers);
        try {
          if (lanes.size !== helpers) throw new Error(`Opened ${lanes.size} of ${helpers} lanes`);
          return await readSchemaPlan(tx, { ...schema, helpers: lanes.transactions });
        } finally {
          await lanes.close();
        }
      }) as Promise<SchemaPlan>,
  );
}

/** The plan as a restorable script, with each table's rows copied from `url` by psql. */
export async function scriptOf(url: string, plan: SchemaPlan): Promise<string> {
  let script = SESSION_SETTINGS;
  for (const item of plan.preData) script += item.sql;
  for (const t of plan.data) {
    const columns = t.columns.join(", ");
    const source = t.where
      ? `(SELECT ${columns} FROM ${t.qualifiedName} ${t.where})`
      : `${t.qualifiedName} (${columns})`;
    const rows = await psql(url, `COPY ${source} TO STDOUT`);
    script += `COPY ${t.qualifiedName} (${columns}) FROM stdin;\n${rows}\\.\n`;
  }
  for (const item of plan.postData) script += item.sql;
  return script;
}

/** Writes the script to a file and loads it into `url` as the README tells users to. */
export async function loadScript(url: string, script: string): Promise<void> {
  const file = await Deno.makeTempFile({ suffix: ".sql" });
  try {
    await Deno.writeTextFile(file, script);
    await psqlFile(url, file, { singleTransaction: true });
  } finally {
    await Deno.remove(file);
  }
}
