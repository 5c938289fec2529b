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

  /** Complete statements seen so far. */
  get statements(): number {
    return this.#statements;
  }

  /**
   * Adds `chunk` and returns the bytes of every statement completed so far (possibly none), in
   * order. The returned array is a copy the caller may keep.
   */
  push(chunk: Uint8Array): Uint8Array {
    this.#append(chunk);
    const end = this.#scan();
    if (end === 0) return new Uint8Array(0);
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
            // Not a trigger: only a `;`, a quote or a comment matters until the statement ends.
            while (i < length && CLASS[b[i]] === Class.Other) i++;
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
              this.#trigger = isTriggerHead(b, this.#headStart, i);
            }
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
      this.#trigger = this.#headStart >= 0 && isTriggerHead(this.#buffer, this.#headStart, at);
    }
    if (!this.#trigger) return true;
    // In a trigger body: complete only at "; END ;", with only blanks and comments between.
    const start = this.#tokenStart;
    return this.#afterSemicolon && start >= 0 && this.#tokenEnd === start + 3 &&
      ascii(this.#buffer, start, start + 3).toUpperCase() === "END";
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

/** What each byte means outside literals and comments. */
const CLASS = (() => {
  const table = new Uint8Array(256);
  for (const c of [0x20, 0x0a, 0x0d, 0x09, 0x0c]) table[c] = Class.Blank;
  table[SEMICOLON] = Class.Semicolon;
  for (const c of [QUOTE, DOUBLE_QUOTE, BACKTICK, OPEN_BRACKET]) table[c] = Class.Quote;
  for (const c of [DASH, SLASH]) table[c] = Class.CommentStart;
  return table;
})();

/** Bytes of a statement's start that tell whether it is a CREATE TRIGGER. */
const HEAD_BYTES = 64;

/** Whether the statement whose first token starts at `start` (bytes known up to `end`) is a trigger. */
function isTriggerHead(b: Uint8Array, start: number, end: number): boolean {
  return /^CREATE\s+(?:TEMP\s+|TEMPORARY\s+)?TRIGGER\b/i.test(
    ascii(b, start, Math.min(end, start + HEAD_BYTES)),
  );
}

function ascii(b: Uint8Array, start: number, end: number): string {
  let text = "";
  for (let i = start; i < end; i++) text += String.fromCharCode(b[i]);
  return text;
}
