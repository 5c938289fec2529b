/**
 * A route of the API: method, path pattern, the role it needs, what it is for, its body schema,
 * and a thin handler. The route table reads like the API's documentation, and the OpenAPI
 * document is generated from it.
 */
import type { z } from "npm:zod@4.6.7";
import type { Role } from "./auth.ts";
import type { RequestScope } from "./app.ts";

/** One endpoint. */
export interface Route {
  method: "GET" | "POST" | "DELETE";
  /** A URLPattern pathname, e.g. `/api/v1/backups/:id`. */
  path: string;
  role: Role;
  summary: string;
  /** The JSON body it reads, validated before the handler runs. */
  body?: z.ZodType;
  /** A body the handler validates itself (it depends on a field), for the document only. */
  documentedBody?: z.ZodType;
  /** Query parameters, for the document. */
  query?: { name: string; description: string; required?: boolean }[];
  /** Status codes it answers with on success, and what they carry. */
  responses: Record<number, string>;
  /** The media type of a successful answer. Default `application/json`. */
  produces?: string;
  handle(scope: RequestScope, body: unknown): Promise<Response>;
}

/** A compiled route. */
export interface MatchedRoute {
  route: Route;
  params: Record<string, string>;
}

/** Finds the route of a method and path; `methods` lists what the path allows when none matched. */
export function matchRoute(
  routes: readonly Route[],
  method: string,
  path: string,
): { found?: MatchedRoute; methods: string[] } {
  const methods: string[] = [];
  for (const route of routes) {
    const match = patternOf(route).exec({ pathname: path });
    if (!match) continue;
    if (route.method === method || (method === "HEAD" && route.method === "GET")) {
      const params: Record<string, string> = {};
      for (const [name, value] of Object.entries(match.pathname.groups)) {
        if (value !== undefined) params[name] = value;
      }
      return { found: { route, params }, methods };
    }
    methods.push(route.method);
  }
  return { methods };
}

const patterns = new WeakMap<Route, URLPattern>();

function patternOf(route: Route): URLPattern {
  let pattern = patterns.get(route);
  if (!pattern) {
    pattern = new URLPattern({ pathname: route.path });
    patterns.set(route, pattern);
  }
  return pattern;
}
