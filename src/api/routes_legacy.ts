/**
 * The endpoints of the source document, `GET|POST /api/backup` with an `action`, for `curl`
 * users and the scripts written against it. They wait for the work to finish (it also runs as a
 * job, so the dashboard shows its progress) and answer in the document's shapes.
 */
import { z } from "npm:zod@4.6.7";
import type { JobView } from "../core/jobs.ts";
import { allows } from "./auth.ts";
import { ApiError, jsonResponse, toApiError } from "./http_errors.ts";
import { jobJson } from "./job_json.ts";
import { cleanupPlan, restorePlan, startCleanup, startCreate, startRestore } from "./operations.ts";
import type { RequestScope } from "./app.ts";
import type { Route } from "./route.ts";
import { readJson } from "./request_body.ts";
import { parseWith } from "./request_body.ts";
import { type LegacyAction, LegacyBodies } from "./schemas.ts";
import { listViews, statusOf } from "./routes_v1.ts";
import { downloadResponse } from "./download.ts";

const GET_ACTIONS = ["list", "status", "download"];

/** The routes of `/api/backup`. */
export const LEGACY_ROUTES: Route[] = [
  {
    method: "GET",
    path: "/api/backup",
    role: "viewer",
    summary: "`action=list` backups, `action=status`, or `action=download&id=ID` (admin)",
    query: [
      { name: "action", description: "list, status or download", required: true },
      { name: "id", description: "with download: the backup (any unique part of its id)" },
    ],
    responses: {
      200: "`{success, backups}`, `{success, status}`, or the file for `download`",
    },
    handle: async (scope) => {
      const action = scope.url.searchParams.get("action");
      if (action === "list") {
        return jsonResponse({ success: true, backups: await listViews(scope) });
      }
      if (action === "status") {
        return jsonResponse({ success: true, status: await statusOf(scope) });
      }
      if (action === "download") {
        requireAdmin(scope, "download");
        const id = scope.url.searchParams.get("id");
        if (!id) {
          throw new ApiError(400, "invalid_field", 'Invalid request: "id" is required', {
            field: "id",
          });
        }
        return await downloadResponse(scope, id);
      }
      throw unknownAction(action, GET_ACTIONS);
    },
  },
  {
    method: "POST",
    path: "/api/backup",
    role: "admin",
    summary: '`{"action": "create"|"restore"|"cleanup", …}`; waits for the work to finish',
    documentedBody: z.discriminatedUnion("action", [
      LegacyBodies.create,
      LegacyBodies.restore,
      LegacyBodies.cleanup,
    ]),
    responses: {
      200: "`{success, restore, job}`, `{success, plan}` or `{success, cleanup, stores, job}`",
      201: "`{success, backup, job}` (create)",
    },
    handle: async (scope) => {
      const raw = await readJson(scope.request) as Record<string, unknown>;
      const action = raw.action;
      if (typeof action !== "string" || !Object.hasOwn(LegacyBodies, action)) {
        throw unknownAction(action, Object.keys(LegacyBodies));
      }
      const body = parseWith(LegacyBodies[action as LegacyAction], raw);
      if (body.action === "create") {
        const view = await finished(scope, await startCreate(scope, body));
        const result = view.result as { backup: unknown; copyErrors: string[] };
        return jsonResponse({
          success: true,
          backup: result.backup,
          ...(result.copyErrors.length ? { warnings: result.copyErrors } : {}),
          job: jobJson(view),
        }, 201);
      }
      if (body.action === "restore") {
        if (body.dryRun) {
          return jsonResponse({
            success: true,
            plan: await restorePlan(scope, body.backupId, body),
          });
        }
        const view = await finished(scope, await startRestore(scope, body.backupId, body));
        return jsonResponse({ success: true, restore: view.result, job: jobJson(view) });
      }
      if (body.dryRun) {
        const stores = await cleanupPlan(scope);
        return jsonResponse({ success: true, cleanup: stores[0], stores });
      }
      const view = await finished(scope, await startCleanup(scope, body));
      const stores = view.result as unknown[];
      return jsonResponse({ success: true, cleanup: stores[0], stores, job: jobJson(view) });
    },
  },
];

/** Waits for a job; a failed one answers with its error's status. */
async function finished(scope: RequestScope, job: JobView): Promise<JobView> {
  const { view, error } = await scope.app.jobs.settled(job.id);
  if (view.state === "failed") throw toApiError(error);
  return view;
}

function requireAdmin(scope: RequestScope, what: string): void {
  if (!allows(scope.principal.role, "admin")) {
    throw new ApiError(
      403,
      "forbidden",
      `Cannot ${what}: the token "${scope.principal.name}" is a viewer (it needs the admin role)`,
    );
  }
}

function unknownAction(action: unknown, known: string[]): ApiError {
  return new ApiError(
    400,
    "unknown_action",
    action === undefined || action === null
      ? `Invalid request: "action" is required (one of ${known.map((a) => `"${a}"`).join(", ")})`
      : `Invalid request: unknown action "${String(action)}" (expected one of ${
        known.map((a) => `"${a}"`).join(", ")
      })`,
    { field: "action" },
  );
}
