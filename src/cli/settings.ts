/** Parsers of command-specific flag values; settings shared by commands live in `src/config`. */
import { UsageError } from "../core/errors.ts";
import { COMPRESSION_HINT, type CompressionSpec, parseCompression } from "../core/compression.ts";

/** Parses a whole number flag value, with a one-line error naming the flag. */
export function parseCount(flag: string, value: string | undefined, min = 0): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min) {
    throw new UsageError(`Invalid value "${value}" for ${flag}: expected a whole number ≥ ${min}`);
  }
  return Number(value);
}

/** Parses `--jobs N`: a whole number ≥ 1, or `undefined` when not given. */
export function parseJobs(value: unknown): number | undefined {
  return parseCount("--jobs", value as string | undefined, 1);
}

/** Parses `--compression gzip[:LEVEL]|zstd[:LEVEL]|none`, or `undefined` when not given. */
export function parseCompressionFlag(value: unknown): CompressionSpec | undefined {
  if (value === undefined) return undefined;
  const spec = parseCompression(String(value));
  if (!spec) {
    throw new UsageError(`Invalid value "${value}" for --compression: ${COMPRESSION_HINT}`);
  }
  return spec;
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
