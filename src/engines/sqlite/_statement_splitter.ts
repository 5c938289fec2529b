/**
 * Cuts a stream of SQL bytes at statement boundaries, so that complete statements can be run in
 * large groups while the rest waits for more input. It follows `sqlite3_complete()`: a `;` ends a
 * statement unless it is inside a quoted string or identifier or a comment, or inside the body of
 * a `CREATE TRIGGER`, which only ends at `; END ;`.
 */
export class StatementSplitter {
  #buffer = new Uint8Array(1 << 20);
  #length = 0;
  /** Where scanning resumes. */
  #position = 0;
  #state = State.Normal;
  /** Start of the statement being scanned. */
  #statementStart = 0;
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
    const b = this.#buffer;
    const length = this.#length;
    let i = this.#position;
    let lastEnd = 0;
    let state = this.#state;
    scan: while (i < length) {
      switch (state) {
        case State.Normal: {
          const c = b[i];
          if (c === SEMICOLON) {
            if (this.#endsStatement(i)) {
              lastEnd = i + 1;
              this.#statementStart = i + 1;
              this.#trigger = undefined;
              this.#afterSemicolon = false;
              this.#statements++;
            } else {
              this.#afterSemicolon = true;
            }
            this.#tokenStart = -1;
          } else if (!isBlank(c)) {
            if (c === DASH || c === SLASH) {
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
            if (this.#tokenStart < 0) this.#tokenStart = i;
            this.#tokenEnd = i + 1;
            if (c === QUOTE) state = State.SingleQuote;
            else if (c === DOUBLE_QUOTE) state = State.DoubleQuote;
            else if (c === BACKTICK) state = State.Backtick;
            else if (c === OPEN_BRACKET) state = State.Bracket;
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
          if (at < 0 || at >= length) {
            i = length;
            break scan;
          }
          i = at + 1;
          this.#tokenEnd = i;
          state = State.Normal;
          break;
        }
        case State.LineComment: {
          const at = b.indexOf(NEWLINE, i);
          if (at < 0 || at >= length) {
            i = length;
            break scan;
          }
          i = at + 1;
          state = State.Normal;
          break;
        }
        case State.BlockComment: {
          const at = b.indexOf(STAR, i);
          if (at < 0 || at >= length) {
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
      const head = ascii(
        this.#buffer,
        skipBlankAndComments(this.#buffer, this.#statementStart, at),
        at,
        64,
      );
      this.#trigger = /^CREATE\s+(?:TEMP\s+|TEMPORARY\s+)?TRIGGER\b/i.test(head);
    }
    if (!this.#trigger) return true;
    // In a trigger body: complete only at "; END ;", with only blanks and comments between.
    const start = this.#tokenStart;
    return this.#afterSemicolon && start >= 0 && this.#tokenEnd === start + 3 &&
      ascii(this.#buffer, start, start + 3, 3).toUpperCase() === "END";
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

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x0c;
}

/** Skips white space and `--` / `/* *\/` comments from `i`, not past `end`. */
function skipBlankAndComments(b: Uint8Array, i: number, end: number): number {
  for (;;) {
    while (i < end && isBlank(b[i])) i++;
    if (i + 1 < end && b[i] === DASH && b[i + 1] === DASH) {
      const nl = b.indexOf(NEWLINE, i);
      i = nl < 0 || nl >= end ? end : nl + 1;
    } else if (i + 1 < end && b[i] === SLASH && b[i + 1] === STAR) {
      let j = i + 2;
      while (j + 1 < end && !(b[j] === STAR && b[j + 1] === SLASH)) j++;
      i = Math.min(end, j + 2);
    } else {
      return i;
    }
  }
}

function ascii(b: Uint8Array, start: number, end: number, max: number): string {
  let text = "";
  for (let i = start; i < end && i < start + max; i++) text += String.fromCharCode(b[i]);
  return text;
}
