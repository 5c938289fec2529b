/// <reference lib="deno.worker" />
/**
 * The thread of `IntegrityChecker` (`_integrity.ts`), because node:sqlite runs a PRAGMA to
 * completion on the thread that calls it. Protocol: {path, cacheKib, sql} in -> {problems:
 * string[]} or {error}. Each message opens its own read-only connection and closes it after.
 */
import { DatabaseSync } from "node:sqlite";

self.onmessage = (event: MessageEvent) => {
  const message = event.data as { path: string; cacheKib: number; sql: string };
  let db: DatabaseSync | undefined;
  try {
    // Double-quoted literals as the restore connection accepts them: a schema using them must
    // parse here too, or the check would fail a healthy file.
    db = new DatabaseSync(message.path, {
      readOnly: true,
      enableDoubleQuotedStringLiterals: true,
    });
    db.exec(`PRAGMA cache_size=-${message.cacheKib}`);
    const problems = db.prepare(message.sql).all().map((row) => String(Object.values(row)[0]));
    self.postMessage({ problems });
  } catch (error) {
    self.postMessage({ error: error instanceof Error ? error.message : String(error) });
  } finally {
    db?.close();
  }
};
