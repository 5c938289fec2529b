/**
 * CSV as RFC 4180 writes it: fields separated by commas, lines ended by CRLF, a field quoted
 * (`"…"`, quotes doubled) when it holds a comma, a quote, CR or LF. NULL is an empty field
 * unquoted, the empty string a quoted one (`""`), so a reader can tell them apart.
 */
import { Buffer } from "node:buffer";

/** One CSV line (with its CRLF) of `fields`; `null` is NULL. */
export function csvLine(fields: readonly (string | null)[]): string {
  return fields.map(csvField).join(",") + "\r\n";
}

/** One CSV field. */
export function csvField(value: string | null): string {
  if (value === null) return "";
  if (value === "" || /[",\r\n]/.test(value)) return `"${value.replaceAll('"', '""')}"`;
  return value;
}

/** Bytes as base64, how csv and jsonl carry blobs and bytea. */
export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}
