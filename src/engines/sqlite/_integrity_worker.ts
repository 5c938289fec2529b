/// <reference lib="deno.worker" />
/**
 * One read-only connection of the parallel integrity check (`_integrity.ts`), on its own thread
 * because node:sqlite runs a PRAGMA to completion on the thread that calls it.
 * Protocol: {path, cacheKib} in opens the connection; {sql} in -> {problems: string[]} or {error}.
 */
import { DatabaseSync } from "node:sqlite";

let db: DatabaseSync | undefined;

self.onmessage = (event: MessageEvent) => {
  const message = event.data as { path?: string; cacheKib?: number; sql?: string };
  try {
    if (message.path !== undefined) {
      // Double-quoted literals as the restore connection accepts them: a schema using them must
      // parse here too, or the check would fail a healthy file.
      db = new DatabaseSync(message.path, {
        readOnly: true,
        enableDoubleQuotedStringLiterals: true,
      });
      db.exec(`PRAGMA cache_size=-${message.cacheKib ?? 2048}`);
      return;
    }
    const problems = db!.prepare(message.sql!).all().map((row) => String(Object.values(row)[0]));
    self.postMessage({ problems });
  } catch (error) {
    self.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
};
