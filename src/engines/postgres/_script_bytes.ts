/** Byte tests of the script reader (`_script_reader.ts`), kept apart to keep it small. */

/** Whether `bytes` begins with `prefix` (a statement with our marker comment). */
export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** Letters, digits, `_`, `$` and any non-ASCII byte (part of a UTF-8 letter). */
export function isIdentifierByte(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
    c === 0x5f || c === 0x24 || c >= 0x80;
}

/** A dollar-quote tag byte: like an identifier, without `$`, and no digit first. */
export function isTagByte(c: number, first: boolean): boolean {
  if (c === 0x24) return false;
  if (first && c >= 0x30 && c <= 0x39) return false;
  return isIdentifierByte(c);
}

/** A byte that can start an unquoted word: a letter, `_` or a non-ASCII byte. */
export function isWordStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c >= 0x80;
}
