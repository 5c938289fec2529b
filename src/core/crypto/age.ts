/**
 * Public-key encryption of backups with age (https://age-encryption.org/v1), through
 * `npm:age-encryption`. Files are the binary age format, readable by the `age` CLI: `age -d -i
 * key.txt backup.age` restores without this tool. Only X25519 recipients are accepted, since that
 * is what age-keygen makes and what every age release decrypts.
 */
import { Encrypter } from "age-encryption";
import { BackupManagerError, messageOf } from "../errors.ts";
import { parseRecipients } from "./_age_keys.ts";

export { decryptStream } from "./_age_decrypt.ts";
export {
  identityFingerprints,
  parseRecipients,
  readIdentityFile,
  recipientFingerprint,
} from "./_age_keys.ts";

/**
 * Bytes handed to the library at a time, and bytes per chunk given to the sink. The library
 * encrypts 64 KiB age chunks and costs a few microseconds per call, so tiny writes (one per
 * database row) are gathered first; and it turns one input chunk into all its output chunks at
 * once, so a 16 MiB write is cut up to keep memory bounded.
 */
const PIECE_BYTES = 1 << 20;

/** Pushes bytes through an encoder to a sink, in order, with backpressure. */
export interface StreamSink {
  /** Takes `chunk` (copied: the caller may reuse it); resolves once memory allows more. */
  write(chunk: Uint8Array): Promise<void>;
  /** Finishes the stream; resolves once the sink has taken the last byte. */
  end(): Promise<void>;
  /** Drops everything without finishing (after a failed dump); the output is unusable. */
  abort(): void;
}

/**
 * Encrypts a stream for `recipients` (age1… public keys), giving the age file to `sink` in
 * chunks of about 1 MiB, each a new buffer the sink may keep. At most a few MiB are in flight:
 * `write` waits while the sink is behind. A failure of the sink is rethrown as is by the next
 * `write` or `end`.
 */
export function createEncryptor(
  recipients: string[],
  sink: (chunk: Uint8Array) => Promise<void>,
): StreamSink {
  return new AgeEncryptor(parseRecipients(recipients, "encryption recipients"), sink);
}

class AgeEncryptor implements StreamSink {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  /**
   * Errors the input stream on failure. `writer.abort()` is not enough: a TransformStream's
   * abort waits for the write in flight, which waits for the reader, which has stopped.
   */
  #inputController!: TransformStreamDefaultController<Uint8Array>;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  readonly #pump: Promise<void>;
  #piece = new Uint8Array(PIECE_BYTES);
  #pieceLength = 0;
  #failure: unknown;
  #ended = false;
  #finished = false;

  constructor(recipients: string[], sink: (chunk: Uint8Array) => Promise<void>) {
    const encrypter = new Encrypter();
    for (const recipient of recipients) encrypter.addRecipient(recipient);
    const input = new TransformStream<Uint8Array, Uint8Array>({
      start: (controller) => void (this.#inputController = controller),
    });
    this.#writer = input.writable.getWriter();
    // Failures reach the caller through write() and end(); this only keeps them handled.
    this.#writer.closed.catch(() => {});
    this.#pump = this.#run(encrypter.encrypt(input.readable), sink).catch((error) =>
      this.#fail(error)
    );
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#check();
    if (this.#ended) throw new BackupManagerError("Cannot encrypt: the stream is already ended");
    let offset = 0;
    while (offset < chunk.length) {
      this.#check();
      const take = Math.min(chunk.length - offset, PIECE_BYTES - this.#pieceLength);
      this.#piece.set(chunk.subarray(offset, offset + take), this.#pieceLength);
      this.#pieceLength += take;
      offset += take;
      if (this.#pieceLength === PIECE_BYTES) await this.#send();
    }
    this.#check();
  }

  async end(): Promise<void> {
    this.#check();
    if (this.#ended) throw new BackupManagerError("Cannot encrypt: the stream is already ended");
    this.#ended = true;
    try {
      this.#check();
      if (this.#pieceLength > 0) await this.#send();
      await this.#writer.close();
    } catch (error) {
      this.#check();
      throw error;
    }
    await this.#pump;
    this.#check();
    this.#finished = true;
  }

  abort(): void {
    if (this.#finished) return;
    this.#ended = true;
    this.#fail(new BackupManagerError("Cannot encrypt: the stream was aborted"));
  }

  /** Hands the current piece to the library; resolves when its queue has room again. */
  async #send(): Promise<void> {
    const piece = this.#pieceLength === PIECE_BYTES
      ? this.#piece
      : this.#piece.slice(0, this.#pieceLength);
    // A new buffer: the library may still read the old one after write() resolves.
    this.#piece = new Uint8Array(PIECE_BYTES);
    this.#pieceLength = 0;
    try {
      await this.#writer.write(piece);
    } catch (error) {
      this.#check();
      throw error;
    }
  }

  /** Reads the age file from the library and gives it to the sink in ~1 MiB chunks. */
  async #run(
    output: Promise<ReadableStream<Uint8Array>>,
    sink: (chunk: Uint8Array) => Promise<void>,
  ): Promise<void> {
    const give = async (chunk: Uint8Array) => {
      try {
        await sink(chunk);
      } catch (error) {
        this.#fail(error, true);
        throw error;
      }
    };
    const reader = (await output).getReader();
    if (this.#failure !== undefined) return void reader.cancel(this.#failure).catch(() => {});
    this.#reader = reader;
    try {
      let buffer = new Uint8Array(PIECE_BYTES);
      let length = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (this.#failure !== undefined) return;
        if (done) break;
        let offset = 0;
        while (offset < value.length) {
          const take = Math.min(value.length - offset, PIECE_BYTES - length);
          buffer.set(value.subarray(offset, offset + take), length);
          length += take;
          offset += take;
          if (length === PIECE_BYTES) {
            await give(buffer);
            if (this.#failure !== undefined) return;
            buffer = new Uint8Array(PIECE_BYTES);
            length = 0;
          }
        }
      }
      if (length > 0) await give(buffer.slice(0, length));
    } finally {
      this.#reader = undefined;
      reader.releaseLock();
    }
  }

  /** Records the first failure and tears the library's streams down; pending writes reject. */
  #fail(error: unknown, fromSink = false): void {
    if (this.#failure !== undefined) return;
    this.#failure = fromSink || error instanceof BackupManagerError
      ? error
      : new BackupManagerError(`Cannot encrypt: ${messageOf(error)}`, { cause: error });
    this.#inputController.error(this.#failure);
    this.#reader?.cancel(this.#failure).catch(() => {});
  }

  #check(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }
}
