/**
 * A backup's SQL as text, for the commands that read a backup without loading it (`diff`,
 * `extract`): the stored bytes checked against the sidecar's size and SHA-256 on the way (the
 * last chunk is held back until they match, `stored_data.ts`), decrypted when encrypted, and
 * decompressed as the sidecar says. Reading stops when the consumer stops: a reader that leaves
 * early (the schema at the start of a dump) reads no further, and has not had the checksum
 * checked.
 */
import { Buffer } from "node:buffer";
import { pipeline, Readable } from "node:stream";
import { type BackupMeta, metaKey, parseMeta } from "../backup_file.ts";
import { findBackup, readAll } from "../catalog.ts";
import type { ServiceContext } from "../context.ts";
import { Decompressor } from "../decompressor.ts";
import { readCompressedSql } from "../stored_data.ts";
import { admitBackup } from "../trust.ts";
import { UsageError } from "../errors.ts";

/**
 * The sidecar of the backup `query` names, admitted for `action` (signatures when required, and
 * the engine of the context: a backup of the other engine is refused in one line).
 */
export async function backupMeta(
  context: ServiceContext,
  query: string,
  action: string,
): Promise<BackupMeta> {
  const entry = await findBackup(context.storage, query);
  const meta = parseMeta(await readAll(context.storage, metaKey(entry.id)), entry.id);
  admitBackup(context, meta, action);
  if (meta.server) {
    throw new UsageError(
      `Cannot ${action} backup "${meta.id}": it is a whole server's backup (its databases are ` +
        "parts); restore the database you need, then compare or query that",
    );
  }
  return meta;
}

/**
 * The SQL of `meta`'s data file as text chunks. Text is decoded as UTF-8 (every dump we write is:
 * the PostgreSQL dump sets `client_encoding`; SQLite writes UTF-8 databases' text as bytes), so
 * a value that is not valid UTF-8 reads as U+FFFD. With `decoding: "bytes"`, each byte is one
 * character (ISO 8859-1) instead: a SQLite dump's literals may hold bytes that are not UTF-8, and
 * a reader that cuts statements (all their syntax is ASCII) decodes each one with `decodeSql`.
 */
export async function* backupText(
  context: ServiceContext,
  meta: BackupMeta,
  action: string,
  decoding: "utf-8" | "bytes" = "utf-8",
): AsyncGenerator<string> {
  const stored = await readCompressedSql(context.storage, meta, context.encryption, action);
  const source = Readable.from(stored);
  // a margin over the recorded size, as restores allow: a bomb stops there
  const decompressor = new Decompressor({
    format: meta.file.compression,
    maxBytes: meta.sizes.raw + (1 << 20),
  });
  pipeline(source, decompressor, () => {}); // an error reaches the reader through `decompressor`
  const decoder = new TextDecoder();
  try {
    for await (const chunk of decompressor as AsyncIterable<Uint8Array>) {
      if (decoding === "bytes") {
        yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("latin1");
        continue;
      }
      const text = decoder.decode(chunk, { stream: true });
      if (text.length > 0) yield text;
    }
    const rest = decoder.decode();
    if (rest.length > 0) yield rest;
  } finally {
    decompressor.destroy();
    source.destroy();
  }
}

/** Splits text chunks into lines (without their `\n`); the last line may lack one. */
export async function* textLines(chunks: AsyncIterable<string>): AsyncGenerator<string> {
  let rest = "";
  for await (const chunk of chunks) {
    let start = 0;
    let text = chunk;
    if (rest.length > 0) {
      text = rest + chunk;
      rest = "";
    }
    for (let end = text.indexOf("\n", start); end >= 0; end = text.indexOf("\n", start)) {
      yield text.slice(start, end);
      start = end + 1;
    }
    rest = text.slice(start);
  }
  if (rest.length > 0) yield rest;
}

/**
 * One reading of a backup's text that a reader can stop taking from without ending it: `chunks()`
 * hands out what is left, `drain()` reads the rest unlooked-at (so the checksum is checked at the
 * end), `close()` abandons the read (in `finally`).
 */
export class TextSource {
  readonly #chunks: AsyncIterator<string>;

  constructor(chunks: AsyncIterable<string>) {
    this.#chunks = chunks[Symbol.asyncIterator]();
  }

  /** The chunks not taken yet; leaving a loop over them keeps the reading open. */
  async *chunks(): AsyncGenerator<string> {
    for (;;) {
      const next = await this.#chunks.next();
      if (next.done) return;
      yield next.value;
    }
  }

  /** Reads to the end, so the checksum is checked (it throws if the data does not match). */
  async drain(): Promise<void> {
    while (!(await this.#chunks.next()).done) {
      // the bytes are only hashed
    }
  }

  async close(): Promise<void> {
    await this.#chunks.return?.();
  }
}
