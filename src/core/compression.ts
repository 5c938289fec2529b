/**
 * How a backup's SQL is compressed: `gzip[:LEVEL]` (the default, gzip-6: what people can open
 * anywhere), `zstd[:LEVEL]` (faster at a similar ratio) or `none`. The setting's text, its parsed
 * form, the data file's suffix, and which format a stream's first bytes are.
 */
import type { Compression } from "../engines/engine.ts";

export type { Compression } from "../engines/engine.ts";

/** A format and its level; `none` has no level. */
export interface CompressionSpec {
  format: Compression;
  /** gzip 1-9, zstd 1-19; absent for `none`. */
  level?: number;
}

/** Every format, in the order messages list them. */
export const COMPRESSION_FORMATS: readonly Compression[] = ["gzip", "zstd", "none"];

/** Levels each format takes, and the level used when none is given. */
const LEVELS: Record<Exclude<Compression, "none">, { min: number; max: number; default: number }> =
  {
    gzip: { min: 1, max: 9, default: 6 },
    zstd: { min: 1, max: 19, default: 3 },
  };

/** The default of the `compression` setting. */
export const DEFAULT_COMPRESSION: CompressionSpec = { format: "gzip", level: 6 };

/** What the setting accepts, for error messages. */
export const COMPRESSION_HINT = 'expected "gzip[:1-9]", "zstd[:1-19]" or "none"';

/**
 * Parses `gzip`, `gzip:9`, `zstd`, `zstd:3` or `none` (case-insensitive); `undefined` when the
 * text is none of them or the level is out of range.
 */
export function parseCompression(text: string): CompressionSpec | undefined {
  const match = /^(gzip|zstd|none)(?::(\d{1,2}))?$/.exec(text.trim().toLowerCase());
  if (!match) return undefined;
  const format = match[1] as Compression;
  if (format === "none") return match[2] === undefined ? { format } : undefined;
  const range = LEVELS[format];
  const level = match[2] === undefined ? range.default : Number(match[2]);
  if (level < range.min || level > range.max) return undefined;
  return { format, level };
}

/** `gzip:6`, `zstd:3`, `none`: the setting's own spelling. */
export function formatCompression(spec: CompressionSpec): string {
  return spec.format === "none" ? "none" : `${spec.format}:${spec.level ?? levelOf(spec)}`;
}

/** The level `spec` compresses at (its format's default when absent); 0 for `none`. */
export function levelOf(spec: CompressionSpec): number {
  return spec.format === "none" ? 0 : spec.level ?? LEVELS[spec.format].default;
}

/** Suffix of a data file of that compression, before any `.age`. */
export function sqlSuffix(format: Compression): string {
  return format === "gzip" ? ".sql.gz" : format === "zstd" ? ".sql.zst" : ".sql";
}

/** The media type of a data file of that compression (unencrypted). */
export function mediaType(format: Compression): string {
  return format === "gzip"
    ? "application/gzip"
    : format === "zstd"
    ? "application/zstd"
    : "application/sql";
}

/**
 * Which format a stream starting with `head` is: gzip (`1f 8b`), zstd (the frame magic
 * `28 b5 2f fd`, or a skippable frame `5? 2a 4d 18`), else plain SQL. Our SQL starts with a
 * comment, so plain text never looks like either.
 */
export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length >= 4) {
    if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) {
      return "zstd";
    }
    if ((head[0] & 0xf0) === 0x50 && head[1] === 0x2a && head[2] === 0x4d && head[3] === 0x18) {
      return "zstd";
    }
  }
  return "none";
}
