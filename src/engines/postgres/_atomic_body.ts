/**
 * Whether the statement being read is inside a SQL-standard routine body
 * (`CREATE [OR REPLACE] FUNCTION|PROCEDURE ... BEGIN ATOMIC ...; ...; END`), whose semicolons do
 * not end the statement. psql's lexer keeps the same count, so a script that psql loads one
 * statement at a time is cut the same way here; cutting such a body apart made the restore count
 * more statements than the server ran, and name a neighbour of the one it rejected.
 */
export class AtomicBody {
  #words = 0;
  /** First letters of the statement's first words that can start a routine, `-` for others. */
  #head = "";
  #routine = false;
  #depth = 0;
  #last = "";

  /** Whether the next word matters: among the first four, or in a routine's statement. */
  get wantsWords(): boolean {
    return this.#words < 4 || this.#routine;
  }

  /** Whether a `;` here is inside the body (does not end the statement). */
  get open(): boolean {
    return this.#depth > 0;
  }

  /** Takes the statement's next unquoted word, lower case, at parenthesis depth `parens`. */
  word(word: string, parens: number): void {
    if (this.#words < 4) {
      this.#head += HEAD_WORDS.has(word) ? word[0] : "-";
      this.#routine = ROUTINE_HEAD.test(this.#head);
    }
    this.#words++;
    if (!this.#routine || parens > 0) return;
    // BEGIN ATOMIC opens the body (a routine named begin does not); CASE ... END nests in it.
    if (word === "atomic" && this.#last === "begin") this.#depth++;
    else if (word === "case" && this.#depth > 0) this.#depth++;
    else if (word === "end" && this.#depth > 0) this.#depth--;
    this.#last = word;
  }

  /** Starts over for the next statement. */
  reset(): void {
    this.#words = 0;
    this.#head = "";
    this.#routine = false;
    this.#depth = 0;
    this.#last = "";
  }
}

const HEAD_WORDS = new Set(["create", "or", "replace", "function", "procedure"]);
/** CREATE FUNCTION, CREATE PROCEDURE, CREATE OR REPLACE FUNCTION|PROCEDURE. */
const ROUTINE_HEAD = /^c(?:f|p|orf|orp)/;
