/**
 * The SQLite features a backup's schema uses (ids of `SQLITE_FEATURES` in `../version_check.ts`),
 * found at dump time in the schema statements it writes, so that a restore can tell before it
 * starts that an older library cannot create them. It is a scan of tokens, not a parse: string
 * literals, quoted names and comments are skipped, and each feature is a short keyword pattern
 * that a schema statement only contains when it uses the feature. It costs microseconds per
 * statement (the statements are already in memory).
 */

/** One token: an upper-cased bare word, a quoted name or literal (`"name"`, `'text'`), or punctuation. */
interface Token {
  kind: "word" | "quoted" | "punct";
  text: string;
}

/**
 * One token at a time: whitespace, a comment, a quoted literal or name (unterminated ones run to
 * the end), a bare word, a JSON arrow, or any other single character.
 */
const TOKEN =
  /\s+|--[^\n]*|\/\*[\s\S]*?(?:\*\/|$)|'(?:[^']|'')*'?|"(?:[^"]|"")*"?|`(?:[^`]|``)*`?|\[[^\]]*\]?|[A-Za-z_0-9$\u0080-\uffff]+|->>?|[\s\S]/y;

/** Splits SQL into tokens, leaving out whitespace and comments. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  for (let match = TOKEN.exec(sql); match !== null; match = TOKEN.exec(sql)) {
    const text = match[0];
    const c = text.charCodeAt(0);
    if (c <= 32 || text.startsWith("--") || text.startsWith("/*")) continue;
    if (c === 39 || c === 34 || c === 96 || c === 91) tokens.push({ kind: "quoted", text });
    else if (/^[A-Za-z_0-9$\u0080-\uffff]/.test(text)) {
      tokens.push({ kind: "word", text: text.toUpperCase() });
    } else tokens.push({ kind: "punct", text });
  }
  return tokens;
}

/** Functions that name a feature when called in a schema statement. */
const FUNCTIONS = new Set([
  "IIF",
  "UNIXEPOCH",
  "FORMAT",
  "UNHEX",
  "OCTET_LENGTH",
  "TIMEDIFF",
  "CONCAT",
  "CONCAT_WS",
  "STRING_AGG",
]);

/** Words after which a name followed by `(` is a table, index or view, not a function call. */
const NOT_A_CALL = new Set([
  "TABLE",
  "EXISTS",
  "INTO",
  "ON",
  "INDEX",
  "VIEW",
  "TRIGGER",
  "REFERENCES",
  "FROM",
  "JOIN",
  "UPDATE",
  "USING",
  "OF",
]);

/**
 * A word every feature's pattern contains: statements without one (most plain tables and
 * indexes) are not tokenized at all.
 */
const MAYBE =
  /strict|generated|\bas\s*\(|contentless_delete|\bover\b|\bdo\b|nulls|right|full|distinct|->|iif|unixepoch|format|unhex|octet_length|timediff|concat|string_agg/i;

/** The features one schema statement uses (ids, in no particular order). */
export function statementFeatures(sql: string): Set<string> {
  const found = new Set<string>();
  if (!MAYBE.test(sql)) return found;
  const t = tokenize(sql);
  const word = (i: number, ...texts: string[]) =>
    t[i]?.kind === "word" && (texts.length === 0 || texts.includes(t[i].text));
  const punct = (i: number, text: string) => t[i]?.kind === "punct" && t[i].text === text;
  const isTable = word(0, "CREATE") && (word(1, "TABLE") || word(2, "TABLE") || word(3, "TABLE"));
  const isFts5 = word(0, "CREATE") && word(1, "VIRTUAL") &&
    t.some((x, i) => x.text === "USING" && word(i + 1, "FTS5"));
  let depth = 0;
  let closedBody = false;
  for (let i = 0; i < t.length; i++) {
    if (punct(i, "(")) depth++;
    if (punct(i, ")") && --depth === 0 && isTable) closedBody = true;
    if (t[i].kind === "punct" && t[i].text.startsWith("->")) found.add("json-arrow");
    if (t[i].kind !== "word") continue;
    const w = t[i].text;
    if (isTable && closedBody && depth === 0 && w === "STRICT") found.add("strict");
    if (isTable && depth === 1 && !closedBody) {
      if (w === "GENERATED" && word(i + 1, "ALWAYS")) found.add("generated-columns");
      if (w === "AS" && punct(i + 1, "(")) found.add("generated-columns");
    }
    if (isFts5 && w === "CONTENTLESS_DELETE" && punct(i + 1, "=")) {
      if (!/^'?0'?$/.test(t[i + 2]?.text ?? "")) found.add("fts5-contentless-delete");
    }
    if (w === "OVER" && punct(i - 1, ")") && (punct(i + 1, "(") || t[i + 1]?.kind === "word")) {
      found.add("window-functions");
    }
    if (w === "DO" && word(i + 1, "UPDATE", "NOTHING")) found.add("upsert");
    if (w === "NULLS" && word(i + 1, "FIRST", "LAST")) found.add("nulls-first-last");
    if ((w === "RIGHT" || w === "FULL") && (word(i + 1, "JOIN") || word(i + 1, "OUTER"))) {
      found.add("right-full-join");
    }
    if (
      w === "IS" && (word(i + 1, "DISTINCT") || (word(i + 1, "NOT") && word(i + 2, "DISTINCT")))
    ) {
      found.add("is-distinct-from");
    }
    if (FUNCTIONS.has(w) && punct(i + 1, "(") && !punct(i - 1, ".")) {
      const before = t[i - 1];
      if (!(before?.kind === "word" && NOT_A_CALL.has(before.text))) {
        found.add(`function:${w.toLowerCase()}`);
      }
    }
  }
  return found;
}

/** The features the schema statements use, sorted: what the dump records in the sidecar. */
export function detectFeatures(statements: Iterable<string | null>): string[] {
  const all = new Set<string>();
  for (const sql of statements) {
    if (sql) { for (const f of statementFeatures(sql)) all.add(f); }
  }
  return [...all].sort();
}
