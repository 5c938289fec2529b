import { firstWords } from "./_allowlist.ts";

/**
 * Cuts a stream of SQL bytes at statement boundaries, so that complete statements can be run in
 * large groups while the rest waits for more input. It follows `sqlite3_complete()`: a `;` ends a
 * statement unless it is inside a quoted string or identifier or a comment, or inside the body of
 * a `CREATE TRIGGER`, which only ends at `; END ;`.
 *
 * The cost is per byte, never per value: the bytes of a quoted literal (a text or an `X'…'` blob)
 * are skipped with one native `indexOf` for the closing quote, and outside literals a statement
 * that is not a trigger (known from its first 64 bytes) is scanned with one table look-up per
 * byte; only triggers, and the head of each statement, follow the tokens one by one.
 */
export class StatementSplitter {
  readonly #maxStatementBytes: number;
  readonly #judge: StatementJudge | undefined;
  /** Newlines in the bytes already handed out, for the line a refused statement is on. */
  #linesBefore = 0;
  #buffer = new Uint8Array(1 << 20);
  #length = 0;
  /** Where scanning resumes. */
  #position = 0;
  #state = State.Normal;
  /** Start of the statement being scanned. */
  #statementStart = 0;
  /** Start of the statement's first token (-1: not seen yet). */
  #headStart = -1;
  /** Whether the statement being scanned is a CREATE TRIGGER; undefined until known. */
  #trigger: boolean | undefined;
  /** Whether a `;` that did not end the statement (one inside a trigger body) was seen. */
  #afterSemicolon = false;
  /** Start and end of the tokens since the last `;`, comments and blanks left out (-1: none). */
  #tokenStart = -1;
  #tokenEnd = -1;
  #statements = 0;

  constructor(options: StatementSplitterOptions = {}) {
    this.#maxStatementBytes = options.maxStatementBytes ?? Infinity;
    this.#judge = options.judge;
  }

  /** Complete statements seen so far. */
  get statements(): number {
    return this.#statements;
  }

