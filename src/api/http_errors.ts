/**
 * Failures as HTTP answers, in one place, as the CLI maps them to exit codes: every error is
 * `{"success": false, "error": {"code", "message", …}}` with the status of its kind.
 */
import {
  AmbiguousIdError,
  BackupManagerError,
  BackupNotFoundError,
  DatabaseError,
  DatabaseNotFoundError,
  IntegrityError,
  InterruptedError,
  LockBusyError,
  NotImplementedError,
  RefusedError,
  StalledError,
  StorageError,
  UsageError,
} from "../core/errors.ts";

/** A failure the API answers with `status` and a stable `code`; `extra` joins the error object. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Status and code of each of the core's error classes, most specific first. */
const KINDS: [new (...args: never[]) => BackupManagerError, number, string][] = [
  [LockBusyError, 409, "busy"],
  [AmbiguousIdError, 409, "ambiguous_id"],
  [BackupNotFoundError, 404, "not_found"],
  [DatabaseNotFoundError, 404, "database_not_found"],
  [UsageError, 400, "invalid_field"],
  [IntegrityError, 422, "integrity"],
  [RefusedError, 409, "refused"],
  [StorageError, 502, "storage"],
  [DatabaseError, 502, "database"],
  [InterruptedError, 503, "interrupted"],
  [StalledError, 504, "stalled"],
  [NotImplementedError, 501, "not_implemented"],
];

/** The API's view of any thrown value; unknown ones become a 500 that reveals nothing. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof BackupManagerError) {
    const kind = KINDS.find(([type]) => error instanceof type);
    const extra = error instanceof AmbiguousIdError ? { candidates: error.candidates } : {};
    return new ApiError(kind?.[1] ?? 500, kind?.[2] ?? "failed", error.message, extra);
  }
  return new ApiError(500, "internal", "The server failed unexpectedly (see its log)");
}

/** The JSON error answer of `error`. */
export function errorResponse(error: ApiError, headers: HeadersInit = {}): Response {
  return jsonResponse(
    { success: false, error: { code: error.code, message: error.message, ...error.extra } },
    error.status,
    headers,
  );
}

/** A JSON answer (never cached: it describes backups as they are now). */
export function jsonResponse(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  const all = new Headers(headers);
  all.set("content-type", "application/json; charset=utf-8");
  all.set("cache-control", "no-store");
  return new Response(JSON.stringify(body, null, 2) + "\n", { status, headers: all });
}
