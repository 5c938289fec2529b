/**
 * The database's own health rules (beside the backups' in `health.ts`), as one pure function of
 * what `check` gathered, the policy and the time: integrity (the last `maintain`), freshness of
 * the data, the database's size, and the user's SQL checks. Every rule gives one line with its
 * level, `ok` included, so `check` can print them all; the others are reasons for `status`.
 *
 * Levels chosen: a last `maintain` that found corruption is critical, one that failed otherwise a
 * warning; never maintained or older than `maintenanceMaxAge` is a warning, and no rule at all
 * without that setting. A stale table is at its rule's level (default warning). A database over
 * `maxDatabaseSize` is a warning. A SQL check above `critAbove` is critical, above `warnAbove` a
 * warning. A query that fails is at the worst level its rule can give (it proves nothing).
 */
import type { HealthAnswers, QueryAnswer } from "../engines/maintenance.ts";
import type { LastMaintenance } from "./maintenance_record.ts";
import { timeOfValue } from "./freshness_time.ts";
import { formatAge, formatBytes } from "./units.ts";

/** A table that must have recent rows. */
export interface FreshnessRule {
  table: string;
  column: string;
  maxAgeMs: number;
  /** Default `warning`. */
  level?: "warning" | "critical";
}

/** A user SQL check: a read-only query returning one number. */
export interface SqlCheckRule {
  name: string;
  sql: string;
  warnAbove?: number;
  critAbove?: number;
}

/** Thresholds of the database rules (`health` settings). */
export interface DatabaseHealthPolicy {
  /** The last `maintain` may be this old; absent: age and absence are not checked. */
  maintenanceMaxAgeMs?: number;
  /** Bytes; absent: size is not checked. */
  maxDatabaseSize?: number;
  freshness: FreshnessRule[];
  checks: SqlCheckRule[];
}

/** Everything the rules look at. */
export interface DatabaseHealthFacts {
  /** The newest maintenance run; absent when never maintained. */
  maintenance?: LastMaintenance;
  /** The database's answers to the queries (absent when none were asked). */
  answers?: HealthAnswers;
  /** Why the queries could not be asked at all (database unreachable, no support). */
  queryError?: string;
}

/** Which database rule spoke; stable for machines. */
export type DatabaseRule = "maintenance" | "freshness" | "database-size" | "sql-check";

/** One rule's verdict. */
export interface DatabaseCheck {
  rule: DatabaseRule;
  /** What was checked: `integrity`, `events.created_at`, `size`, a check's name. */
  name: string;
  level: "ok" | "warning" | "critical";
  message: string;
  /** The figure judged: age in ms, bytes, the check's number; absent when there is none. */
  value?: number;
}

/** Applies every database rule of `policy` to `facts` at `now`, in the policy's order. */
export function assessDatabase(
  facts: DatabaseHealthFacts,
  policy: DatabaseHealthPolicy,
  now: Date,
): DatabaseCheck[] {
  const checks: DatabaseCheck[] = [];
  const integrity = maintenanceCheck(facts.maintenance, policy.maintenanceMaxAgeMs, now);
  if (integrity) checks.push(integrity);
  const { answers, queryError } = facts;
  const unanswered = (rule: DatabaseRule, name: string, level: "warning" | "critical") =>
    checks.push({
      rule,
      name,
      level,
      message: `${name}: cannot be checked: ${queryError ?? "no answer"}`,
    });

  if (policy.maxDatabaseSize !== undefined) {
    if (!answers) unanswered("database-size", "size", "warning");
    else {
      const size = answers.sizeBytes;
      const over = size > policy.maxDatabaseSize;
      checks.push({
        rule: "database-size",
        name: "size",
        level: over ? "warning" : "ok",
        message: `the database is ${formatBytes(size)}${over ? ", over" : ", within"} the ${
          formatBytes(policy.maxDatabaseSize)
        } limit`,
        value: size,
      });
    }
  }

  policy.freshness.forEach((rule, i) => {
    const name = `${rule.table}.${rule.column}`;
    const level = rule.level ?? "warning";
    const answer = answers?.freshness[i];
    if (!answer) return unanswered("freshness", name, level);
    checks.push(freshnessCheck(rule, name, level, answer, now));
  });

  policy.checks.forEach((rule, i) => {
    const worst = rule.critAbove !== undefined ? "critical" : "warning";
    const answer = answers?.checks[i];
    if (!answer) return unanswered("sql-check", rule.name, worst);
    checks.push(sqlCheck(rule, worst, answer));
  });
  return checks;
}

