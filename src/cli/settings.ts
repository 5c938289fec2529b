import { z } from "zod";
import { UsageError } from "../core/errors.ts";

/** Where backups go and what database they are of, before any command-specific option. */
export interface Settings {
  database: string;
  dir: string;
}

/** Defaults when neither a flag nor the environment says otherwise. */
export const DEFAULTS: Settings = { database: "./data/app.db", dir: "./backups" };

const SettingsSchema = z.object({
  database: z.string().min(1, "must not be empty"),
  dir: z.string().min(1, "must not be empty"),
});

/**
 * Merges settings: flags win over the environment (`DATABASE_URL`, `BACKUP_DIR`), the environment
 * over the defaults. Every mistake is one line naming the setting.
 */
export function resolveSettings(
  flags: { database?: string; dir?: string },
  env: Record<string, string | undefined>,
): Settings {
  const merged = {
    database: flags.database ?? env.DATABASE_URL ?? DEFAULTS.database,
    dir: flags.dir ?? env.BACKUP_DIR ?? DEFAULTS.dir,
  };
  const parsed = SettingsSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = issue.path[0] === "database" ? "--database / DATABASE_URL" : "--dir / BACKUP_DIR";
    throw new UsageError(`Invalid setting ${name}: ${issue.message}`);
  }
  return parsed.data;
}

/** Parses a whole number flag value, with a one-line error naming the flag. */
export function parseCount(flag: string, value: string | undefined, min = 0): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min) {
    throw new UsageError(`Invalid value "${value}" for ${flag}: expected a whole number ≥ ${min}`);
  }
  return Number(value);
}

/** Parses `--format`. */
export function parseFormat<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(
      `Invalid value "${value}" for --format: expected ${
        allowed.map((a) => `"${a}"`).join(" or ")
      }`,
    );
  }
  return value as T;
}
