/** Every route of the API in one table: the source document's, the resource API, and the rest. */
import { TOOL } from "../core/backup_file.ts";
import { jsonResponse } from "./http_errors.ts";
import { renderMetrics } from "./metrics.ts";
import { openApiDocument } from "./openapi.ts";
import type { Route } from "./route.ts";
import { LEGACY_ROUTES } from "./routes_legacy.ts";
import { V1_ROUTES } from "./routes_v1.ts";

const OTHER_ROUTES: Route[] = [
  {
    method: "GET",
    path: "/api/openapi.json",
    role: "viewer",
    summary: "This document",
    responses: { 200: "The OpenAPI 3.1 document" },
    handle: () => Promise.resolve(jsonResponse(openApiDocument(ROUTES, TOOL.version))),
  },
  {
    method: "GET",
    path: "/metrics",
    role: "viewer",
    summary: "Prometheus metrics: newest backups, counts and bytes, runs, destinations",
    responses: { 200: "Prometheus text format" },
    produces: "text/plain; version=0.0.4",
    handle: async (scope) => {
      const { contentType, body } = await scope.app.shared.run(
        "metrics",
        () =>
          renderMetrics(scope.context, {
            destinations: scope.app.destinations.map((d) => d.storage),
            policy: scope.app.healthPolicy,
          }),
      );
      return new Response(body, {
        headers: { "content-type": contentType, "cache-control": "no-store" },
      });
    },
  },
];

/** The whole table. */
export const ROUTES: Route[] = [...LEGACY_ROUTES, ...V1_ROUTES, ...OTHER_ROUTES];
