/** The resource-style API for programs: `/api/v1/…` (see docs/api.md). */
import { findBackup, listBackups, readAll } from "../core/catalog.ts";
import { metaKey, parseMeta } from "../core/backup_file.ts";
import { pinBackup, unpinBackup } from "../core/pin.ts";
import { getStatus, type StatusReport } from "../core/status.ts";
import type { JobView } from "../core/jobs.ts";
import { backupView } from "./backup_view.ts";
import { ApiError, jsonResponse } from "./http_errors.ts";
import type { RequestScope } from "./app.ts";
import type { Route } from "./route.ts";
import {
  cleanupPlan,
  restorePlan,
  startCleanup,
  startCreate,
  startRestore,
  startVerify,
  underLock,
} from "./operations.ts";
import { CleanupBody, CreateBody, PinBody, RestoreBody, VerifyBody } from "./schemas.ts";
import { downloadResponse } from "./download.ts";
import { jobEvents } from "./job_events.ts";
import { accepted, jobJson } from "./job_json.ts";
import type { z } from "npm:zod@4.6.7";

/** The status report with the server's thresholds and destinations. */
export async function statusOf(scope: RequestScope): Promise<StatusReport> {
  return await scope.app.shared.run("status", () =>
    getStatus(scope.context, {
      policy: scope.app.healthPolicy,
      destinations: scope.app.destinations.map((d) => d.storage),
      ...scope.app.databaseHealth,
    }));
}

/** The backups, newest first, at most `limit` (a query parameter, default all). */
export async function listViews(scope: RequestScope) {
  const raw = scope.url.searchParams.get("limit");
  const limit = raw === null ? Infinity : Number(raw);
  if (raw !== null && (!Number.isInteger(limit) || limit < 1)) {
    throw new ApiError(400, "invalid_field", `Invalid "limit": expected a whole number ≥ 1`, {
      field: "limit",
    });
  }
  const backups = await scope.app.shared.run("list", () => listBackups(scope.context.storage));
  return backups.slice(0, limit).map(backupView);
}

async function oneBackup(scope: RequestScope) {
  const entry = await findBackup(scope.context.storage, scope.params.id);
  return backupView(entry);
}

const JOB_RESPONSES = { 202: "The job was started: `{job}` with `Location`" };

