/**
 * The OpenAPI 3.1 document, generated from the route table and the zod schemas that validate the
 * bodies (zod's own JSON Schema output), so what it says is what the server accepts.
 */
import { z } from "npm:zod@4.6.7";
import type { Route } from "./route.ts";

const ERROR_SCHEMA = {
  type: "object",
  required: ["success", "error"],
  properties: {
    success: { const: false },
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: { type: "string" },
        message: { type: "string" },
        field: { type: "string" },
        candidates: { type: "array", items: { type: "string" } },
      },
    },
  },
};

/** The document describing `routes`. */
export function openApiDocument(routes: readonly Route[], version: string): unknown {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:(\w+)/g, "{$1}");
    const params = [...route.path.matchAll(/:(\w+)/g)].map(([, name]) => ({
      name,
      in: "path",
      required: true,
      schema: { type: "string" },
      description: name === "id" ? "a backup id, or any part of one that matches one backup" : "",
    }));
    const query = (route.query ?? []).map((q) => ({
      name: q.name,
      in: "query",
      required: q.required ?? false,
      schema: { type: "string" },
      description: q.description,
    }));
    const body = route.body ?? route.documentedBody;
    const responses: Record<string, unknown> = {};
    for (const [status, description] of Object.entries(route.responses)) {
      responses[status] = {
        description,
        content: { [route.produces ?? "application/json"]: {} },
      };
    }
    responses.default = {
      description: "An error (see docs/api.md, Errors)",
      content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
    };
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = {
      summary: route.summary,
      security: [{ bearer: [] }],
      "x-role": route.role,
      ...(params.length || query.length ? { parameters: [...params, ...query] } : {}),
      ...(body
        ? {
          requestBody: {
            required: false,
            content: { "application/json": { schema: z.toJSONSchema(body, { io: "input" }) } },
          },
        }
        : {}),
      responses,
    };
  }
  paths["/healthz"] = {
    get: {
      summary: "Liveness: the process answers (no token needed)",
      security: [],
      responses: { 200: { description: '`{"ok": true}`' } },
    },
  };
  return {
    openapi: "3.1.0",
    info: {
      title: "backup-manager",
      version,
      description:
        "Backups of SQLite and PostgreSQL databases. Every endpoint but /healthz needs a bearer token; `x-role` says which role.",
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: { Error: ERROR_SCHEMA },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
