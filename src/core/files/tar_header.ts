/**
 * The 512-byte headers of a POSIX tar (ustar), with pax extended headers (`x`) for what ustar
 * cannot hold: names and link texts longer than 100 bytes or not ASCII, sizes of 8 GiB and more,
 * mtimes with a fraction of a second. Encoding and decoding are pure functions, so the format is
 * tested table by table and GNU tar is the oracle for the bytes (`tests/core/files/`).
 */

/** Size of a tar block: headers are one block, contents are padded to whole blocks. */
export const BLOCK = 512;

/** What one archive entry is. `hardlink` and `other` are read, never written. */
export type TarKind = "file" | "directory" | "symlink" | "hardlink" | "other";

/** One entry's metadata, as written and as read. */
export interface TarEntry {
  /** Relative path with `/` separators; a directory's has no trailing slash here. */
  name: string;
  kind: TarKind;
  /** Permission bits (`0o7777`). */
  mode: number;
  /** Bytes of content (files only; 0 otherwise). */
  size: number;
  /** Modification time in milliseconds since the epoch. */
  mtimeMs: number;
  /** The link text of a symlink (or the target of a hard link), as it is. */
  linkname?: string;
  uid?: number;
  gid?: number;
}

const TYPEFLAG: Record<"file" | "directory" | "symlink", string> = {
  file: "0",
  directory: "5",
  symlink: "2",
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Largest size the 12-byte octal field holds: 8 GiB - 1. */
const MAX_OCTAL_SIZE = 0o77777777777;

/**
 * The header blocks of `entry`: a pax extended header first when ustar cannot hold something
 * exactly, then the ustar header. The content (files) follows, padded with {@linkcode padding}.
 */
export function encodeHeader(entry: TarEntry): Uint8Array {
  if (entry.kind === "hardlink" || entry.kind === "other") {
    throw new Error(`cannot write a tar entry of kind "${entry.kind}"`);
  }
  const name = entry.kind === "directory" ? entry.name + "/" : entry.name;
  const pax: [string, string][] = [];
  const nameBytes = encoder.encode(name);
  if (nameBytes.length > 100 || !isAscii(name)) pax.push(["path", name]);
  const link = entry.linkname ?? "";
  if (encoder.encode(link).length > 100 || !isAscii(link)) pax.push(["linkpath", link]);
  if (entry.size > MAX_OCTAL_SIZE) pax.push(["size", String(entry.size)]);
  const seconds = Math.floor(entry.mtimeMs / 1000);
  const fraction = entry.mtimeMs - seconds * 1000;
  if (fraction !== 0 || seconds < 0) pax.push(["mtime", formatMtime(entry.mtimeMs)]);
  const ustar = ustarBlock({
    name: truncateUtf8(name, 100),
    mode: entry.mode & 0o7777,
    uid: entry.uid ?? 0,
    gid: entry.gid ?? 0,
    size: entry.kind === "file" ? Math.min(entry.size, MAX_OCTAL_SIZE) : 0,
    mtime: Math.max(0, seconds),
    typeflag: TYPEFLAG[entry.kind],
    linkname: truncateUtf8(link, 100),
  });
  if (pax.length === 0) return ustar;
  const records = encoder.encode(pax.map(([key, value]) => paxRecord(key, value)).join(""));
  const paxHeader = ustarBlock({
    name: truncateUtf8(`PaxHeaders/${name.replace(/\/$/, "").split("/").pop()}`, 100),
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: records.length,
    mtime: Math.max(0, seconds),
    typeflag: "x",
    linkname: "",
  });
  const out = new Uint8Array(BLOCK + padded(records.length) + BLOCK);
  out.set(paxHeader, 0);
  out.set(records, BLOCK);
  out.set(ustar, BLOCK + padded(records.length));
  return out;
}

/** Zero bytes that fill `size` bytes of content up to a whole block. */
export function padding(size: number): Uint8Array {
  return new Uint8Array(padded(size) - size);
}

/** `size` rounded up to whole blocks. */
export function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

/** The end of an archive: two zero blocks. */
export function endOfArchive(): Uint8Array {
  return new Uint8Array(2 * BLOCK);
}

/** `"<len> key=value\n"`, where `<len>` counts the whole record, itself included. */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = encoder.encode(body).length;
  const digits = String(bodyLength).length;
  let length = bodyLength + digits;
  if (String(length).length > digits) length++;
  return `${length}${body}`;
}

/** Seconds with the milliseconds as a decimal fraction: `1700000000.123`. */
function formatMtime(ms: number): string {
  const negative = ms < 0;
  const abs = Math.abs(ms);
  const whole = Math.floor(abs / 1000);
  const frac = abs - whole * 1000;
  return `${negative ? "-" : ""}${whole}${frac ? "." + String(frac).padStart(3, "0") : ""}`;
}

