/**
 * A backup's stored file over HTTP: the store's stream, never buffered, with its length, a file
 * name and its SHA-256. The bytes are hashed on the way and the last chunk is held back until
 * the hash matches the sidecar, so a damaged file ends in a broken download, never a silent one.
 */
import { Buffer } from "node:buffer";
import { findBackup } from "../core/catalog.ts";
import { readCheckedFile } from "../core/stored_data.ts";
import { storedFiles } from "../core/backup_file.ts";
import { mediaType } from "../core/compression.ts";
import { ApiError } from "./http_errors.ts";
import type { RequestScope } from "./app.ts";

/**
 * The download answer of the backup `id` resolves to: its main file, or with `?part=NAME` one of
 * its parts (a database of a server backup by its name, `files` for the files beside).
 */
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
  const partName = scope.url.searchParams.get("part");
  const file = partName === null
    ? storedFiles(meta)[0]
    : storedFiles(meta).find((f) => f.part?.name === partName);
  if (!file) {
    const names = (meta.parts ?? []).map((p) => `"${p.name}"`);
    throw new ApiError(
      404,
      "not_found",
      `Backup "${meta.id}" has no part "${partName}" (${
        names.length ? `its parts: ${names.join(", ")}` : "it has no parts"
      })`,
    );
  }
  const source = await readCheckedFile(storage, meta, file, "download");
  const name = file.file.name.split("/").pop()!;
  const contentType = file.file.encryption
    ? "application/octet-stream"
    : file.part?.kind === "files" && file.file.compression === "none"
    ? "application/x-tar"
    : mediaType(file.file.compression);
  return new Response(ReadableStream.from(source), {
    headers: {
      "content-type": contentType,
      "content-length": String(file.size),
      "content-disposition": `attachment; filename="${name}"`,
      "x-checksum-sha256": file.file.sha256,
      "repr-digest": `sha-256=:${Buffer.from(file.file.sha256, "hex").toString("base64")}:`,
      "cache-control": "no-store",
    },
  });
}
