/**
 * Cuts a PostgreSQL script, as it streams in, into what the restore runs: statements (a `;`
 * ends one unless it is inside parentheses (a multi-action rule's `DO ( ...; ...; )`) or a
 * `BEGIN ATOMIC ... END` routine body, as psql's lexer counts them, a standard or `E''` string, a quoted identifier, a dollar-quoted body, a
 * `--` comment or a nested block comment), the data of `COPY ... FROM stdin;` blocks in
 * pieces up to their `\.` line (never a whole table at once), and our comment directives
 * (`_script.ts`). Leading comments are dropped from statements; the server never needs them.
 */
import { Buffer } from "node:buffer";
import { ACL_MARKER, OWNER_MARKER } from "./_script.ts";
import { directiveEvent } from "./_script_directives.ts";
import { countNewlines } from "./_line_count.ts";
import { isIdentifierByte, isTagByte, isWordStart, startsWith } from "./_script_bytes.ts";
import { AtomicBody } from "./_atomic_body.ts";
import type { ScriptEvent } from "./_script_events.ts";

export type { ScriptEvent, ScriptPlace, StatementPlace } from "./_script_events.ts";

/** Options of {@linkcode ScriptReader}. */
export interface ScriptReaderOptions {
  /**
   * Longest statement, and longest COPY row, accepted in bytes: a longer one fails `push` with
   * {@linkcode ScriptRefusedError} while it is still being read, so an endless statement cannot
   * grow the buffer without end (`read_limits.ts`). Default: no limit.
   */
  maxStatementBytes?: number;
}

/** Input the restore will not read on: one line naming where it is. */
export class ScriptRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ScriptRefusedError";
  }
}