  /**
   * Adds `chunk` and returns the bytes of every statement completed so far (possibly none), in
   * order. The returned array is a copy the caller may keep. Throws
   * {@linkcode StatementRefusedError} for a statement the judge refuses, a `load_extension(`
   * call, or a statement longer than the limit, before handing out any byte of it.
   */
  push(chunk: Uint8Array): Uint8Array {
    this.#append(chunk);
    const end = this.#scan();
    if (this.#length - this.#statementStart > this.#maxStatementBytes) {
      const start = this.#headStart >= 0 ? this.#headStart : this.#statementStart;
      throw new StatementRefusedError(
        `the statement at line ${this.#lineOf(start)} is longer than ${this.#maxStatementBytes} ` +
          `bytes, more than backup-manager writes for this backup ("${this.#words(start)}"): ` +
          "refusing to read on",
      );
    }
    if (end === 0) return new Uint8Array(0);
    this.#linesBefore += countNewlines(this.#buffer, 0, end);
    const complete = this.#buffer.slice(0, end);
    this.#buffer.copyWithin(0, end, this.#length);
    this.#length -= end;
    this.#position -= end;
    this.#statementStart -= end;
    if (this.#headStart >= 0) this.#headStart -= end;
    if (this.#tokenStart >= 0) {
      this.#tokenStart -= end;
      this.#tokenEnd -= end;
    }
    return complete;
  }

  /**
   * Ends the input; returns what is left after the last complete statement, which for a whole
   * script is only white space and comments.
   */
  finish(): Uint8Array {
    return this.#buffer.slice(0, this.#length);
  }

  #append(chunk: Uint8Array): void {
    if (this.#length + chunk.length > this.#buffer.length) {
      const grown = new Uint8Array(Math.max(this.#buffer.length * 2, this.#length + chunk.length));
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
    }
    this.#buffer.set(chunk, this.#length);
    this.#length += chunk.length;
  }

  /** Scans from the saved position; returns the end of the last complete statement (or 0). */
  #scan(): number {
    // A view of the filled part only: a search never runs on into stale bytes beyond it.
    const b = this.#buffer.subarray(0, this.#length);
    const length = b.length;
    let i = this.#position;
    let lastEnd = 0;
    let state = this.#state;
    scan: while (i < length) {
      switch (state) {
        case State.Normal: {
          if (this.#trigger === false) {
            // Not a trigger: only a `;`, a quote, a comment or a call matters until the statement
            // ends. A `(` after a byte no `load_extension` call can end with (an INSERT's
            // `VALUES(` and `),(`) is passed over here.
            for (;;) {
              while (i < length && CLASS[b[i]] === Class.Other) i++;
              if (i > 0 && i < length && b[i] === OPEN_PAREN && !MAY_END_CALL[b[i - 1]]) {
                i++;
                continue;
              }
              break;
            }
            if (i >= length) break scan;
          }
          const c = b[i];
          const k = CLASS[c];
          if (k === Class.Semicolon) {
            if (this.#endsStatement(i)) {
              lastEnd = i + 1;
              this.#statementStart = i + 1;
              this.#headStart = -1;
              this.#trigger = undefined;
              this.#afterSemicolon = false;
              this.#statements++;
            } else {
              this.#afterSemicolon = true;
            }
            this.#tokenStart = -1;
            i++;
            break;
          }
          if (k === Class.Blank) {
            i++;
            break;
          }
          if (k === Class.CommentStart) {
            if (i + 1 >= length) break scan; // need the next byte to tell
            if (c === DASH && b[i + 1] === DASH) {
              state = State.LineComment;
              i += 2;
              break;
            }
            if (c === SLASH && b[i + 1] === STAR) {
              state = State.BlockComment;
              i += 2;
              break;
            }
          }
          if (this.#trigger !== false) {
            if (this.#headStart < 0) this.#headStart = i;
            if (this.#tokenStart < 0) this.#tokenStart = i;
            this.#tokenEnd = i + 1;
            if (this.#trigger === undefined && i >= this.#headStart + HEAD_BYTES) {
              this.#classify(i, false);
            }
          }
          if (k === Class.Paren && callsLoadExtension(b, i, this.#statementStart)) {
            throw this.#refused(this.#headStart >= 0 ? this.#headStart : i);
          }
          if (k === Class.Quote) {
            state = c === QUOTE
              ? State.SingleQuote
              : c === DOUBLE_QUOTE
              ? State.DoubleQuote
              : c === BACKTICK
              ? State.Backtick
              : State.Bracket;
          }
          i++;
          break;
        }
        case State.SingleQuote:
        case State.DoubleQuote:
        case State.Backtick:
        case State.Bracket: {
          // A doubled quote inside a literal is a close followed by an open: the same result.
          const close = state === State.SingleQuote
            ? QUOTE
            : state === State.DoubleQuote
            ? DOUBLE_QUOTE
            : state === State.Backtick
            ? BACKTICK
            : CLOSE_BRACKET;
          const at = b.indexOf(close, i);
          if (at < 0) {
            i = length;
            break scan;
          }
          i = at + 1;
          if (this.#trigger !== false) this.#tokenEnd = i;
          state = State.Normal;
          break;
        }
        case State.LineComment: {
          const at = b.indexOf(NEWLINE, i);
          if (at < 0) {
            i = length;
            break scan;
          }
          i = at + 1;
          state = State.Normal;
          break;
        }
        case State.BlockComment: {
          const at = b.indexOf(STAR, i);
          if (at < 0) {
            i = length;
            break scan;
          }
          if (at + 1 >= length) {
            i = at;
            break scan;
          }
          i = at + 1;
          if (b[at + 1] === SLASH) {
            i = at + 2;
            state = State.Normal;
          }
          break;
        }
      }
    }
    this.#position = i;
    this.#state = state;
    return lastEnd;
  }

  /** Whether the `;` at `at` ends the current statement (see the class comment). */
  #endsStatement(at: number): boolean {
    if (this.#trigger === undefined) {
      if (this.#headStart >= 0) this.#classify(at, at <= this.#headStart + HEAD_BYTES);
      else this.#trigger = false;
    }
    if (!this.#trigger) return true;
    // In a trigger body: complete only at "; END ;", with only blanks and comments between.
    const start = this.#tokenStart;
    return this.#afterSemicolon && start >= 0 && this.#tokenEnd === start + 3 &&
      ascii(this.#buffer, start, start + 3).toUpperCase() === "END";
  }

  /**
   * Tells from the statement's first bytes (known up to `end`; `whole`: `end` is its `;`)
   * whether it is a trigger, and lets the judge refuse it before any of it runs.
   */
  #classify(end: number, whole: boolean): void {
    const start = this.#headStart;
    const head = ascii(this.#buffer, start, Math.min(end, start + HEAD_BYTES));
    this.#trigger = TRIGGER_HEAD.test(head);
    if (this.#judge && !this.#judge(head, whole)) throw this.#refused(start);
  }

  #refused(start: number): StatementRefusedError {
    return new StatementRefusedError(
      `line ${this.#lineOf(start)} is not something backup-manager writes ("${
        this.#words(start)
      }"): refusing to run it`,
    );
  }

  /** The line (from 1) of buffer offset `at`. */
  #lineOf(at: number): number {
    return this.#linesBefore + countNewlines(this.#buffer, 0, at) + 1;
  }

  /** The first words of the statement starting at `start`, for a message. */
  #words(start: number): string {
    const end = Math.min(this.#length, start + HEAD_BYTES);
    let text = ascii(this.#buffer, start, end);
    const semicolon = text.indexOf(";");
    if (semicolon >= 0) text = text.slice(0, semicolon);
    return firstWords(text, semicolon >= 0 || end === this.#length);
  }
}

/**
 * Says whether a statement may run, from its first bytes (see {@linkcode isAllowedStatement});
 * `whole` when they are the whole statement.
 */
export type StatementJudge = (head: string, whole: boolean) => boolean;

/** Options of {@linkcode StatementSplitter}. */
export interface StatementSplitterOptions {
  /**
   * Longest statement accepted, in bytes (a longer one fails `push` while it is still being
   * read, so memory stays bounded on an endless statement). Default: no limit.
   */
  maxStatementBytes?: number;
  /**
   * Judges each statement before any of it is handed out; also refuses `load_extension(` calls
   * anywhere outside literals. Default: every statement passes.
   */
  judge?: StatementJudge;
}

/** A statement the restore will not run: one line naming where it is and how it starts. */
export class StatementRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StatementRefusedError";
  }
}

const enum State {
  Normal,
  SingleQuote,
  DoubleQuote,
  Backtick,
  Bracket,
  LineComment,
  BlockComment,
}

const enum Class {
  Other,
  Blank,
  Semicolon,
  Quote,
  CommentStart,
  Paren,
}

const QUOTE = 0x27;
const DOUBLE_QUOTE = 0x22;
const BACKTICK = 0x60;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const DASH = 0x2d;
const SLASH = 0x2f;
const STAR = 0x2a;
const SEMICOLON = 0x3b;
const NEWLINE = 0x0a;
const OPEN_PAREN = 0x28;

/** What each byte means outside literals and comments. */
const CLASS = (() => {
  const table = new Uint8Array(256);
  for (const c of [0x20, 0x0a, 0x0d, 0x09, 0x0c]) table[c] = Class.Blank;
  table[SEMICOLON] = Class.Semicolon;
  for (const c of [QUOTE, DOUBLE_QUOTE, BACKTICK, OPEN_BRACKET]) table[c] = Class.Quote;
  for (const c of [DASH, SLASH]) table[c] = Class.CommentStart;
  table[OPEN_PAREN] = Class.Paren;
  return table;
})();

/** Bytes of a statement's start that tell whether it is a CREATE TRIGGER. */
const HEAD_BYTES = 64;

const TRIGGER_HEAD = /^CREATE\s+(?:TEMP\s+|TEMPORARY\s+)?TRIGGER\b/i;

const LOAD_EXTENSION = "load_extension";

/** Bytes a `load_extension` call can have just before its `(`: the name's end, a quote, a blank. */
const MAY_END_CALL = (() => {
  const table = new Uint8Array(256);
  for (const c of 'nN"`] \n\r\t\f') table[c.charCodeAt(0)] = 1;
  return table;
})();

/**
 * Whether the `(` at `at` (outside literals and comments) calls `load_extension`: the word
 * before it, past blanks and one closing quote (a quoted function name), with no identifier
 * byte before the word. One comparison per `(` in most statements (an INSERT has one per row).
 * A comment between the name and `(` is not seen here; the connection refuses the call then.
 */
function callsLoadExtension(b: Uint8Array, at: number, from: number): boolean {
  let i = at - 1;
  while (i >= from && CLASS[b[i]] === Class.Blank) i--;
  const close = i >= from && (b[i] === DOUBLE_QUOTE || b[i] === BACKTICK || b[i] === CLOSE_BRACKET)
    ? b[i--]
    : 0;
  const start = i - LOAD_EXTENSION.length + 1;
  if (start < from) return false;
  for (let k = 0; k < LOAD_EXTENSION.length; k++) {
    const c = b[start + k];
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== LOAD_EXTENSION.charCodeAt(k)) return false;
  }
  let k = start - 1;
  if (close !== 0) {
    if (k < from || b[k] !== (close === CLOSE_BRACKET ? OPEN_BRACKET : close)) return false;
    k--; // its opening quote
  } else if (k >= from && isIdentifierByte(b[k])) return false;
  // a table called so (`INSERT INTO "load_extension"(…)`, `CREATE TABLE …`) is no call
  while (k >= from && CLASS[b[k]] === Class.Blank) k--;
  let wordStart = k;
  while (wordStart >= from && isIdentifierByte(b[wordStart])) wordStart--;
  return !NAME_BEFORE.has(ascii(b, wordStart + 1, k + 1).toUpperCase());
}

/** Words after which a name followed by `(` is a table's or an index's, not a function's. */
const NAME_BEFORE = new Set(["INTO", "TABLE", "EXISTS", "ON", "INDEX", "VIEW", "TRIGGER"]);

function isIdentifierByte(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
    c === 0x5f || c === 0x24 || c >= 0x80;
}

/** The number of `\n` bytes in `b[from, to)`: one native search per line. */
function countNewlines(b: Uint8Array, from: number, to: number): number {
  const view = b.subarray(from, to);
  let n = 0;
  for (let i = view.indexOf(NEWLINE); i >= 0; i = view.indexOf(NEWLINE, i + 1)) n++;
  return n;
}

function ascii(b: Uint8Array, start: number, end: number): string {
  let text = "";
  for (let i = start; i < end; i++) text += String.fromCharCode(b[i]);
  return text;
}
