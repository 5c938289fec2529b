/**
 * A file that appears whole or not at all: written under a temporary name beside it (mode 0600:
 * it holds data), synced, renamed into place. A failure (a damaged backup found at the end)
 * removes the temporary and leaves no new file (one already at the path stays as it was; a
 * success replaces it, as a shell redirection would).
 */
import { basename, dirname, join } from "node:path";
import type { TextSink } from "./text_out.ts";

/** Runs `write` with a sink into a temporary file, then renames it to `path`. */
export async function writeFileWhole<T>(
  path: string,
  write: (sink: TextSink) => Promise<T>,
): Promise<T> {
  const suffix = `${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 8)}`;
  const temporary = join(dirname(path), `.${basename(path)}.${suffix}.partial`);
  const file = await Deno.open(temporary, { write: true, createNew: true, mode: 0o600 });
  let closed = false;
  try {
    const encoder = new TextEncoder();
    const result = await write(async (text) => {
      const bytes = encoder.encode(text);
      for (let offset = 0; offset < bytes.length;) {
        offset += await file.write(bytes.subarray(offset));
      }
    });
    await file.sync();
    file.close();
    closed = true;
    await Deno.rename(temporary, path);
    return result;
  } catch (error) {
    if (!closed) file.close();
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
}
