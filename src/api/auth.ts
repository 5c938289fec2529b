/**
 * Who may call the API: bearer tokens, kept only as SHA-256 hashes, each with a name (for the
 * audit log) and a role. A token is compared in constant time, and an address that keeps
 * presenting wrong ones is slowed down.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** What a token may do: `viewer` reads, `admin` also changes things and downloads backups. */
export type Role = "viewer" | "admin";

/** A configured token: its name and role, and the SHA-256 (hex) of the token itself. */
export interface ApiToken {
  name: string;
  sha256: string;
  role: Role;
}

/** Who a request was made by. */
export interface Principal {
  name: string;
  role: Role;
}

/** A new random token (`bm_` + 43 base64url characters: 256 bits) and its hash for the config. */
export function newToken(): { token: string; sha256: string } {
  const token = `bm_${randomBytes(32).toString("base64url")}`;
  return { token, sha256: hashToken(token) };
}

/** The hex SHA-256 of a token, as `api.tokens[].sha256` holds it. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** Whether `role` may do what `required` allows. */
export function allows(role: Role, required: Role): boolean {
  return role === "admin" || required === "viewer";
}

/**
 * The principal whose token is in an `Authorization: Bearer …` header, or `undefined`. Every
 * configured hash is compared (no early exit), so the time taken says nothing about which one
 * nearly matched.
 */
export function authenticate(
  header: string | null,
  tokens: readonly ApiToken[],
): Principal | undefined {
  const match = /^bearer +([\x21-\x7e]{1,512})$/i.exec(header?.trim() ?? ""); // the scheme is case-insensitive (RFC 9110)
  if (!match) return undefined;
  const presented = createHash("sha256").update(match[1]).digest();
  let found: ApiToken | undefined;
  for (const token of tokens) {
    const expected = Buffer.from(token.sha256, "hex");
    if (expected.length === presented.length && timingSafeEqual(expected, presented)) {
      found ??= token;
    }
  }
  return found ? { name: found.name, role: found.role } : undefined;
}

/** Options of {@linkcode FailureThrottle}. */
export interface FailureThrottleOptions {
  /** Failures within `windowMs` before answers slow down. Default 5. */
  free?: number;
  /** Default one minute. */
  windowMs?: number;
  /** The first delay; each further failure doubles it. Default 250 ms. */
  baseDelayMs?: number;
  /** Default 10 s. */
  maxDelayMs?: number;
  /** Default `Date.now`. */
  now?: () => number;
}

/**
 * Counts failed sign-ins per client address; past a few, each failed request from that address
 * waits longer before it is answered (one at a time), which makes guessing tokens slow without
 * locking anyone out: a request with a good token is never delayed.
 */
export class FailureThrottle {
  readonly #free: number;
  readonly #windowMs: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #now: () => number;
  readonly #failures = new Map<string, { count: number; since: number }>();
  readonly #queues = new Map<string, Promise<void>>();

  constructor(options: FailureThrottleOptions = {}) {
    this.#free = options.free ?? 5;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#baseDelayMs = options.baseDelayMs ?? 250;
    this.#maxDelayMs = options.maxDelayMs ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** How long a request from `address` waits before it is looked at. */
  delayFor(address: string): number {
    const entry = this.#current(address);
    if (!entry || entry.count < this.#free) return 0;
    return Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (entry.count - this.#free));
  }

  /** Records a failed sign-in. */
  failed(address: string): void {
    const entry = this.#current(address) ?? { count: 0, since: this.#now() };
    entry.count++;
    this.#failures.set(address, entry);
    if (this.#failures.size > 10_000) this.#forgetOld();
  }

  /**
   * Records a failed sign-in and resolves when its answer may go out: past the free failures,
   * after the delay, and after the previous penalised answer to the same address, so parallel
   * guesses are answered one after another instead of all at once.
   */
  penalize(address: string): Promise<void> {
    this.failed(address);
    const delay = this.delayFor(address);
    if (delay === 0) return Promise.resolve();
    const previous = this.#queues.get(address) ?? Promise.resolve();
    const turn = previous.then(() => new Promise<void>((resolve) => setTimeout(resolve, delay)));
    this.#queues.set(address, turn);
    turn.then(() => {
      if (this.#queues.get(address) === turn) this.#queues.delete(address);
    });
    return turn;
  }

  /** A good token clears the address's count. */
  succeeded(address: string): void {
    this.#failures.delete(address);
  }

  #current(address: string) {
    const entry = this.#failures.get(address);
    if (entry && this.#now() - entry.since > this.#windowMs) {
      this.#failures.delete(address);
      return undefined;
    }
    return entry;
  }

  #forgetOld(): void {
    for (const address of [...this.#failures.keys()]) this.#current(address);
  }
}
