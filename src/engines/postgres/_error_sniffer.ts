/**
 * Reads the server's error messages off the wire, beside postgres.js. postgres.js 3.4.9 drops an
 * error that arrives after the end of COPY FROM STDIN data (the stream is already gone), which is
 * exactly when a bad last row is reported; the restore takes the server's words from here.
 * It also counts the statements that completed before the error: in a batch of statements sent
 * as one simple query, that count is the index of the statement the server rejected, even when
 * the error has no position (a failed constraint, a missing function at execution).
 */

/** The fields of an ErrorResponse a message needs. */
export interface ServerError {
  code: string;
  message: string;
  where?: string;
}

const ERROR_RESPONSE = 0x45; // 'E'
const COMMAND_COMPLETE = 0x43; // 'C'

/** Follows the backend message framing (type byte, int32 length) across chunks. */
export class ErrorSniffer {
  #pending = new Uint8Array(0);
  #last: ServerError | undefined;
  #completed = 0;
  readonly #decoder = new TextDecoder();

  /** The first error the server sent since the last `reset()`, if any. */
  get first(): ServerError | undefined {
    return this.#last;
  }

  /** Statements completed since the last `reset()` and before the first error. */
  get completed(): number {
    return this.#completed;
  }

  /** Forgets the last error and the count of completed statements (before a new operation). */
  reset(): void {
    this.#last = undefined;
    this.#completed = 0;
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
      } else if (bytes[at] === COMMAND_COMPLETE && this.#last === undefined) {
        this.#completed++;
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
