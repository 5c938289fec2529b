/**
 * The schema reader's plan as a restorable script, for the reader's own tests before (and
 * independently of) the engine's dump writer: the pg_dump header, pre-data, each table's rows
 * copied by stock psql as `COPY ... FROM stdin` blocks, then post-data. Loading it with
 * `psql --single-transaction` and comparing against the source with pg_dump is the oracle.
 */
import postgres from "postgres";
import { readSchemaPlan } from "../../src/engines/postgres/_schema.ts";
import type { SchemaOptions, SchemaPlan } from "../../src/engines/postgres/_model.ts";
import { psql, psqlFile } from "./pg_tools.ts";
import { SESSION_SETTINGS } from "../../src/engines/postgres/_script.ts";

/** Runs `fn` on a one-connection client to `url`, closed afterwards. */
export async function withConnection<T>(
  url: string,
  fn: (sql: postgres.Sql) => Promise<T>,
): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

/** Reads the plan in a `REPEATABLE READ, READ ONLY` snapshot, as the dump does. */
export function readPlan(url: string, options: SchemaOptions = {}): Promise<SchemaPlan> {
  return withConnection(url, (sql) =>
    sql.begin(
      "isolation level repeatable read read only",
      (tx) => readSchemaPlan(tx, options),
    ) as Promise<SchemaPlan>);
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
