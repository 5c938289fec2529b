/**
 * Request bodies: read with a size limit (a client cannot make the server buffer much), parsed
 * as JSON, and checked by the route's zod schema, so a bad field is a 400 naming it.
 */
import type { z } from "npm:zod@4.6.7";
import { ApiError } from "./http_errors.ts";

/** The largest JSON body the API reads. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * The body as JSON (an empty body is `{}`); 413 past {@linkcode MAX_BODY_BYTES}, however the
 * client declares its length; 400 when it is not a JSON object. The media type is not checked:
 * `curl -d` sends form encoding, and a bearer token (never sent by a browser on its own) is what
 * keeps other sites out, not the media type.
 */
export async function readJson(request: Request): Promise<unknown> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const text = await readLimited(request);
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError(400, "invalid_json", "Cannot read the request body: it is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ApiError(400, "invalid_json", "Cannot read the request body: expected a JSON object");
  }
  return value;
}

async function readLimited(request: Request): Promise<string> {
  if (!request.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return new TextDecoder().decode(all);
}

function tooLarge(): ApiError {
  return new ApiError(
    413,
    "payload_too_large",
    `Cannot read the request body: it is larger than ${MAX_BODY_BYTES / 1024} KiB`,
  );
}

/** `value` checked against `schema`; the first problem becomes a 400 naming its field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const unknownKeys = issue.code === "unrecognized_keys" ? issue.keys : [];
  const field = [...issue.path, ...unknownKeys.slice(0, 1)].map(String).join(".");
  const message = unknownKeys.length
    ? `Invalid request: unknown field "${field}"`
    : `Invalid request: "${field || "body"}" ${issue.message}`;
  return badField(field, message);
}

function badField(field: string, message: string): never {
  throw new ApiError(400, "invalid_field", message, { field });
}
