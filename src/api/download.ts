/**
 * A backup's stored file over HTTP: the store's stream, never buffered, with its length, a file
 * name and its SHA-256. The bytes are hashed on the way and the last chunk is held back until
 * the hash matches the sidecar, so a damaged file ends in a broken download, never a silent one.
 */
import { Buffer } from "node:buffer";
import { findBackup } from "../core/catalog.ts";
import { readChecked } from "../core/stored_data.ts";
import { mediaType } from "../core/compression.ts";
import { ApiError } from "./http_errors.ts";
import type { RequestScope } from "./app.ts";

/** The download answer of the backup `id` resolves to. */
export async function downloadResponse(scope: RequestScope, id: string): Promise<Response> {
  const { storage } = scope.context;
  const entry = await findBackup(storage, id);
  if (!entry.meta || entry.problem) {
    throw new ApiError(
      422,
      "integrity",
      `Cannot download backup "${entry.id}": ${entry.problem ?? "its sidecar cannot be read"}`,
    );
  }
  const meta = entry.meta;
  const source = await readChecked(storage, meta, "download");
  const name = meta.file.name.split("/").pop()!;
  return new Response(ReadableStream.from(source), {
    headers: {
      "content-type": meta.file.encryption
        ? "application/octet-stream"
        : mediaType(meta.file.compression),
      "content-length": String(meta.sizes.compressed),
      "content-disposition": `attachment; filename="${name}"`,
      "x-checksum-sha256": meta.file.sha256,
      "repr-digest": `sha-256=:${Buffer.from(meta.file.sha256, "hex").toString("base64")}:`,
      "cache-control": "no-store",
    },
  });
}