const enum State {
  Normal,
  Single,
  Escape,
  Double,
  Dollar,
  LineComment,
  BlockComment,
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const COPY_END = Buffer.from("\n\\.\n");
const OWNER = encoder.encode(OWNER_MARKER);
const ACL = encoder.encode(ACL_MARKER);
const COPY_FROM_STDIN = /^COPY\s[\s\S]*\sFROM\s+stdin\s*;$/i;

const NL = 0x0a, QUOTE = 0x27, DQUOTE = 0x22, DOLLAR = 0x24, SEMI = 0x3b, DASH = 0x2d;
const SLASH = 0x2f, STAR = 0x2a, BACKSLASH = 0x5c, DOT = 0x2e, OPEN = 0x28, CLOSE = 0x29;
const indexOf = Uint8Array.prototype.indexOf;
const lastIndexOf = Uint8Array.prototype.lastIndexOf;

/** The streaming cutter; `push` chunks, then `finish`. */
export class ScriptReader {
  #buffer = Buffer.alloc(1 << 16);
  #length = 0;
  #position = 0;
  /** Start of the statement, or of the COPY data not yet handed out. */
  #start = 0;
  #state = State.Normal;
  #inData = false;
  /** A COPY statement has ended; its data starts after the end of the line. */
  #awaitingData = false;
  /** Whether the statement has content other than comments and blanks. */
  #hasToken = false;
  #dollarTag: Buffer = Buffer.alloc(0);
  #depth = 0;
  /** Open parentheses of the statement: a `;` inside them does not end it. */
  #parens = 0;
  readonly #atomic = new AtomicBody();
  #statements = 0;
  #complete = false;
  /** The line `#lineAt` is on: newlines are counted lazily, up to where a statement starts. */
  #line = 1;
  #lineAt = 0;
  readonly #maxStatementBytes: number;
  /** The line the COPY data being read starts on: its rows are the lines up to its end. */
  #dataLine = 0;
  /** Bytes of the COPY row not yet ended by a newline, as far as handed out. */
  #rowBytes = 0;

  constructor(options: ScriptReaderOptions = {}) {
    this.#maxStatementBytes = options.maxStatementBytes ?? Infinity;
  }

  /** Whether the script's closing comment (`-- PostgreSQL database dump complete`) was seen. */
  get complete(): boolean {
    return this.#complete;
  }

  /** Statements seen so far (COPY included). */
  get statements(): number {
    return this.#statements;
  }

  /** Adds a chunk; returns the events it completed, in order. */
  push(chunk: Uint8Array): ScriptEvent[] {
    this.#append(chunk);
    const events: ScriptEvent[] = [];
    this.#scan(events);
    this.#checkLength();
    this.#compact();
    return events;
  }

  /**
   * Ends the input. Returns the text after the last complete statement, which for a whole
   * script is empty: anything else means the script was cut short.
   */
  finish(): { rest: string; inCopy: boolean } {
    const rest = this.#hasToken || this.#state !== State.Normal
      ? decoder.decode(this.#buffer.subarray(this.#start, this.#length))
      : "";
    return { rest, inCopy: this.#inData || this.#awaitingData };
  }

  #append(chunk: Uint8Array): void {
    if (this.#length + chunk.length > this.#buffer.length) {
      const grown = Buffer.alloc(Math.max(this.#buffer.length * 2, this.#length + chunk.length));
      this.#buffer.copy(grown, 0, 0, this.#length);
      this.#buffer = grown;
    }
    this.#buffer.set(chunk, this.#length);
    this.#length += chunk.length;
  }

  /** Refuses a statement or COPY row still open past the limit (see `maxStatementBytes`). */
  #checkLength(): void {
    const max = this.#maxStatementBytes;
    if (this.#inData) {
      if (this.#rowBytes <= max) return;
      throw new ScriptRefusedError(
        `the COPY data at line ${this.#dataLine} holds a row longer than ${max} bytes, more ` +
          "than backup-manager writes for this backup: refusing to read on",
      );
    }
    if (this.#length - this.#start <= max) return;
    const words = decoder.decode(this.#buffer.subarray(this.#start, this.#start + 40))
      .replace(/\s+/g, " ").trim();
    throw new ScriptRefusedError(
      `the statement at line ${this.#lineOf(this.#start)} is longer than ${max} bytes, more ` +
        `than backup-manager writes for this backup ("${words} …"): refusing to read on`,
    );
  }

  /** Drops what was handed out, keeping one byte before the start (the COPY end search needs it). */
  #compact(): void {
    const keep = Math.max(0, this.#start - 1);
    if (keep === 0) return;
    this.#lineOf(keep);
    this.#lineAt -= keep;
    this.#buffer.copy(this.#buffer, 0, keep, this.#length);
    this.#length -= keep;
    this.#position -= keep;
    this.#start -= keep;
  }

  #scan(events: ScriptEvent[]): void {
    for (;;) {
      if (this.#awaitingData && !this.#enterData()) return;
      if (this.#inData) {
        if (!this.#scanData(events)) return;
        continue;
      }
      if (!this.#scanSql(events)) return;
    }
  }

  /** Skips the rest of the COPY statement's line; false when the line is not complete yet. */
  #enterData(): boolean {
    const newline = this.#buffer.indexOf(NL, this.#position);
    if (newline < 0 || newline >= this.#length) return false;
    this.#awaitingData = false;
    this.#inData = true;
    this.#position = this.#start = newline + 1;
    this.#dataLine = this.#lineOf(this.#start);
    this.#rowBytes = 0;
    return true;
  }

  /** Hands out COPY data up to its `\.` line; false when more input is needed. */
  #scanData(events: ScriptEvent[]): boolean {
    const end = this.#copyEnd();
    if (end >= 0) {
      if (end + 1 > this.#start) {
        events.push({ type: "data", bytes: this.#copy(this.#start, end + 1) });
      }
      const rows = end + 1 > this.#start ? this.#lineOf(end + 1) - this.#dataLine : 0;
      events.push({ type: "copyEnd", rows });
      this.#inData = false;
      this.#position = this.#start = end + COPY_END.length;
      return true;
    }
    const safe = this.#length - (COPY_END.length - 1);
    if (safe > this.#start) {
      const lastNewline = lastIndexOf.call(this.#buffer.subarray(this.#start, safe), NL);
      this.#rowBytes = lastNewline < 0
        ? this.#rowBytes + safe - this.#start
        : safe - this.#start - lastNewline - 1;
      events.push({ type: "data", bytes: this.#copy(this.#start, safe) });
      this.#position = this.#start = safe;
    }
    return false;
  }

  /**
   * Where the data's `\n\.\n` starts (its newline may be the byte before `#start`), or -1 when
   * the buffer holds no complete one. The search runs on the typed array's own `indexOf` for the
   * backslash: the node `Buffer` search for a byte string is JavaScript in Deno, and several
   * times slower than inflating the data.
   */
  #copyEnd(): number {
    const b = this.#buffer;
    const data = b.subarray(0, this.#length);
    for (let at = indexOf.call(data, BACKSLASH, this.#start); at !== -1;) {
      if (at + 2 >= this.#length) return -1;
      if (b[at - 1] === NL && b[at + 1] === DOT && b[at + 2] === NL) return at - 1;
      at = indexOf.call(data, BACKSLASH, at + 1);
    }
    return -1;
  }

  /** Scans SQL until a statement or directive completes (true) or input runs out (false). */
  #scanSql(events: ScriptEvent[]): boolean {
    const b = this.#buffer;
    const length = this.#length;
    while (this.#position < length) {
      const at = this.#position;
      const c = b[at];
      switch (this.#state) {
        case State.Normal: {
          if (c === OPEN) this.#parens++;
          else if (c === CLOSE && this.#parens > 0) this.#parens--;
          else if (c === SEMI && this.#parens === 0 && !this.#atomic.open) {
            this.#position = at + 1;
            this.#endStatement(events);
            return true;
          }
          if (c === DASH || c === SLASH) {
            if (at + 1 >= length) return false;
            if (c === DASH && b[at + 1] === DASH) {
              if (!this.#hasToken) {
                const newline = b.indexOf(NL, at);
                if (newline < 0 || newline >= length) return false;
                this.#directive(decoder.decode(b.subarray(at, newline)), events);
                this.#position = this.#start = newline + 1;
                continue;
              }
              this.#state = State.LineComment;
              this.#position = at + 2;
              continue;
            }
            if (c === SLASH && b[at + 1] === STAR) {
              this.#markToken(at);
              this.#state = State.BlockComment;
              this.#depth = 1;
              this.#position = at + 2;
              continue;
            }
          }
          if (c === QUOTE) {
            const prefix = at - 1 >= this.#start ? b[at - 1] : 0;
            const isEscape = (prefix === 0x45 || prefix === 0x65) &&
              (at - 2 < this.#start || !isIdentifierByte(b[at - 2]));
            this.#markToken(at);
            this.#state = isEscape ? State.Escape : State.Single;
            this.#position = at + 1;
            continue;
          }
          if (c === DQUOTE) {
            this.#markToken(at);
            this.#state = State.Double;
            this.#position = at + 1;
            continue;
          }
          if (c === DOLLAR && !(at - 1 >= this.#start && isIdentifierByte(b[at - 1]))) {
            let end = at + 1;
            while (end < length && isTagByte(b[end], end === at + 1)) end++;
            if (end >= length) return false;
            this.#markToken(at);
            if (b[end] === DOLLAR) {
              this.#dollarTag = Buffer.from(b.subarray(at, end + 1));
              this.#state = State.Dollar;
              this.#position = end + 1;
              continue;
            }
            this.#position = at + 1;
            continue;
          }
          if (isWordStart(c) && !(at - 1 >= this.#start && isIdentifierByte(b[at - 1]))) {
            let end = at + 1;
            while (end < length && isIdentifierByte(b[end])) end++;
            this.#markToken(at);
            if (end >= length) return false; // the word may go on in the next chunk
            if (this.#atomic.wantsWords) {
              this.#atomic.word(decoder.decode(b.subarray(at, end)).toLowerCase(), this.#parens);
            }
            this.#position = end;
            continue;
          }
          if (c !== 0x20 && c !== NL && c !== 0x09 && c !== 0x0d) this.#markToken(at);
          else if (!this.#hasToken) this.#start = at + 1;
          this.#position = at + 1;
          continue;
        }
        case State.Single:
        case State.Double: {
          const quote = this.#state === State.Single ? QUOTE : DQUOTE;
          const close = b.indexOf(quote, at);
          if (close < 0 || close >= length) {
            this.#position = length;
            return false;
          }
          if (close + 1 >= length) {
            this.#position = close;
            return false;
          }
          if (b[close + 1] === quote) {
            this.#position = close + 2;
            continue;
          }
          this.#state = State.Normal;
          this.#position = close + 1;
          continue;
        }
        case State.Escape: {
          if (c === BACKSLASH) {
            if (at + 1 >= length) return false;
            this.#position = at + 2;
            continue;
          }
          if (c === QUOTE) {
            if (at + 1 >= length) return false;
            if (b[at + 1] === QUOTE) {
              this.#position = at + 2;
              continue;
            }
            this.#state = State.Normal;
          }
          this.#position = at + 1;
          continue;
        }
        case State.Dollar: {
          const close = b.subarray(0, length).indexOf(this.#dollarTag, at);
          if (close < 0) {
            this.#position = Math.max(at, length - this.#dollarTag.length + 1);
            return false;
          }
          this.#state = State.Normal;
          this.#position = close + this.#dollarTag.length;
          continue;
        }
        case State.LineComment: {
          const newline = b.indexOf(NL, at);
          if (newline < 0 || newline >= length) {
            this.#position = length;
            return false;
          }
          this.#state = State.Normal;
          this.#position = newline + 1;
          continue;
        }
        case State.BlockComment: {
          if (at + 1 >= length) return false;
          if (c === STAR && b[at + 1] === SLASH) {
            this.#position = at + 2;
            if (--this.#depth === 0) this.#state = State.Normal;
            continue;
          }
          if (c === SLASH && b[at + 1] === STAR) {
            this.#depth++;
            this.#position = at + 2;
            continue;
          }
          this.#position = at + 1;
          continue;
        }
      }
    }
    return false;
  }

  /** A copy with its own buffer (a Buffer's `slice` is a view; events outlive the buffer). */
  #copy(from: number, to: number): Uint8Array {
    return new Uint8Array(this.#buffer.subarray(from, to));
  }

  #markToken(at: number): void {
    if (!this.#hasToken) {
      this.#hasToken = true;
      this.#start = at;
    }
  }

  #directive(line: string, events: ScriptEvent[]): void {
    const event = directiveEvent(line);
    if (event === "end") this.#complete = true;
    else if (event) events.push(event);
  }

  /** The line of buffer position `at` (at or after the last position asked for). */
  #lineOf(at: number): number {
    if (at > this.#lineAt) {
      this.#line += countNewlines(this.#buffer, this.#lineAt, at);
      this.#lineAt = at;
    }
    return this.#line;
  }

  #endStatement(events: ScriptEvent[]): void {
    if (!this.#hasToken) {
      // A lone `;`: the server skips it inside a batch, so it must not count as a statement.
      this.#start = this.#position;
      return;
    }
    const sql = this.#copy(this.#start, this.#position);
    this.#statements++;
    const place = { number: this.#statements, line: this.#lineOf(this.#start) };
    this.#hasToken = false;
    this.#parens = 0;
    this.#atomic.reset();
    this.#start = this.#position;
    if (sql[0] === 0x43 || sql[0] === 0x63) { // C, c: maybe COPY
      const text = decoder.decode(sql);
      if (COPY_FROM_STDIN.test(text)) {
        events.push({ type: "copy", sql: text, place });
        this.#awaitingData = true;
        return;
      }
    }
    const category = startsWith(sql, OWNER) ? "owner" : startsWith(sql, ACL) ? "acl" : undefined;
    const places = [{ offset: 0, ...place }];
    events.push(
      category ? { type: "statement", sql, category, places } : { type: "statement", sql, places },
    );
  }
}
