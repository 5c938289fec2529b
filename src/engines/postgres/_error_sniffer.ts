/**
 * Reads the server's error messages off the wire, beside postgres.js. postgres.js 3.4.9 drops an
 * error that arrives after the end of COPY FROM STDIN data (the stream is already gone), which is
 * exactly when a bad last row is reported; the restore takes the server's words from here.
 */

/** The fields of an ErrorResponse a message needs. */
export interface ServerError {
  code: string;
  message: string;
  where?: string;
}

const ERROR_RESPONSE = 0x45; // 'E'

/** Follows the backend message framing (type byte, int32 length) across chunks. */
export class ErrorSniffer {
  #pending = new Uint8Array(0);
  #last: ServerError | undefined;
  readonly #decoder = new TextDecoder();

  /** The first error the server sent since the last `reset()`, if any. */
  get first(): ServerError | undefined {
    return this.#last;
  }

  /** Forgets the last error (before a new operation). */
  reset(): void {
    this.#last = undefined;
  }

  /** Takes bytes the server sent, in order. */
  feed(chunk: Uint8Array): void {
    let bytes = chunk;
    if (this.#pending.length > 0) {
      bytes = new Uint8Array(this.#pending.length + chunk.length);
      bytes.set(this.#pending);
      bytes.set(chunk, this.#pending.length);
    }
    let at = 0;
    while (at + 5 <= bytes.length) {
      const length = new DataView(bytes.buffer, bytes.byteOffset + at + 1, 4).getInt32(0);
      if (at + 1 + length > bytes.length) break;
      if (bytes[at] === ERROR_RESPONSE) {
        this.#last ??= this.#parse(bytes.subarray(at + 5, at + 1 + length));
      }
      at += 1 + length;
    }
    this.#pending = new Uint8Array(bytes.subarray(at)); // socket chunks may be reused views
  }

  #parse(body: Uint8Array): ServerError {
    const fields = new Map<string, string>();
    let at = 0;
    while (at < body.length && body[at] !== 0) {
      const end = body.indexOf(0, at + 1);
      fields.set(String.fromCharCode(body[at]), this.#decoder.decode(body.subarray(at + 1, end)));
      at = end + 1;
    }
    return { code: fields.get("C") ?? "", message: fields.get("M") ?? "", where: fields.get("W") };
  }
}
