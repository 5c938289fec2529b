/** Parsers of command-specific flag values; settings shared by commands live in `src/config`. */
import { UsageError } from "../core/errors.ts";

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
