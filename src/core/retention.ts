/**
 * Which backups to keep: a pure function of (backups, policy, now, time zone), so
 * `cleanup --dry-run` shows exactly what a real run does, and tests cover every period boundary,
 * zone and DST change without a clock or a disk.
 */
import { type Period, periodOf, PERIODS } from "./periods.ts";

/** What retention needs to know about one backup. */
export interface RetentionCandidate {
  id: string;
  type: string;
  createdAt: Date;
  /**
   * Sidecar valid, data file present and the right size, last verification (if any) passed. Only
   * good backups count towards a rule's slots; the newest good backup of each type is kept.
   */
  good: boolean;
  /** Pinned backups are never deleted by a policy. */
  pinned?: boolean;
  pinReason?: string;
}

/** Rules for one kind of backup; a backup is kept when any rule keeps it. */
export interface KeepRules {
  /** Keep the newest N good backups. */
  keepLast?: number;
  /** Keep every backup younger than N days (N × 24 h). */
  keepDays?: number;
  /** Keep the newest good backup of each of the last N hours that have one. */
  keepHourly?: number;
  /** … of each of the last N calendar days that have one. */
  keepDaily?: number;
  /** … of each of the last N ISO weeks (Monday to Sunday) that have one. */
  keepWeekly?: number;
  /** … of each of the last N calendar months that have one. */
  keepMonthly?: number;
  /** … of each of the last N calendar years that have one. */
  keepYearly?: number;
}

/** The whole policy: general rules, per-type rules, and the rule for pre-restore safety backups. */
export interface RetentionPolicy extends KeepRules {
  /** Rules for `pre-restore` backups; without them they follow the general rules. */
  preRestore?: KeepRules;
  /** Rules that replace the general ones for a type (`full`, `schema`). */
  perType?: Record<string, KeepRules | undefined>;
}

/** The verdict on one backup, with every rule that decided it. */
export interface RetentionDecision {
  id: string;
  type: string;
  createdAt: Date;
  good: boolean;
  pinned: boolean;
  action: "keep" | "delete";
  reasons: string[];
}

/** Decisions newest first, and why nothing at all is deleted when that is so. */
export interface RetentionPlan {
  decisions: RetentionDecision[];
  /** Set when the plan deletes nothing on principle: an empty policy, or a failed newest run. */
  hold?: string;
}

/** Options of {@linkcode applyRetention}. */
export interface RetentionOptions {
  /**
   * The newest backup attempt (from the audit log). When it failed after the newest backup was
   * taken, nothing is pruned: the backups on disk may be all that is left.
   */
  lastAttempt?: { at: Date; ok: boolean; error?: string };
}

const DAY_MS = 24 * 60 * 60 * 1000;
const TIER_RULE: Record<Period, keyof KeepRules> = {
  hourly: "keepHourly",
  daily: "keepDaily",
  weekly: "keepWeekly",
  monthly: "keepMonthly",
  yearly: "keepYearly",
};
const RULE_NAMES = ["keepLast", "keepDays", ...Object.values(TIER_RULE)] as const;

/** Whether a set of rules has no rule at all. */
function hasNoRule(rules: KeepRules | undefined): boolean {
  return rules === undefined || RULE_NAMES.every((name) => rules[name] === undefined);
}

/** Whether the policy has no rule anywhere (and so deletes nothing). */
export function isEmptyPolicy(policy: RetentionPolicy): boolean {
  return hasNoRule(policy) && hasNoRule(policy.preRestore) &&
    Object.values(policy.perType ?? {}).every(hasNoRule);
}

/** The rules that decide backups of `type`, and the label they are reported under. */
function rulesFor(policy: RetentionPolicy, type: string): { rules: KeepRules; label?: string } {
  if (type === "pre-restore" && !hasNoRule(policy.preRestore)) {
    return { rules: policy.preRestore!, label: "pre-restore rule" };
  }
  const own = policy.perType?.[type];
  if (!hasNoRule(own)) return { rules: own!, label: `${type} rule` };
  return { rules: policy };
}

/** A set of rules in words: "the last 7 and 30 days; 7 daily, 4 weekly". */
function describeRules(rules: KeepRules): string {
  const simple = [
    rules.keepLast !== undefined ? `the last ${rules.keepLast}` : "",
    rules.keepDays !== undefined ? `${rules.keepDays} days` : "",
  ].filter(Boolean).join(" and ");
  const tiers = PERIODS.filter((p) => rules[TIER_RULE[p]] !== undefined)
    .map((p) => `${rules[TIER_RULE[p]]} ${p}`).join(", ");
  return [simple, tiers].filter(Boolean).join("; ");
}

/**
 * The policy in words, e.g. "keep the last 7; 7 daily, 4 weekly, 12 monthly; pre-restore backups
 * 30 days; pinned backups always; periods in Europe/Berlin".
 */
