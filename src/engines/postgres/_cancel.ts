/**
 * Cancelling a running query from outside the connection, as libpq's `PQcancel` does: the server
 * hands every session a key (BackendKeyData) at start-up, and a CancelRequest carrying it on a
 * fresh socket interrupts whatever the session runs, a lock wait included. Closing the
 * connection would not: a backend waiting for a lock does not notice its client left until the
 * lock is granted. The stall watchdog uses this to let a lock wait go.
 *
 * postgres.js keeps the key to itself, so we read it off our own socket (plain connections; a
 * TLS session's bytes are encrypted, and those connections are only closed).
 */
import net from "node:net";

/** A session's cancel key. */
export interface BackendKey {
  pid: number;
  secret: number;
}

const BACKEND_KEY_DATA = 0x4b; // 'K'
const READY_FOR_QUERY = 0x5a; // 'Z'
const SSL_ACCEPTED = 0x53; // 'S', the one-byte answer to an SSLRequest
const SSL_REFUSED = 0x4e; // 'N'
const CANCEL_REQUEST_CODE = 80877102;

/**
 * Follows the server's start-up messages (type byte, int32 length) across chunks until the
 * BackendKeyData; gives up at ReadyForQuery, on TLS, or on bytes that are not start-up messages.
 */
export class BackendKeyReader {
  #pending = new Uint8Array(0);
  #state: "reading" | "found" | "gave-up" = "reading";
  #key: BackendKey | undefined;
  #first = true;

  /** The key, once read. */
  get key(): BackendKey | undefined {
    return this.#key;
  }

  /** Whether more bytes can still tell anything. */
  get reading(): boolean {
    return this.#state === "reading";
  }

  /** Takes bytes the server sent, in order. */
  feed(chunk: Uint8Array): void {
    if (this.#state !== "reading") return;
    let bytes = chunk;
    if (this.#first && bytes.length > 0) {
      this.#first = false;
      // the answer to an SSLRequest comes alone, before any message
      if (bytes[0] === SSL_ACCEPTED && bytes.length === 1) return void (this.#state = "gave-up");
      if (bytes[0] === SSL_REFUSED && (bytes.length === 1 || bytes[1] !== 0)) {
        bytes = bytes.subarray(1);
      }
    }
    if (this.#pending.length > 0) {
      const joined = new Uint8Array(this.#pending.length + bytes.length);
      joined.set(this.#pending);
      joined.set(bytes, this.#pending.length);
      bytes = joined;
    }
    let at = 0;
    while (at + 5 <= bytes.length) {
      const view = new DataView(bytes.buffer, bytes.byteOffset + at);
      const length = view.getInt32(1);
      if (length < 4 || length > 1 << 20) return void (this.#state = "gave-up");
      if (at + 1 + length > bytes.length) break;
      if (bytes[at] === BACKEND_KEY_DATA && length === 12) {
        this.#key = { pid: view.getInt32(5), secret: view.getInt32(9) };
        this.#state = "found";
        return;
      }
      if (bytes[at] === READY_FOR_QUERY) return void (this.#state = "gave-up");
      at += 1 + length;
    }
    this.#pending = new Uint8Array(bytes.subarray(at));
  }
}

/** The 16-byte CancelRequest packet for `key`. */
export function cancelRequest(key: BackendKey): Uint8Array {
  const packet = new Uint8Array(16);
  const view = new DataView(packet.buffer);
  view.setInt32(0, 16);
  view.setInt32(4, CANCEL_REQUEST_CODE);
  view.setInt32(8, key.pid);
  view.setInt32(12, key.secret);
  return packet;
}

/** Where to send a cancel: the server's TCP address or unix socket path. */
export type CancelTarget = { path: string } | { host: string; port: number };

/**
 * Sends a CancelRequest for `key` and waits (at most `timeoutMs`) for the server to close the
 * socket, which it does once the cancel is delivered. Never throws: a cancel is best effort.
 */
export function sendCancel(
  target: CancelTarget,
  key: BackendKey,
  timeoutMs = 5_000,
): Promise<void> {
  return new Promise((resolve) => {
    const socket = "path" in target
      ? net.connect(target.path)
      : net.connect(target.port, target.host);
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    socket.once("connect", () => socket.write(cancelRequest(key)));
    socket.on("data", () => {});
    socket.once("close", done);
    socket.once("error", done);
  });
}
