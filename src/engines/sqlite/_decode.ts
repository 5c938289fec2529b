const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Decodes complete SQL statements to text for node:sqlite, keeping every byte of string literals. */
export function decodeSql(statements: Uint8Array): string {
  try {
    return strictUtf8.decode(statements);
  } catch {
    return decodeKeepingInvalidText(statements);
  }
}

/**
 * node:sqlite takes SQL as a JS string, which cannot carry bytes that are not valid UTF-8; SQLite
 * text can. String literals holding such bytes are rewritten as `CAST(X'…' AS TEXT)`, which
 * stores the very same bytes.
 */
function decodeKeepingInvalidText(statements: Uint8Array): string {
  const parts: string[] = [];
  let from = 0;
  let i = 0;
  while (i < statements.length) {
    const c = statements[i];
    if (c === 0x27) {
      const start = i;
      let end = i + 1;
      for (;;) {
        const close = statements.indexOf(0x27, end);
        if (close < 0) {
          end = statements.length;
          break;
        }
        if (statements[close + 1] === 0x27) {
          end = close + 2;
          continue;
        }
        end = close + 1;
        break;
      }
      const literal = statements.subarray(start + 1, end - 1);
      try {
        strictUtf8.decode(literal);
      } catch {
        parts.push(new TextDecoder().decode(statements.subarray(from, start)));
        parts.push(`CAST(X'${hexOfUnquoted(literal)}' AS TEXT)`);
        from = end;
      }
      i = end;
    } else if (c === 0x22 || c === 0x60 || c === 0x5b) {
      const close = statements.indexOf(c === 0x5b ? 0x5d : c, i + 1);
      i = close < 0 ? statements.length : close + 1;
    } else if (c === 0x2d && statements[i + 1] === 0x2d) {
      // A comment (schema SQL keeps its comments) may hold a lone quote: skip it whole.
      const close = statements.indexOf(0x0a, i + 2);
      i = close < 0 ? statements.length : close + 1;
    } else if (c === 0x2f && statements[i + 1] === 0x2a) {
      let close = statements.indexOf(0x2a, i + 2);
      while (close >= 0 && statements[close + 1] !== 0x2f) {
        close = statements.indexOf(0x2a, close + 1);
      }
      i = close < 0 ? statements.length : close + 2;
    } else {
      i++;
    }
  }
  parts.push(new TextDecoder().decode(statements.subarray(from)));
  return parts.join("");
}

function hexOfUnquoted(literal: Uint8Array): string {
  let hex = "";
  for (let i = 0; i < literal.length; i++) {
    hex += literal[i].toString(16).padStart(2, "0");
    if (literal[i] === 0x27) i++; // '' inside a literal stands for one quote
  }
  return hex;
}