function maintenanceCheck(
  last: LastMaintenance | undefined,
  maxAgeMs: number | undefined,
  now: Date,
): DatabaseCheck | undefined {
  const check = (level: DatabaseCheck["level"], message: string, value?: number) => ({
    rule: "maintenance" as const,
    name: "integrity",
    level,
    message,
    ...(value !== undefined ? { value } : {}),
  });
  if (!last) {
    return maxAgeMs === undefined
      ? undefined
      : check("warning", "the database has never been maintained (run maintain)");
  }
  const at = last.time.toISOString();
  const age = Math.max(0, now.getTime() - last.time.getTime());
  if (last.integrity === "failed") {
    return check(
      "critical",
      `the last maintain (${at}) found corruption: ${last.error ?? ""}`,
      age,
    );
  }
  if (last.outcome === "failed") {
    return check("warning", `the last maintain failed at ${at}: ${last.error ?? "no reason"}`, age);
  }
  if (maxAgeMs !== undefined && age > maxAgeMs) {
    return check(
      "warning",
      `the last maintain was ${formatAge(age)} ago (limit ${formatAge(maxAgeMs)}; run maintain)`,
      age,
    );
  }
  return check(
    "ok",
    last.integrity === "ok"
      ? `the last maintain (${formatAge(age)} ago) found no corruption`
      : `the last maintain (${formatAge(age)} ago) ran no integrity check`,
    age,
  );
}

function freshnessCheck(
  rule: FreshnessRule,
  name: string,
  level: "warning" | "critical",
  answer: QueryAnswer<string | number | null>,
  now: Date,
): DatabaseCheck {
  const base = { rule: "freshness" as const, name };
  if ("error" in answer) {
    return { ...base, level, message: `${name}: the query failed: ${answer.error}` };
  }
  if (answer.value === null) {
    return {
      ...base,
      level,
      message: `${name}: no row has a value (limit ${formatAge(rule.maxAgeMs)})`,
    };
  }
  const time = timeOfValue(answer.value);
  if (!time) {
    return {
      ...base,
      level,
      message: `${name}: the newest value ${
        JSON.stringify(String(answer.value))
      } is no time (expected epoch seconds or milliseconds, ISO 8601 text or a timestamp)`,
    };
  }
  const age = Math.max(0, now.getTime() - time.getTime());
  const stale = age > rule.maxAgeMs;
  return {
    ...base,
    level: stale ? level : "ok",
    message: `${name}: the newest row is ${formatAge(age)} old (${time.toISOString()}; limit ${
      formatAge(rule.maxAgeMs)
    })`,
    value: age,
  };
}

function sqlCheck(
  rule: SqlCheckRule,
  worst: "warning" | "critical",
  answer: QueryAnswer<number>,
): DatabaseCheck {
  const base = { rule: "sql-check" as const, name: rule.name };
  if ("error" in answer) {
    return { ...base, level: worst, message: `check "${rule.name}" failed: ${answer.error}` };
  }
  const value = answer.value;
  const level = rule.critAbove !== undefined && value > rule.critAbove
    ? "critical"
    : rule.warnAbove !== undefined && value > rule.warnAbove
    ? "warning"
    : "ok";
  const limits = [
    ...(rule.warnAbove !== undefined ? [`warning above ${rule.warnAbove}`] : []),
    ...(rule.critAbove !== undefined ? [`critical above ${rule.critAbove}`] : []),
  ];
  return {
    ...base,
    level,
    message: `check "${rule.name}" is ${value}${limits.length ? ` (${limits.join(", ")})` : ""}`,
    value,
  };
}
