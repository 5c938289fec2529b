/**
 * One request, start to end: liveness and the dashboard's files first, then the token (before
 * routing, for every other path), then the route and its role, the body, the handler; every
 * failure becomes its JSON error here, and every answer gets the same security headers and one
 * access-log entry.
 */
import { allows, authenticate } from "./auth.ts";
import { ApiError, errorResponse, jsonResponse, toApiError } from "./http_errors.ts";
import { isStaticPath, staticResponse } from "./static_files.ts";
import { matchRoute, type Route } from "./route.ts";
import { parseWith, readJson } from "./request_body.ts";
import type { ApiApp, RequestScope } from "./app.ts";

/** Sent with every answer: the page loads nothing from elsewhere and is never framed. */
const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};

/** The request handler of `app` over `routes`, for `Deno.serve`. */
export function createHandler(
  app: ApiApp,
  routes: readonly Route[],
): (request: Request, info: Deno.ServeHandlerInfo) => Promise<Response> {
  return async (request, info) => {
    const started = performance.now();
    const address = "hostname" in info.remoteAddr ? info.remoteAddr.hostname : "local";
    const url = new URL(request.url);
    const caller: { token?: string } = {};
    let response: Response;
    try {
      response = await answer(app, routes, request, url, address, caller);
    } catch (error) {
      const apiError = toApiError(error);
      if (apiError.status >= 500 && !(error instanceof ApiError)) {
        app.warn?.(
          `${request.method} ${url.pathname} failed: ${
            error instanceof Error ? error.stack ?? error.message : String(error)
          }`,
        );
      }
      response = errorResponse(apiError, apiError.status === 401 ? UNAUTHORIZED_HEADERS : {});
    }
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
      response.headers.set(name, value);
    }
    // a container's health check every few seconds would drown the log
    const quiet = url.pathname === "/healthz" && response.status === 200;
    if (!quiet) {
      app.log?.({
        time: new Date(),
        method: request.method,
        path: url.pathname,
        status: response.status,
        durationMs: Math.round(performance.now() - started),
        address,
        ...(caller.token ? { token: caller.token } : {}),
      });
    }
    return response;
  };
}

const UNAUTHORIZED_HEADERS = { "www-authenticate": 'Bearer realm="backup-manager"' };

async function answer(
  app: ApiApp,
  routes: readonly Route[],
  request: Request,
  url: URL,
  address: string,
  caller: { token?: string },
): Promise<Response> {
  const path = url.pathname;
  const read = request.method === "GET" || request.method === "HEAD";
  if (read && path === "/healthz") return jsonResponse({ ok: true });
  if (read && isStaticPath(path)) return await staticResponse(path);
  const principal = authenticate(request.headers.get("authorization"), app.tokens);
  if (!principal) {
    await app.throttle.penalize(address);
    throw new ApiError(
      401,
      "unauthorized",
      request.headers.has("authorization")
        ? "The token is not valid (check it, or make a new one with the token command)"
        : 'A token is needed: send "Authorization: Bearer <token>"',
    );
  }
  app.throttle.succeeded(address);
  caller.token = principal.name;
  const { found, methods } = matchRoute(routes, request.method, path);
  if (!found) {
    if (methods.length) {
      const allow = methods.includes("GET") ? [...methods, "HEAD"] : methods;
      return errorResponse(
        new ApiError(
          405,
          "method_not_allowed",
          `Cannot ${request.method} ${path}: it allows ${methods.join(", ")}`,
        ),
        { allow: allow.join(", ") },
      );
    }
    throw new ApiError(
      404,
      "not_found",
      `No endpoint ${request.method} ${path} (see /api/openapi.json)`,
    );
  }
  const { route } = found;
  if (!allows(principal.role, route.role)) {
    throw new ApiError(
      403,
      "forbidden",
      `Cannot ${request.method} ${path}: the token "${principal.name}" is a viewer (it needs the admin role)`,
    );
  }
  const scope: RequestScope = {
    app,
    request,
    url,
    params: decodeParams(found.params),
    principal,
    address,
    context: { ...app.context, actor: "api", client: { token: principal.name, address } },
  };
  const body = route.body ? parseWith(route.body, await readJson(request)) : undefined;
  return await route.handle(scope, body);
}

function decodeParams(params: Record<string, string>): Record<string, string> {
  const decoded: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) {
    try {
      decoded[name] = decodeURIComponent(value);
    } catch {
      throw new ApiError(404, "not_found", `No backup matches "${value}"`);
    }
  }
  return decoded;
}
