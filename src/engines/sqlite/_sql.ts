/** SQL text helpers for SQLite: quoting and the expressions that render values as literals. */

/** Quotes an identifier for SQLite: `"name"` with embedded quotes doubled. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a text value as an SQL string literal. Not for text that may hold NUL characters. */
export function quoteText(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** Column affinity by SQLite's rules (https://sqlite.org/datatype3.html, section 3.1). */
export type Affinity = "INTEGER" | "TEXT" | "BLOB" | "REAL" | "NUMERIC";

/** The affinity SQLite gives a column of declared type `declared`. */
export function affinityOf(declared: string): Affinity {
  const type = declared.toUpperCase();
  if (type.includes("INT")) return "INTEGER";
  if (type.includes("CHAR") || type.includes("CLOB") || type.includes("TEXT")) return "TEXT";
  if (type.includes("BLOB") || type.trim() === "") return "BLOB";
  if (type.includes("REAL") || type.includes("FLOA") || type.includes("DOUB")) return "REAL";
  return "NUMERIC";
}

/**
 * Whether a column can hold the REAL value -0.0 as stored. Columns with REAL, NUMERIC or INTEGER
 * affinity store a zero REAL as the integer 0 and TEXT columns convert it; only BLOB affinity
 * (and STRICT tables' ANY, and virtual tables, which have no affinity rules) keep its sign.
 */
export function canHoldNegativeZero(declared: string, strict: boolean, virtual: boolean): boolean {
  if (virtual) return true;
  if (strict) return declared.trim().toUpperCase() === "ANY";
  return affinityOf(declared) === "BLOB";
}

/**
 * An SQL expression rendering column `column` of the current row as an SQL literal that SQLite
 * reads back to the identical value: `quote()` is exact for integers, REALs (17 significant
 * digits, `9.0e+999` for infinity), blobs and text, with three exceptions:
 * - it cuts text at a NUL character, so such text is written as `CAST(X'…' AS TEXT)` (the hex of
 *   its bytes in the database encoding);
 * - the `sqlite3` shell reads its input line by line and drops a `\r` before each `\n`, even
 *   inside a string, so text holding a `\r` is written in hex too;
 * - SQLite before 3.47 (the stock shell here is 3.40) parses decimals below about 1e-291 one bit
 *   off, so nonzero REALs of magnitude up to 1e-280 are written scaled up by 2^620 and divided
 *   back by 2^62 ten times, which is exact: each step multiplies by a power of two and has a
 *   representable result.
 * -0.0 comes out as `0.0`: SQLite has no SQL function that sees the sign of a zero (this build
 * has no math functions, division by zero is NULL, every formatter drops the sign). With
 * `options.negativeZeroFunction`, REAL zeros (and only they) are passed to that function and
 * written with their sign; without, the caller handles them (see {@linkcode canHoldNegativeZero}).
 * The expression is never NULL (a NULL value is the text `NULL`).
 */
export function literalExpression(column: string, options: LiteralOptions = {}): string {
  const zero = options.negativeZeroFunction
    ? `WHEN ${options.negativeZeroFunction}(${column}) THEN '-0.0' `
    : "";
  const carriageReturn = options.carriageReturnsInHex === false
    ? ""
    : ` OR instr(${column},char(13))>0`;
  return `CASE typeof(${column}) ` +
    `WHEN 'text' THEN CASE WHEN instr(${column},char(0))>0${carriageReturn} ` +
    `THEN 'CAST(X''' || hex(${column}) || ''' AS TEXT)' ELSE quote(${column}) END ` +
    `WHEN 'real' THEN CASE WHEN abs(${column})>1e-280 THEN quote(${column}) ` +
    `WHEN ${column}<>0 THEN '(' || quote(${column}*${TWO_TO_THE_620}) || '${SCALE_DOWN})' ` +
    `${zero}ELSE quote(${column}) END ` +
    `ELSE quote(${column}) END`;
}

/** Options of {@linkcode literalExpression}. */
export interface LiteralOptions {
  /**
   * Name of an SQL function registered on the connection that is 1 for -0.0 and 0 for +0.0.
   * Default: none (REAL zeros are written as `0.0`).
   */
  negativeZeroFunction?: string;
  /**
   * Whether text holding a `\r` is written in hex. Default `true`. A caller that passes `false`
   * must look for `\r` bytes in what the expression renders (only such text puts one there) and
   * render again with `true` where it finds one: one scan of the output instead of one per value.
   */
  carriageReturnsInHex?: boolean;
}

/** Arguments per `concat_ws()` call: SQLite builds before 3.48 take at most 127. */
const CONCAT_ARGUMENTS = 100;

/**
 * SQL text concatenation of `values` separated by commas in one pass (`concat_ws`, nested in
 * groups for wide rows): cheaper than a tree of `||`, which copies each byte once per level.
 * `concat_ws` skips NULLs, so every value must be an expression that is never NULL, such as
 * {@linkcode literalExpression}.
 */
export function commaJoined(values: string[]): string {
  if (values.length === 1) return values[0];
  if (values.length <= CONCAT_ARGUMENTS) return `concat_ws(',', ${values.join(", ")})`;
  const groups: string[] = [];
  for (let i = 0; i < values.length; i += CONCAT_ARGUMENTS) {
    groups.push(commaJoined(values.slice(i, i + CONCAT_ARGUMENTS)));
  }
  return commaJoined(groups);
}

const TWO_TO_THE_62 = "4611686018427387904";
const SCALE_DOWN = `/${TWO_TO_THE_62}`.repeat(10);
/**
 * 2^620 in its exact decimal digits, one token to parse (a statement prepared per table is a
 * cost of its own), which the SQLite rendering the dump reads exactly; restoring only ever
 * divides by 2^62.
 */
const TWO_TO_THE_620 = (2n ** 620n).toString();

/** An SQL condition true when `column` holds a REAL zero (+0.0 or -0.0) in the current row. */
export function realZeroCondition(column: string): string {
  return `(typeof(${column})='real' AND ${column}=0)`;
}

/**
 * Joins SQL expressions with a binary operator as a balanced tree: `a || b || c …` written
 * left to right nests one level per term, and SQLite refuses expressions deeper than 1000 levels
 * (a table of 600 columns would hit it).
 */
export function balancedJoin(expressions: string[], operator: string): string {
  if (expressions.length === 1) return expressions[0];
  const middle = expressions.length >> 1;
  return `(${balancedJoin(expressions.slice(0, middle), operator)} ${operator} ${
    balancedJoin(expressions.slice(middle), operator)
  })`;
}

/** SQL text concatenation of `values` separated by commas, nested as a balanced tree. */
export function commaSeparated(values: string[]): string {
  return balancedJoin(values.flatMap((v, i) => (i === 0 ? [v] : ["','", v])), "||");
}