export function describePolicy(policy: RetentionPolicy, timeZone?: string): string {
  if (isEmptyPolicy(policy)) return "no retention rule set: nothing is deleted";
  const parts: string[] = [];
  if (!hasNoRule(policy)) parts.push(describeRules(policy));
  for (const [type, rules] of Object.entries(policy.perType ?? {})) {
    if (!hasNoRule(rules)) parts.push(`${type} backups ${describeRules(rules!)}`);
  }
  if (!hasNoRule(policy.preRestore)) {
    parts.push(`pre-restore backups ${describeRules(policy.preRestore!)}`);
  }
  if (hasNoRule(policy)) parts.push("other backups all (no general rule)");
  parts.push("pinned backups always");
  const all = [policy, policy.preRestore, ...Object.values(policy.perType ?? {})];
  if (timeZone && all.some((r) => r && PERIODS.some((p) => r[TIER_RULE[p]] !== undefined))) {
    parts.push(`periods in ${timeZone}`);
  }
  return `keep ${parts.join("; ")}`;
}

/**
 * Decides keep/delete for every backup, newest first, with every rule that keeps it (or why none
 * does). Invariants: the newest good backup of each type is kept; pinned backups are kept; when the
 * newest backup (or the newest attempt) failed, or the policy is empty, nothing is deleted and
 * {@linkcode RetentionPlan.hold} says why; a backup that is not good never fills a rule's slot.
 * Periods (hourly … yearly) are calendar periods in `timeZone`.
 */
export function applyRetention(
  backups: RetentionCandidate[],
  policy: RetentionPolicy,
  now: Date,
  timeZone: string,
  options: RetentionOptions = {},
): RetentionPlan {
  const sorted = [...backups].sort((a, b) =>
    b.createdAt.getTime() - a.createdAt.getTime() || b.id.localeCompare(a.id)
  );
  const reasons = new Map<string, string[]>(sorted.map((b) => [b.id, []]));
  const hold = holdReason(sorted, policy, options);
  for (const b of sorted) {
    if (b.pinned) reasons.get(b.id)!.push(b.pinReason ? `pinned: ${b.pinReason}` : "pinned");
  }
  for (const type of new Set(sorted.map((b) => b.type))) {
    const group = sorted.filter((b) => b.type === type);
    const { rules, label } = rulesFor(policy, type);
    const keep = (b: RetentionCandidate, why: string) =>
      reasons.get(b.id)!.push(label ? `${label}: ${why}` : why);
    const good = group.filter((b) => b.good);
    if (good.length > 0) reasons.get(good[0].id)!.push(`newest good ${type} backup`);
    if (hasNoRule(rules) && !isEmptyPolicy(policy)) {
      for (const b of group) reasons.get(b.id)!.push(`no rule for ${type} backups`);
    }
    if (rules.keepLast !== undefined) {
      good.slice(0, rules.keepLast).forEach((b, i) =>
        keep(b, `one of the last ${rules.keepLast} ${type} backups (#${i + 1})`)
      );
    }
    if (rules.keepDays !== undefined) {
      for (const b of group) {
        if (now.getTime() - b.createdAt.getTime() < rules.keepDays * DAY_MS) {
          keep(b, `younger than ${rules.keepDays} days`);
        }
      }
    }
    for (const period of PERIODS) {
      const slots = rules[TIER_RULE[period]];
      if (!slots) continue;
      let previous: string | undefined;
      let filled = 0;
      for (const b of good) {
        if (filled >= slots) break;
        const key = periodOf(b.createdAt, period, timeZone);
        if (key === previous) continue;
        previous = key;
        filled++;
        keep(b, `${period}: newest of ${key} (#${filled} of ${slots})`);
      }
    }
  }
  const decisions = sorted.map((b): RetentionDecision => {
    const kept = reasons.get(b.id)!;
    const base = {
      id: b.id,
      type: b.type,
      createdAt: b.createdAt,
      good: b.good,
      pinned: b.pinned === true,
    };
    if (hold) return { ...base, action: "keep", reasons: [...kept, hold] };
    if (kept.length > 0) return { ...base, action: "keep", reasons: kept };
    return { ...base, action: "delete", reasons: whyDelete(b, rulesFor(policy, b.type).rules) };
  });
  return hold ? { decisions, hold } : { decisions };
}

function holdReason(
  sorted: RetentionCandidate[],
  policy: RetentionPolicy,
  options: RetentionOptions,
): string | undefined {
  if (isEmptyPolicy(policy)) return "no retention rule set";
  const newest = sorted[0];
  if (newest && !newest.good) {
    return `the newest backup ${newest.id} is not good: nothing is deleted until a backup succeeds`;
  }
  const attempt = options.lastAttempt;
  if (attempt && !attempt.ok && (!newest || attempt.at.getTime() >= newest.createdAt.getTime())) {
    return `the last backup attempt (${attempt.at.toISOString()}) failed: nothing is deleted until a backup succeeds`;
  }
  return undefined;
}

function whyDelete(b: RetentionCandidate, rules: KeepRules): string[] {
  const why: string[] = [];
  if (!b.good) why.push("not good (fails its checks), so it counts for no rule");
  if (rules.keepLast !== undefined && b.good) {
    why.push(`beyond the last ${rules.keepLast} ${b.type} backups`);
  }
  if (rules.keepDays !== undefined) why.push(`older than ${rules.keepDays} days`);
  const tiers = PERIODS.filter((p) => rules[TIER_RULE[p]]);
  if (tiers.length > 0 && b.good) {
    why.push(`not the newest of a kept ${tiers.join(", ")} period`);
  }
  return why;
}