interface UstarFields {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
}

function ustarBlock(f: UstarFields): Uint8Array {
  const block = new Uint8Array(BLOCK);
  block.set(encoder.encode(f.name), 0);
  writeOctal(block, 100, 8, f.mode);
  writeOctal(block, 108, 8, Math.min(f.uid, 0o7777777));
  writeOctal(block, 116, 8, Math.min(f.gid, 0o7777777));
  writeOctal(block, 124, 12, f.size);
  writeOctal(block, 136, 12, Math.min(f.mtime, 0o77777777777));
  block.set(encoder.encode(f.typeflag), 156);
  block.set(encoder.encode(f.linkname), 157);
  block.set(encoder.encode("ustar\u000000"), 257);
  writeOctal(block, 329, 8, 0);
  writeOctal(block, 337, 8, 0);
  block.fill(0x20, 148, 156);
  const sum = block.reduce((a, b) => a + b, 0);
  block.set(encoder.encode(sum.toString(8).padStart(6, "0") + "\u0000 "), 148);
  return block;
}

function writeOctal(block: Uint8Array, offset: number, length: number, value: number): void {
  block.set(encoder.encode(value.toString(8).padStart(length - 1, "0") + "\u0000"), offset);
}

function isAscii(text: string): boolean {
  return /^[\x20-\x7e]*$/.test(text);
}

/** The longest prefix of `text` that fits `bytes` bytes of UTF-8, cut between characters. */
function truncateUtf8(text: string, bytes: number): string {
  if (encoder.encode(text).length <= bytes) return text;
  let out = "";
  let used = 0;
  for (const char of text) {
    const size = encoder.encode(char).length;
    if (used + size > bytes) break;
    out += char;
    used += size;
  }
  return out;
}

/** A ustar header as read, before pax records are applied. */
export interface RawHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  typeflag: string;
  linkname: string;
}

/** Whether a block is all zeros (the end of an archive). */
export function isZeroBlock(block: Uint8Array): boolean {
  for (const byte of block) if (byte !== 0) return false;
  return true;
}

/**
 * Decodes one header block; throws an `Error` saying what is wrong when its checksum does not
 * match (a damaged archive, or not a tar at all).
 */
export function decodeHeader(block: Uint8Array): RawHeader {
  const stored = readNumber(block, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  if (stored !== unsigned && stored !== signed) {
    throw new Error("a header's checksum does not match (the archive is damaged or not a tar)");
  }
  const magic = decoder.decode(block.subarray(257, 262));
  let name = readString(block, 0, 100);
  if (magic === "ustar") {
    const prefix = readString(block, 345, 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  return {
    name,
    mode: readNumber(block, 100, 8),
    uid: readNumber(block, 108, 8),
    gid: readNumber(block, 116, 8),
    size: readNumber(block, 124, 12),
    mtimeMs: readNumber(block, 136, 12) * 1000,
    typeflag: String.fromCharCode(block[156] || 0x30),
    linkname: readString(block, 157, 100),
  };
}

/** Parses pax records (`"<len> key=value\n"`…); throws on a malformed record. */
export function parsePax(bytes: Uint8Array): Map<string, string> {
  const records = new Map<string, string>();
  let offset = 0;
  while (offset < bytes.length) {
    if (bytes[offset] === 0) break;
    let space = offset;
    while (space < bytes.length && bytes[space] !== 0x20) space++;
    const length = Number(decoder.decode(bytes.subarray(offset, space)));
    if (!Number.isInteger(length) || length <= 0 || offset + length > bytes.length) {
      throw new Error("a pax extended header is malformed (the archive is damaged)");
    }
    const record = decoder.decode(bytes.subarray(space + 1, offset + length - 1));
    const equals = record.indexOf("=");
    if (equals < 0) throw new Error("a pax extended header is malformed (the archive is damaged)");
    records.set(record.slice(0, equals), record.slice(equals + 1));
    offset += length;
  }
  return records;
}

/** A pax `mtime` (`seconds[.fraction]`) in milliseconds. */
export function parsePaxMtime(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value)) throw new Error(`a pax mtime "${text}" is not a number`);
  return Math.round(value * 1000);
}

function readString(block: Uint8Array, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return decoder.decode(end < 0 ? field : field.subarray(0, end));
}

/** An octal field, or GNU's base-256 form (high bit of the first byte set). */
function readNumber(block: Uint8Array, offset: number, length: number): number {
  const field = block.subarray(offset, offset + length);
  if (field[0] & 0x80) {
    let value = field[0] & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i];
    return value;
  }
  const text = decoder.decode(field).replace(/\0.*$/s, "").trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) {
    throw new Error("a header field is not an octal number (the archive is damaged)");
  }
  return parseInt(text, 8);
}
