/**
 * PostgreSQL maintenance: `VACUUM (ANALYZE)` of the tables autovacuum's formulas say need it
 * (`_vacuum_need.ts`), one at a time, with dead tuples before and after; then the `amcheck`
 * checks where the extension is installed in the database (`bt_index_check` of every btree index
 * with `heapallindexed`, `verify_heapam` of every table when the extension has it). The tool never
 * installs amcheck: it says how. A table another session holds a lock on past the busy timeout is
 * skipped ("skipped: busy"), not waited for.
 */
import type { Connection } from "./_connection.ts";
import { quoteIdentifier } from "./_databases.ts";
import {
  MAINTAIN_DEFAULTS,
  type MaintainOptions,
  type MaintenanceReport,
  type MaintenanceStep,
  MAX_PROBLEMS,
} from "../maintenance.ts";
import {
  autovacuumSettingsOf,
  overridesOf,
  type TableActivity,
  tablesNeedingVacuum,
} from "./_vacuum_need.ts";
import { formatBytes } from "../../core/units.ts";
import { messageOf } from "../../core/errors.ts";

type StepResult = Omit<MaintenanceStep, "name" | "durationMs">;

/** Maintains the database `connection` is on; see the module comment. */
export async function maintainPostgres(
  connection: Connection,
  options: MaintainOptions = {},
): Promise<MaintenanceReport> {
  const { sql } = connection;
  const started = performance.now();
  const dryRun = options.dryRun ?? false;
  const steps: MaintenanceStep[] = [];
  const problems: string[] = [];
  const size = async () =>
    Number((await sql`SELECT pg_database_size(current_database())::text AS n`)[0].n);
  const sizeBefore = await size();
  await sql.unsafe(
    `SET lock_timeout = ${Math.round(options.busyTimeoutMs ?? MAINTAIN_DEFAULTS.busyTimeoutMs)}`,
  );
  const run = async (name: string, fn: () => Promise<StepResult>) => {
    if (options.signal?.aborted) return;
    options.onStep?.(name);
    const at = performance.now();
    let result: StepResult;
    try {
      result = await fn();
    } catch (error) {
      if (options.signal?.aborted) throw error;
      result = stepError(error);
    }
    steps.push({ name, ...result, durationMs: Math.round(performance.now() - at) });
  };

  const settings = autovacuumSettingsOf(
    await sql`SELECT name, setting FROM pg_settings WHERE name LIKE 'autovacuum\\_%'`,
  );
  const needs = tablesNeedingVacuum(await tableActivity(connection), settings);
  if (needs.length === 0) {
    steps.push({
      name: "vacuum analyze",
      outcome: "skipped",
      detail:
        "skipped: no table needs it (dead tuples, inserts and changes under autovacuum's thresholds)",
      durationMs: 0,
    });
  }
  for (const { table, reasons } of needs) {
    const name = `${quoteIdentifier(table.schema)}.${quoteIdentifier(table.name)}`;
    await run(`vacuum analyze ${name}`, async () => {
      if (dryRun) return { outcome: "planned", detail: `would run: ${reasons.join("; ")}` };
      await sql.unsafe(`VACUUM (ANALYZE) ${name}`);
      await sql`SELECT pg_stat_clear_snapshot()`;
      const [after] = await sql`
        SELECT n_dead_tup::int8::text AS dead FROM pg_stat_user_tables
        WHERE schemaname = ${table.schema} AND relname = ${table.name}`;
      return {
        outcome: "done",
        detail: `dead tuples ${table.deadTuples} -> ${after?.dead ?? "?"} (${reasons.join("; ")})`,
      };
    });
  }

  let integrity: MaintenanceReport["integrity"] = "skipped";
  await run("amcheck", async () => {
    const [extension] = await sql`
      SELECT n.nspname AS schema, e.extversion AS version,
        EXISTS (SELECT FROM pg_proc p WHERE p.pronamespace = n.oid AND p.proname = 'verify_heapam')
          AS heap
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
      WHERE e.extname = 'amcheck'`;
    if (!extension) {
      return {
        outcome: "skipped",
        detail:
          'amcheck not installed: skipped (a superuser enables the checks with "CREATE EXTENSION amcheck" in this database)',
      };
    }
    if (dryRun) {
      return {
        outcome: "planned",
        detail: `would run bt_index_check on every btree index${
          extension.heap ? " and verify_heapam on every table" : ""
        } (amcheck ${extension.version})`,
      };
    }
    const found = await runAmcheck(connection, String(extension.schema), Boolean(extension.heap));
    problems.push(...found.problems);
    integrity = found.problems.length ? "failed" : found.warnings.length ? "skipped" : "ok";
    const checked = `${found.indexes} btree index${found.indexes === 1 ? "" : "es"}` +
      (extension.heap ? ` and ${found.tables} table${found.tables === 1 ? "" : "s"}` : "");
    if (found.problems.length) {
      return {
        outcome: "failed",
        detail: `checked ${checked}: ${found.problems.length} problem${
          found.problems.length === 1 ? "" : "s"
        }, the first: ${found.problems[0]}`,
      };
    }
    if (found.warnings.length) {
      return { outcome: "warning", detail: `checked ${checked}; ${found.warnings[0]}` };
    }
    return { outcome: "done", detail: `checked ${checked}: no corruption` };
  });
  const sizeAfter = await size();
  if (!dryRun && sizeAfter < sizeBefore) {
    steps.push({
      name: "size",
      outcome: "done",
      detail: `database ${formatBytes(sizeBefore)} -> ${formatBytes(sizeAfter)}`,
      durationMs: 0,
      bytesFreed: sizeBefore - sizeAfter,
    });
  }
  return {
    steps,
    integrity,
    problems: problems.slice(0, MAX_PROBLEMS),
    sizeBefore,
    sizeAfter,
    durationMs: Math.round(performance.now() - started),
    dryRun,
  };
}

