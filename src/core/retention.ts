/**
 * Which backups to keep: a pure function of (backups, policy, now), so `cleanup --dry-run` shows
 * exactly what a real run does, and tests can cover every boundary without a clock or a disk.
 */

/** What retention needs to know about one backup. */
export interface RetentionCandidate {
  id: string;
  type: string;
  createdAt: Date;
  /** Passes its checks; only good backups count towards "keep the last N". */
  good: boolean;
}

/** Keep rules; a backup is kept when any rule keeps it. No rule at all keeps everything. */
export interface RetentionPolicy {
  /** Keep the newest N good backups of each type. */
  keepLast?: number;
  /** Keep every backup younger than N days. */
  keepDays?: number;
}

/** The verdict on one backup, with every rule that decided it. */
export interface RetentionDecision {
  id: string;
  type: string;
  createdAt: Date;
  good: boolean;
  action: "keep" | "delete";
  reasons: string[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Whether the policy has no rule (and so deletes nothing). */
export function isEmptyPolicy(policy: RetentionPolicy): boolean {
  return policy.keepLast === undefined && policy.keepDays === undefined;
}

/** The policy in words, e.g. "keep the last 7 of each type, and everything from the last 30 days". */
export function describePolicy(policy: RetentionPolicy): string {
  const parts: string[] = [];
  if (policy.keepLast !== undefined) {
    parts.push(`the last ${policy.keepLast} good backups of each type`);
  }
  if (policy.keepDays !== undefined) {
    parts.push(`every backup from the last ${policy.keepDays} days`);
  }
  if (parts.length === 0) return "no retention rule set: keep everything";
  return `keep ${parts.join(", and ")}; always keep the newest good backup`;
}

/**
 * Decides keep/delete for every backup. Invariants: the newest good backup of each type is always
 * kept; an empty policy deletes nothing; a backup that is not good never counts towards
 * `keepLast` (it is kept only while young enough for `keepDays`).
 */
export function applyRetention(
  backups: RetentionCandidate[],
  policy: RetentionPolicy,
  now: Date,
): RetentionDecision[] {
  const sorted = [...backups].sort((a, b) =>
    b.createdAt.getTime() - a.createdAt.getTime() || b.id.localeCompare(a.id)
  );
  const goodSeen = new Map<string, number>();
  return sorted.map((backup) => {
    const reasons: string[] = [];
    if (isEmptyPolicy(policy)) reasons.push("no retention rule set");
    if (backup.good) {
      const rank = (goodSeen.get(backup.type) ?? 0) + 1;
      goodSeen.set(backup.type, rank);
      if (rank === 1) reasons.push(`newest good ${backup.type} backup`);
      if (policy.keepLast !== undefined && rank <= policy.keepLast) {
        reasons.push(`one of the last ${policy.keepLast} ${backup.type} backups (#${rank})`);
      }
    }
    const ageMs = now.getTime() - backup.createdAt.getTime();
    if (policy.keepDays !== undefined && ageMs < policy.keepDays * DAY_MS) {
      reasons.push(`younger than ${policy.keepDays} days`);
    }
    if (reasons.length > 0) return { ...backup, action: "keep", reasons };
    const why: string[] = [];
    if (!backup.good) why.push("fails its integrity checks");
    if (policy.keepLast !== undefined && backup.good) {
      why.push(`beyond the last ${policy.keepLast} ${backup.type} backups`);
    }
    if (policy.keepDays !== undefined) why.push(`older than ${policy.keepDays} days`);
    return { ...backup, action: "delete", reasons: why };
  });
}
