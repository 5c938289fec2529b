/**
 * What a SQLite restore agrees to run: the statement kinds our own dumps write (`_dump.ts`,
 * `_dump_pages.ts`, `_schema_text.ts`) and nothing else. A backup is input, not code: a script
 * whose SQL was replaced (its sidecar re-sealed to match) must not reach outside the restored
 * file. The dangerous kinds are refused by name here (`ATTACH`, `DETACH`, `VACUUM` with or
 * without `INTO`, a `PRAGMA` outside the fixed list, such as `temp_store_directory` or one that
 * names another schema); calls of `load_extension(` are found by the statement splitter, which
 * sees every byte outside literals. The restore connection also cannot attach or load
 * extensions (`_restore.ts`), should a form slip past the text.
 */

/**
 * The PRAGMAs our dumps write, each with the values it writes: the database's settings at the
 * start, `user_version` and `application_id` at the end, `journal_mode=WAL` after the commit,
 * and `writable_schema` around the schema edits.
 */
const PRAGMAS: readonly RegExp[] = [
  /^foreign_keys=OFF$/i,
  /^page_size=\d+$/i,
  /^auto_vacuum=[0-2]$/i,
  /^encoding='UTF-(?:8|16|16le|16be)'$/i,
  /^user_version=-?\d+$/i,
  /^application_id=-?\d+$/i,
  /^journal_mode=WAL$/i,
  /^writable_schema=(?:ON|OFF|RESET)$/i,
];

/**
 * The statement kinds our dumps write, as their first words (upper case, one blank between);
 * the last word of an entry may be followed by anything.
 */
const KINDS: readonly string[] = [
  "BEGIN",
  "COMMIT",
  "CREATE TABLE",
  "CREATE INDEX",
  "CREATE UNIQUE INDEX",
  "CREATE VIEW",
  "CREATE TRIGGER",
  "CREATE VIRTUAL TABLE",
  "INSERT INTO",
  "INSERT OR REPLACE INTO",
  "DELETE FROM",
  "ALTER TABLE",
  "REINDEX",
];

/** Statements whose first words name the one table they touch (the schema or its statistics). */
const SYSTEM_TABLE_KINDS: readonly [string, RegExp][] = [
  ["UPDATE", /^(?:"?sqlite_schema"?|"?sqlite_master"?)$/i],
  ["ANALYZE", /^(?:"?sqlite_schema"?|"?sqlite_master"?)$/i],
  ["DROP TABLE IF EXISTS", /^"?sqlite_stat[1-4]"?$/i],
];

/**
 * Whether a statement our dumps could have written begins with `head`: its first bytes (from its
 * first token), `whole` when they are the entire statement without its `;`. A PRAGMA is judged
 * only whole (ours are short), anything else by its first words.
 */
export function isAllowedStatement(head: string, whole: boolean): boolean {
  const { words, rest } = wordsOf(head);
  if (words.length === 0) return rest === ""; // blanks and comments only: nothing to run
  const upper = words.map((w) => w.toUpperCase());
  if (upper[0] === "PRAGMA") {
    if (!whole || rest !== "") return false;
    const setting = words.slice(1).join("");
    return PRAGMAS.some((p) => p.test(setting));
  }
  const joined = upper.join(" ");
  for (const kind of KINDS) {
    if (joined === kind || joined.startsWith(kind + " ")) return true;
  }
  for (const [kind, table] of SYSTEM_TABLE_KINDS) {
    const n = kind.split(" ").length;
    if (upper.slice(0, n).join(" ") !== kind) continue;
    const name = words[n];
    if (name === undefined) return false;
    if (kind !== "DROP TABLE IF EXISTS") return table.test(name);
    return table.test(name) && whole && rest === "" && words.length === n + 1;
  }
  return false;
}

/**
 * The statement's first words, for a message: at most `limit` characters with blanks collapsed,
 * and ` …` when there is more.
 */
export function firstWords(head: string, whole: boolean, limit = 40): string {
  const text = head.replace(/\s+/g, " ").trim();
  if (text.length <= limit) return whole ? text : `${text} …`;
  const cut = text.lastIndexOf(" ", limit);
  return `${text.slice(0, cut > limit / 2 ? cut : limit)} …`;
}

/**
 * The tokens of `head` that matter for the kind: words, quoted names and the `=` and `-` and
 * digits of a PRAGMA value, with comments and blanks left out. Punctuation such as `(` ends the
 * words (a statement's kind comes before any); `rest` is the text from there.
 */
function wordsOf(head: string): { words: string[]; rest: string } {
  const words: string[] = [];
  let i = 0;
  while (i < head.length) {
    const c = head[i];
    if (/\s/.test(c)) {
      i++;
    } else if (head.startsWith("--", i)) {
      const end = head.indexOf("\n", i);
      i = end < 0 ? head.length : end + 1;
    } else if (head.startsWith("/*", i)) {
      const end = head.indexOf("*/", i + 2);
      i = end < 0 ? head.length : end + 2;
    } else if (c === "'" || c === '"' || c === "`" || c === "[") {
      const close = c === "[" ? "]" : c;
      let end = i + 1;
      for (;;) {
        end = head.indexOf(close, end);
        if (end < 0 || head[end + 1] !== close || close === "]") break;
        end += 2;
      }
      if (end < 0) return { words, rest: head.slice(i) };
      words.push(head.slice(i, end + 1));
      i = end + 1;
    } else {
      const word = /^(?:[A-Za-z_\x80-\uffff][\w$\x80-\uffff]*|[-+]?\d+|=|\.)/.exec(head.slice(i));
      if (!word) return { words, rest: head.slice(i) };
      words.push(word[0]);
      i += word[0].length;
    }
  }
  return { words, rest: "" };
}
