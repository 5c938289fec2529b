/**
 * Which tables a `VACUUM (ANALYZE)` is worth running on, by autovacuum's own formulas, so
 * `maintain` does what autovacuum would have done by now and leaves quiet tables alone: dead
 * tuples past `threshold + scale_factor × reltuples`, inserts past the insert threshold, changes
 * since the last analyze past the analyze threshold, or a table with rows that was never
 * analyzed. Per-table storage parameters (`ALTER TABLE … SET (autovacuum_…)`) win over the server's.
 */

/** The server's autovacuum settings (`pg_settings`), and a table's overrides of them. */
export interface AutovacuumSettings {
  vacuumThreshold: number;
  vacuumScaleFactor: number;
  /** -1 turns the insert rule off. */
  insertThreshold: number;
  insertScaleFactor: number;
  analyzeThreshold: number;
  analyzeScaleFactor: number;
}

/** PostgreSQL's defaults (13 and later). */
export const AUTOVACUUM_DEFAULTS: Readonly<AutovacuumSettings> = {
  vacuumThreshold: 50,
  vacuumScaleFactor: 0.2,
  insertThreshold: 1000,
  insertScaleFactor: 0.2,
  analyzeThreshold: 50,
  analyzeScaleFactor: 0.1,
};

/** One table's activity from `pg_stat_user_tables` (and `pg_class`). */
export interface TableActivity {
  schema: string;
  name: string;
  /** `pg_class.reltuples`; -1 (never vacuumed or analyzed) counts as 0. */
  reltuples: number;
  liveTuples: number;
  deadTuples: number;
  modifiedSinceAnalyze: number;
  /** `n_ins_since_vacuum` (0 before PostgreSQL 13). */
  insertedSinceVacuum: number;
  /** `last_analyze` or `last_autoanalyze` is set. */
  analyzed: boolean;
  /** The table's `autovacuum_*` storage parameters. */
  options?: Partial<AutovacuumSettings>;
}

/** A table that needs a VACUUM (ANALYZE), and why (one clause each). */
export interface VacuumNeed {
  table: TableActivity;
  reasons: string[];
}

/** Pure: the tables that need it, in the order given. */
export function tablesNeedingVacuum(
  tables: readonly TableActivity[],
  server: AutovacuumSettings = AUTOVACUUM_DEFAULTS,
): VacuumNeed[] {
  const needs: VacuumNeed[] = [];
  for (const table of tables) {
    const s = { ...server, ...table.options };
    const tuples = Math.max(0, table.reltuples);
    const reasons: string[] = [];
    const vacuumAt = s.vacuumThreshold + s.vacuumScaleFactor * tuples;
    if (table.deadTuples > vacuumAt) {
      reasons.push(`${table.deadTuples} dead tuples, above ${Math.floor(vacuumAt)}`);
    }
    const insertAt = s.insertThreshold + s.insertScaleFactor * tuples;
    if (s.insertThreshold >= 0 && table.insertedSinceVacuum > insertAt) {
      reasons.push(
        `${table.insertedSinceVacuum} tuples inserted since the last vacuum, above ${
          Math.floor(insertAt)
        }`,
      );
    }
    const analyzeAt = s.analyzeThreshold + s.analyzeScaleFactor * tuples;
    if (!table.analyzed && table.liveTuples + table.modifiedSinceAnalyze > 0) {
      reasons.push("never analyzed");
    } else if (table.modifiedSinceAnalyze > analyzeAt) {
      reasons.push(
        `${table.modifiedSinceAnalyze} tuples changed since the last analyze, above ${
          Math.floor(analyzeAt)
        }`,
      );
    }
    if (reasons.length) needs.push({ table, reasons });
  }
  return needs;
}

/** The server's settings from `pg_settings` rows (`name`, `setting`); unknown names ignored. */
export function autovacuumSettingsOf(
  rows: readonly { name: string; setting: string }[],
): AutovacuumSettings {
  return { ...AUTOVACUUM_DEFAULTS, ...overridesOf(rows.map((r) => `${r.name}=${r.setting}`)) };
}

/** A table's `autovacuum_*` overrides from its `reloptions` (`name=value` entries). */
export function overridesOf(reloptions: readonly string[] | null): Partial<AutovacuumSettings> {
  const keys: Record<string, keyof AutovacuumSettings> = {
    autovacuum_vacuum_threshold: "vacuumThreshold",
    autovacuum_vacuum_scale_factor: "vacuumScaleFactor",
    autovacuum_vacuum_insert_threshold: "insertThreshold",
    autovacuum_vacuum_insert_scale_factor: "insertScaleFactor",
    autovacuum_analyze_threshold: "analyzeThreshold",
    autovacuum_analyze_scale_factor: "analyzeScaleFactor",
  };
  const options: Partial<AutovacuumSettings> = {};
  for (const entry of reloptions ?? []) {
    const at = entry.indexOf("=");
    const key = keys[entry.slice(0, at)];
    const value = Number(entry.slice(at + 1));
    if (at > 0 && key && Number.isFinite(value)) options[key] = value;
  }
  return options;
}