/** The routes of `/api/v1`. */
export const V1_ROUTES: Route[] = [
  {
    method: "GET",
    path: "/api/v1/backups",
    role: "viewer",
    summary: "List backups, newest first",
    query: [{ name: "limit", description: "at most this many" }],
    responses: { 200: "`{backups: [Backup]}`" },
    handle: async (scope) => jsonResponse({ success: true, backups: await listViews(scope) }),
  },
  {
    method: "POST",
    path: "/api/v1/backups",
    role: "admin",
    summary: "Create a backup (a job), then copy it to every destination",
    body: CreateBody,
    responses: JOB_RESPONSES,
    handle: async (scope, body) =>
      accepted(await startCreate(scope, body as z.infer<typeof CreateBody>)),
  },
  {
    method: "GET",
    path: "/api/v1/backups/:id",
    role: "viewer",
    summary: "One backup (any unique part of its id) with its sidecar",
    responses: { 200: "`{backup: Backup, meta}`" },
    handle: async (scope) => {
      const entry = await findBackup(scope.context.storage, scope.params.id);
      const meta = entry.meta ??
        parseMeta(await readAll(scope.context.storage, metaKey(entry.id)), entry.id);
      return jsonResponse({ success: true, backup: backupView(entry), meta });
    },
  },
  {
    method: "GET",
    path: "/api/v1/backups/:id/download",
    role: "admin",
    summary: "Download the stored file (or `?part=NAME` one part), checked against its SHA-256",
    query: [{
      name: "part",
      description:
        "a part's name: a database of a server backup, or `files` (default the main file)",
    }],
    responses: {
      200: "The stored file: `.sql.gz`, `.sql.zst` or `.sql` (a part: `.db-NAME.sql.gz`, " +
        "`.files.tar.gz`), with `.age` when encrypted",
      404: "No such backup, or no such part",
    },
    produces: "application/octet-stream",
    handle: (scope) => downloadResponse(scope, scope.params.id),
  },
  {
    method: "POST",
    path: "/api/v1/backups/:id/verify",
    role: "admin",
    summary: "Verify a backup (a job); `restoreTest` also restores it into a scratch database",
    body: VerifyBody,
    responses: JOB_RESPONSES,
    handle: async (scope, body) =>
      accepted(await startVerify(scope, body as z.infer<typeof VerifyBody>)),
  },
  {
    method: "POST",
    path: "/api/v1/backups/:id/restore",
    role: "admin",
    summary:
      "Restore a backup into the database (a job) once `confirm` is its name; `dryRun` shows the plan",
    body: RestoreBody,
    responses: { 200: "With `dryRun`: `{plan}`", ...JOB_RESPONSES },
    handle: async (scope, raw) => {
      const body = raw as z.infer<typeof RestoreBody>;
      if (body.dryRun) {
        return jsonResponse({
          success: true,
          plan: await restorePlan(scope, scope.params.id, body),
        });
      }
      return accepted(await startRestore(scope, scope.params.id, body));
    },
  },
  {
    method: "POST",
    path: "/api/v1/backups/:id/pin",
    role: "admin",
    summary: "Pin a backup: no retention policy deletes it",
    body: PinBody,
    responses: { 200: "`{backup: Backup}`" },
    handle: async (scope, body) => {
      const { reason } = body as z.infer<typeof PinBody>;
      await underLock(scope, "pin", () => pinBackup(scope.context, scope.params.id, { reason }));
      scope.app.shared.invalidate();
      return jsonResponse({ success: true, backup: await oneBackup(scope) });
    },
  },
  {
    method: "DELETE",
    path: "/api/v1/backups/:id/pin",
    role: "admin",
    summary: "Unpin a backup",
    responses: { 200: "`{backup: Backup}`" },
    handle: async (scope) => {
      await underLock(scope, "unpin", () => unpinBackup(scope.context, scope.params.id));
      scope.app.shared.invalidate();
      return jsonResponse({ success: true, backup: await oneBackup(scope) });
    },
  },
  {
    method: "POST",
    path: "/api/v1/cleanup",
    role: "admin",
    summary: "Apply the retention policy to every store (a job); `dryRun` shows the plan",
    body: CleanupBody,
    responses: {
      200: "With `dryRun`: `{plan: CleanupReport, stores: [CleanupReport]}`",
      ...JOB_RESPONSES,
    },
    handle: async (scope, raw) => {
      const body = raw as z.infer<typeof CleanupBody>;
      if (body.dryRun) {
        const stores = await cleanupPlan(scope);
        return jsonResponse({ success: true, plan: stores[0], stores });
      }
      return accepted(await startCleanup(scope, body));
    },
  },
  {
    method: "GET",
    path: "/api/v1/status",
    role: "viewer",
    summary: "Figures and health of the store, with every reason",
    responses: { 200: "`{status}`, as `status --format json` prints it" },
    handle: async (scope) => jsonResponse({ success: true, status: await statusOf(scope) }),
  },
  {
    method: "GET",
    path: "/api/v1/jobs",
    role: "viewer",
    summary: "Jobs running and recently finished, newest first",
    responses: { 200: "`{jobs: [Job]}`" },
    handle: (scope) =>
      Promise.resolve(
        jsonResponse({ success: true, jobs: scope.app.jobs.list().map(jobJson) }),
      ),
  },
  {
    method: "GET",
    path: "/api/v1/jobs/:id",
    role: "viewer",
    summary: "One job: its phase, progress, and result or error",
    responses: { 200: "`{job: Job}`" },
    handle: (scope) => Promise.resolve(jsonResponse({ success: true, job: jobJson(jobOf(scope)) })),
  },
  {
    method: "GET",
    path: "/api/v1/jobs/:id/events",
    role: "viewer",
    summary: "A job's progress as Server-Sent Events: `progress` events, then one `done`",
    responses: { 200: "`text/event-stream`" },
    produces: "text/event-stream",
    handle: (scope) => Promise.resolve(jobEvents(scope, jobOf(scope))),
  },
];

function jobOf(scope: RequestScope): JobView {
  const job = scope.app.jobs.get(scope.params.id);
  if (!job) {
    throw new ApiError(404, "not_found", `No job "${scope.params.id}" (jobs are kept for an hour)`);
  }
  return job;
}