/** Every user table's activity, by schema and name. */
async function tableActivity({ sql }: Connection): Promise<TableActivity[]> {
  await sql`SELECT pg_stat_clear_snapshot()`;
  const rows = await sql`
    SELECT s.schemaname AS schema, s.relname AS name, c.reltuples::float8 AS reltuples,
      s.n_live_tup::int8::text AS live, s.n_dead_tup::int8::text AS dead,
      s.n_mod_since_analyze::int8::text AS modified,
      coalesce(to_jsonb(s) ->> 'n_ins_since_vacuum', '0') AS inserted,
      (s.last_analyze IS NOT NULL OR s.last_autoanalyze IS NOT NULL) AS analyzed,
      coalesce(array_to_string(c.reloptions, chr(1)), '') AS options
    FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
    WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't'
    ORDER BY 1, 2`;
  return rows.map((r) => ({
    schema: String(r.schema),
    name: String(r.name),
    reltuples: Number(r.reltuples),
    liveTuples: Number(r.live),
    deadTuples: Number(r.dead),
    modifiedSinceAnalyze: Number(r.modified),
    insertedSinceVacuum: Number(r.inserted),
    analyzed: Boolean(r.analyzed),
    options: overridesOf(r.options ? String(r.options).split("\u0001") : []),
  }));
}

/** SQLSTATEs amcheck raises for corruption (`index_corrupted`, `data_corrupted`). */
const CORRUPTION = new Set(["XX001", "XX002"]);

/** Runs the amcheck functions in `schema`; corruption is a problem, other errors warnings. */
async function runAmcheck(
  { sql }: Connection,
  schema: string,
  heap: boolean,
): Promise<{ indexes: number; tables: number; problems: string[]; warnings: string[] }> {
  const ns = quoteIdentifier(schema);
  const problems: string[] = [];
  const warnings: string[] = [];
  const indexes = await sql`
    SELECT c.oid::int8::text AS oid, n.nspname AS schema, c.relname AS name
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am am ON am.oid = c.relam
    WHERE am.amname = 'btree' AND i.indisvalid AND i.indisready AND c.relpersistence <> 't'
    ORDER BY 2, 3`;
  let checkedIndexes = 0;
  for (const index of indexes) {
    const label = `index ${quoteIdentifier(index.schema)}.${quoteIdentifier(index.name)}`;
    try {
      await sql.unsafe(`SELECT ${ns}.bt_index_check($1::oid::regclass, true)`, [index.oid]);
      checkedIndexes++;
    } catch (error) {
      if (!noteError(error, label, problems, warnings)) break;
      checkedIndexes++;
    }
  }
  let checkedTables = 0;
  if (heap && warnings.length === 0) {
    const tables = await sql`
      SELECT c.oid::int8::text AS oid, n.nspname AS schema, c.relname AS name
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't'
      ORDER BY 2, 3`;
    for (const table of tables) {
      const label = `table ${quoteIdentifier(table.schema)}.${quoteIdentifier(table.name)}`;
      try {
        const rows = await sql.unsafe(
          `SELECT blkno::text, offnum, attnum, msg FROM ${ns}.verify_heapam($1::oid::regclass, check_toast => true)`,
          [table.oid],
        );
        for (const row of rows) {
          problems.push(
            `${label} block ${row.blkno}` + (row.offnum !== null ? ` item ${row.offnum}` : "") +
              `: ${row.msg}`,
          );
        }
        checkedTables++;
      } catch (error) {
        if (!noteError(error, label, problems, warnings)) break;
        checkedTables++;
      }
    }
  }
  return { indexes: checkedIndexes, tables: checkedTables, problems, warnings };
}

/**
 * Files an amcheck error: corruption is a problem (go on); a refusal (no permission) a warning
 * that stops the checks, since every other relation would be refused the same way.
 */
function noteError(error: unknown, label: string, problems: string[], warnings: string[]) {
  const code = (error as { code?: string }).code ?? "";
  const message = messageOf(error).replace(/\s+/g, " ");
  if (CORRUPTION.has(code)) {
    problems.push(`${label}: ${message}`);
    return true;
  }
  if (code === "42501") {
    warnings.push(
      `amcheck refused: ${message} (run maintain as a superuser, or GRANT EXECUTE on the amcheck functions to its role)`,
    );
    return false;
  }
  if (code === "55P03" || code === "57014") {
    warnings.push(`${label} skipped: busy (${message})`);
    return true;
  }
  throw error;
}

/** A step's error as its outcome: a lock not granted in time is a skip, others failures. */
function stepError(error: unknown): StepResult {
  const code = (error as { code?: string }).code ?? "";
  const message = messageOf(error).replace(/\s+/g, " ");
  if (code === "55P03") {
    return {
      outcome: "skipped",
      detail: `skipped: busy (${message}; another session held a lock past the busy timeout)`,
    };
  }
  return { outcome: "failed", detail: message };
}
